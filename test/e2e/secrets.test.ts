/**
 * The gateway knows every provider key it holds and masks each by its exact value — whatever its format, not
 * only the known `sk-…` shapes — in everything it sends to a client and every log line. Upstream 4xx messages
 * reach the client masked; 5xx bodies, HTML pages and auth failures never do (our summary names the provider
 * and the status; the upstream text, masked and cut short, is in the log line only).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { maskedForm } from '../../functions/core/secrets.ts';
import {
  errorOf,
  type Harness,
  openaiProvider,
  raw,
  route,
  sseData,
  startHarness,
} from '../support/gateway-harness.ts';

// No known key prefix: only masking by value can catch it.
const KEY = 'QmVhcmVyVG9rZW5Gb3JSZWxheUNv9f8e7d6c5b4a';
const OTHER_KEY = 'ZWxzZXdoZXJlLXJlbGF5LXRva2VuLTQ0NDQ0NDQ0';
let h: Harness<'a'>;

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {} },
    providerKeys: { a: KEY, b: [OTHER_KEY] },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url), b: openaiProvider(f.a.url) },
      routes: { chat: route([{ provider: 'a', model: 'm' }]) },
    }),
  });
});
afterAll(async () => h.close());
beforeEach(() => h.reset());

const chat = (extra: Record<string, unknown> = {}, requestId?: string) =>
  raw(h.origin, '/v1/chat/completions', {
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], ...extra }),
    ...(requestId === undefined ? {} : { headers: { 'x-request-id': requestId } }),
  });

/** No log line of the run holds either key. */
function expectLogsClean(): void {
  const lines = h.logs.map((l) => `${l.message} ${JSON.stringify(l.fields)}`);
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line).not.toContain(KEY);
    expect(line).not.toContain(OTHER_KEY);
  }
}

describe('a provider key echoed by the upstream', () => {
  it('is masked by value in a 4xx message passed on to the client', async () => {
    h.fakes.a.setDefault({ status: 400, errorCode: 'bad_param', errorMessage: `bad param for ${KEY} here` });
    const r = await chat();
    expect(r.status).toBe(400);
    expect(errorOf(r).message).toBe(`bad param for ${maskedForm(KEY)} here`);
    expect(r.text).not.toContain(KEY);
    expectLogsClean();
  });

  it('never reaches the client in a 5xx: our summary names the provider and the status', async () => {
    h.fakes.a.setDefault({ status: 500, errorMessage: `internal error, key ${OTHER_KEY} and ${KEY}` });
    const r = await chat({}, 'five-hundred');
    expect(r.status).toBe(502);
    expect(errorOf(r).message).toBe('Every target failed (last: a failed (HTTP 500))');
    expect(r.text).not.toContain('internal error');
    const s = await h.waitForSummary('five-hundred');
    // The upstream's words are in the log line, masked.
    expect(s.attemptLog[0]?.error).toContain(
      `internal error, key ${maskedForm(OTHER_KEY)} and ${maskedForm(KEY)}`,
    );
    expectLogsClean();
  });

  it('never reaches the client from an HTML error page; the log keeps one masked line of it', async () => {
    const page = `<html>\n<body>\n<h1>503 Service Unavailable</h1>\n<p>upstream key ${KEY}</p></body></html>`;
    h.fakes.a.setDefault({ raw: { status: 503, headers: { 'content-type': 'text/html' }, body: page } });
    const r = await chat({}, 'html-503');
    expect(r.status).toBe(502);
    expect(errorOf(r).message).toBe('Every target failed (last: a failed (HTTP 503))');
    expect(r.text).not.toContain('<html');
    const s = await h.waitForSummary('html-503');
    expect(s.attemptLog[0]?.error).toContain('<h1>503 Service Unavailable</h1>');
    expect(s.attemptLog[0]?.error).not.toContain('\n');
    expectLogsClean();
  });

  it('never reaches the client from an auth failure, even as a 4xx', async () => {
    h.fakes.a.setDefault({ status: 403, errorMessage: `key ${KEY} may not use this model` });
    const r = await chat();
    expect(r.status).toBe(502);
    expect(errorOf(r)).toMatchObject({ code: 'upstream_auth' });
    expect(errorOf(r).message).toContain("a rejected the gateway's API key for it (HTTP 403)");
    expect(r.text).not.toContain('may not use');
    expectLogsClean();
  });

  it('a 4xx whose body is not a JSON error is summarised, not passed on', async () => {
    h.fakes.a.setDefault({
      raw: { status: 413, headers: { 'content-type': 'text/html' }, body: '<h1>Too big</h1>' },
    });
    const r = await chat();
    expect(r.status).toBe(400);
    expect(errorOf(r).message).toBe('a refused the request (HTTP 413)');
  });

  it('is masked inside a non-stream answer', async () => {
    h.fakes.a.setDefault({ content: `your relay key is ${KEY}` });
    const r = await chat();
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).choices[0].message.content).toBe(`your relay key is ${maskedForm(KEY)}`);
  });

  it('is masked inside a streamed answer', async () => {
    h.fakes.a.setDefault({ content: `your relay key is ${KEY}`, chunkSize: 1000 });
    const r = await chat({ stream: true });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(KEY);
    expect(r.text).toContain(maskedForm(KEY));
    expect(sseData(r.text).at(-1)).toBe('[DONE]');
  });

  it('never reaches the client from an error event before the answer; the log keeps it masked', async () => {
    h.fakes.a.setDefault({ streamErrorFirst: { message: `overloaded for ${KEY}`, type: 'server_error' } });
    const r = await chat({ stream: true }, 'stream-error-first');
    expect(r.status).toBe(502);
    expect(r.text).not.toContain('overloaded');
    const s = await h.waitForSummary('stream-error-first');
    expect(s.attemptLog[0]?.error).toBe(`overloaded for ${maskedForm(KEY)}`);
    expectLogsClean();
  });
});
