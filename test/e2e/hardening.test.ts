/**
 * What a hostile or careless peer can do: a provider that echoes our key in its error, a client that leaves
 * mid-upload, a body far over the limit that must be refused before it is read.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { maskedForm } from '../../functions/core/secrets.ts';
import {
  type Harness,
  MASTER_KEY,
  openaiProvider,
  raw,
  route,
  startHarness,
} from '../support/gateway-harness.ts';

const PROVIDER_KEY = 'sk-live-provider-key-that-must-stay-secret-123';
let h: Harness<'a'>;

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {} },
    providerKeys: { a: PROVIDER_KEY },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url) },
      routes: { chat: route([{ provider: 'a', model: 'm' }]) },
    }),
  });
});
afterAll(async () => h.close());
beforeEach(() => h.reset());

const chat = (content = 'hi') =>
  raw(h.origin, '/v1/chat/completions', {
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content }] }),
  });

/** Sends raw HTTP bytes and resolves with whatever the server answered before closing (or after `waitMs`). */
function rawSocket(
  port: number,
  head: string,
  body: Buffer,
  opts: { destroyAfterWrite?: boolean; waitMs?: number } = {},
) {
  return new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('connect', () => {
      socket.write(head);
      socket.write(body);
      if (opts.destroyAfterWrite === true) socket.destroy();
      else setTimeout(() => socket.destroy(), opts.waitMs ?? 2000);
    });
  });
}

describe('provider errors that echo a key', () => {
  it('keep the key out of the client answer and out of every log line', async () => {
    h.fakes.a.setDefault({
      status: 401,
      errorCode: 'invalid_api_key',
      errorMessage: `Incorrect API key provided: ${PROVIDER_KEY}.`,
    });
    const r = await chat();
    expect(r.status).toBe(502);
    expect(JSON.parse(r.text).error.code).toBe('upstream_auth');
    expect(r.text).not.toContain('must-stay-secret');
    const lines = h.logs.map((l) => JSON.stringify(l));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).not.toContain('must-stay-secret');
  });

  it('mask a key echoed in a 400 message that is passed on to the client, by its value', async () => {
    h.fakes.a.setDefault({
      status: 400,
      errorCode: 'bad_param',
      errorMessage: `bad param for key ${PROVIDER_KEY}`,
    });
    const r = await chat();
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error.message).toContain(`bad param for key ${maskedForm(PROVIDER_KEY)}`);
    expect(r.text).not.toContain('must-stay-secret');
  });
});

describe('a client that leaves mid-upload', () => {
  it('is logged as 499, never calls the upstream, and the server keeps serving', async () => {
    const head =
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `Authorization: Bearer ${MASTER_KEY}\r\nx-request-id: leaves-mid-upload\r\nContent-Length: 100000\r\n\r\n`;
    await rawSocket(h.gateway.port, head, Buffer.from('{"model":"chat","messages":['), {
      destroyAfterWrite: true,
    });
    const s = await h.waitForSummary('leaves-mid-upload');
    expect(s.status).toBe(499);
    expect(h.fakes.a.requests).toHaveLength(0);
    expect((await chat('still here')).status).toBe(200);
  });
});

describe('a body over the limit', () => {
  it('is refused with 413 after the headers, before the rest of the body is sent', async () => {
    const head =
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `Authorization: Bearer ${MASTER_KEY}\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`;
    // Only 1 KiB of the declared 10 MiB is ever sent: the answer can only come from the declared length.
    const answer = await rawSocket(h.gateway.port, head, Buffer.alloc(1024, 0x20), { waitMs: 1500 });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('"code":"request_too_large"');
  });
});
