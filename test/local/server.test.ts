/**
 * The local host's bounds on client connections (startGateway's clientLimits, small here): a request that
 * trickles its body or its headers is closed within its bound, connections beyond the cap are refused, and
 * none of it cuts a long streamed answer once the request is in.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EXAMPLE_CONFIG_YAML } from '../../functions/core/config/example.ts';
import { parseConfig } from '../../functions/core/config/schema.ts';
import type { UsageRecord } from '../../functions/core/usage/types.ts';
import { type RunningGateway, startGateway } from '../../functions/local/server.ts';

const MASTER = 'sk-sy-test-master-key-0123456789';
const LIMITS = {
  headersTimeoutMs: 400,
  requestTimeoutMs: 800,
  checkIntervalMs: 100,
  maxConnections: 8,
  writeStallMs: 500,
};
let gw: RunningGateway;
const quiet = { log: () => undefined };
/** Resolves with undefined after `ms`: the side of a race that says "not in time". */
const late = (ms: number) => new Promise<undefined>((r) => setTimeout(() => r(undefined), ms));

beforeAll(async () => {
  gw = await startGateway({
    config: parseConfig(parseYaml(EXAMPLE_CONFIG_YAML), 'example'),
    masterKey: MASTER,
    logger: quiet,
    clientLimits: LIMITS,
  });
});
afterAll(async () => gw.close(500));

/** Opens a raw connection and resolves, when the server closes it, with what it sent and when. */
function rawConnection(): { socket: Socket; closed: Promise<{ text: string; atMs: number }> } {
  const startedAt = performance.now();
  const socket = connect(gw.port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d));
  socket.on('error', () => undefined);
  const closed = new Promise<{ text: string; atMs: number }>((resolve) =>
    socket.on('close', () => resolve({ text, atMs: performance.now() - startedAt })),
  );
  return { socket, closed };
}

describe('client connection bounds', () => {
  it('closes a connection that trickles its body, within the request timeout (+ one check)', async () => {
    const { socket, closed } = rawConnection();
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
    );
    const trickle = setInterval(() => socket.writable && socket.write(' '), 50);
    const gone = await Promise.race([closed, late(4_000)]);
    clearInterval(trickle);
    socket.destroy();
    expect(gone).toBeDefined();
    expect(gone?.atMs).toBeLessThan(LIMITS.requestTimeoutMs + LIMITS.checkIntervalMs + 700);
    expect(gone?.text).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a connection whose headers never end, within the headers timeout (+ one check)', async () => {
    const { socket, closed } = rawConnection();
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => socket.writable && socket.write('X-Slow: y\r\n'), 50);
    const gone = await Promise.race([closed, late(4_000)]);
    clearInterval(trickle);
    socket.destroy();
    expect(gone).toBeDefined();
    expect(gone?.atMs).toBeLessThan(LIMITS.headersTimeoutMs + LIMITS.checkIntervalMs + 700);
  });

  it('refuses connections beyond the cap, and serves again once they close', async () => {
    const open = Array.from({ length: LIMITS.maxConnections }, () => rawConnection());
    await Promise.all(open.map((c) => new Promise((r) => c.socket.once('connect', r))));
    // Let the server take them all before the one over the cap arrives.
    await new Promise((r) => setTimeout(r, 100));
    const extra = rawConnection();
    extra.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const refused = await Promise.race([extra.closed, late(2_000)]);
    expect(refused).toBeDefined();
    expect(refused?.text).toBe('');
    for (const c of open) c.socket.destroy();
    await Promise.all(open.map((c) => c.closed));
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`${gw.origin}/health`)).status).toBe(200);
  });

  it('cuts a client that stops reading its streamed answer, after the write-stall bound (499)', async () => {
    const { socket } = rawConnection();
    socket.pause();
    const body = JSON.stringify({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'word '.repeat(400_000) }],
    });
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER}\r\nx-request-id: stalled-reader\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    // The client takes nothing of the answer: its buffers fill and the gateway's writes stop draining. A
    // paused socket does not see its own close, so the gateway's side tells: the request ended as 499.
    let record: UsageRecord | undefined;
    for (let i = 0; i < 80 && record === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      await gw.background.idle();
      const now = Date.now();
      const all = await gw.ledger.records(
        new Date(now - 60_000).toISOString(),
        new Date(now + 1000).toISOString(),
      );
      record = all.find((r) => r.requestId === 'stalled-reader');
    }
    socket.destroy();
    expect(record?.status).toBe(499);
    expect((await fetch(`${gw.origin}/health`)).status).toBe(200);
  });

  it('does not cut a streamed answer that lasts longer than every client bound', async () => {
    const startedAt = performance.now();
    const res = await fetch(`${gw.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        stream: true,
        messages: [{ role: 'user', content: `${'word '.repeat(80)}/drip 100` }],
      }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(performance.now() - startedAt).toBeGreaterThan(LIMITS.requestTimeoutMs * 2);
    expect(text).toContain('data: [DONE]');
  });
});

describe('close(grace)', () => {
  it('answers a request still waiting for its upstream after the grace with 503 server_shutting_down, then refuses new connections', async () => {
    const own = await startGateway({
      config: parseConfig(parseYaml(EXAMPLE_CONFIG_YAML), 'example'),
      masterKey: MASTER,
      logger: quiet,
    });
    const pending = fetch(`${own.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'wait /slow 20000' }],
      }),
    });
    await new Promise((r) => setTimeout(r, 200));
    const startedAt = performance.now();
    const closed = own.close(300);
    const res = await pending;
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('server_shutting_down');
    await closed;
    expect(performance.now() - startedAt).toBeLessThan(3_000);
    await expect(fetch(`${own.origin}/health`)).rejects.toThrow();
  });
});
