/**
 * Upstream answers that are not answers: a 2xx whose body is an HTML page, plain text or an error, a redirect,
 * a 204, a stream that is not an event stream, a body over the bound. Each is a failed attempt — failed over
 * to the next target, or a 502 of our own when it was the last — never relayed to the client as it came.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeBehaviour } from '../support/fake-openai.ts';
import {
  errorOf,
  type Harness,
  openaiProvider,
  raw,
  route,
  sseData,
  startHarness,
} from '../support/gateway-harness.ts';

let h: Harness<'a' | 'b'>;

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {}, b: {} },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url), b: openaiProvider(f.b.url) },
      routes: {
        // a alone: its failure is what the client sees.
        only: route([{ provider: 'a', model: 'm' }], { maxResponseBytes: 1024 * 1024 }),
        // a first, then b: a's failure fails over.
        both: route(
          [
            { provider: 'a', model: 'm' },
            { provider: 'b', model: 'm' },
          ],
          { maxResponseBytes: 1024 * 1024 },
        ),
      },
    }),
  });
});
afterAll(async () => h.close());
beforeEach(() => h.reset());

const LOGIN_PAGE = '<!doctype html><html><body><form action="/login">Sign in to RelayCo</form></body></html>';

const chat = (model: string, extra: Record<string, unknown> = {}, requestId?: string) =>
  raw(h.origin, '/v1/chat/completions', {
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra }),
    ...(requestId === undefined ? {} : { headers: { 'x-request-id': requestId } }),
  });

const NOT_ANSWERS: [string, FakeBehaviour, RegExp][] = [
  [
    'an HTML login page with 200',
    { raw: { status: 200, headers: { 'content-type': 'text/html' }, body: LOGIN_PAGE } },
    /a answered with a body that is not JSON/,
  ],
  [
    'plain text with 200',
    { raw: { status: 200, headers: { 'content-type': 'text/plain' }, body: 'service is warming up' } },
    /a answered with a body that is not JSON/,
  ],
  [
    'JSON that is no completion',
    { raw: { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' } },
    /a answered with JSON that is not an answer \(no "choices" list\)/,
  ],
  [
    'a redirect to a login page',
    { raw: { status: 302, headers: { location: 'https://login.relay.example/' }, body: '' } },
    /a answered HTTP 302, which is not an answer/,
  ],
  ['a 204 without a body', { raw: { status: 204, body: '' } }, /a answered HTTP 204, which is not an answer/],
];

describe('a non-stream answer that is not an answer', () => {
  it.each(NOT_ANSWERS)(
    '%s is a failed attempt: 502 of our own when no target is left',
    async (_, b, said) => {
      h.fakes.a.setDefault(b);
      const r = await chat('only', {}, `not-an-answer-${b.raw?.status}`);
      expect(r.status).toBe(502);
      const e = errorOf(r);
      expect(e).toMatchObject({ type: 'upstream_error', code: 'upstream_server_error' });
      expect(e.message).toMatch(said);
      expect(r.text).not.toContain('Sign in');
      expect(r.text).not.toContain('warming up');
      const s = await h.waitForSummary(`not-an-answer-${b.raw?.status}`);
      expect(s.status).toBe(502);
      expect(s.attemptLog[0]).toMatchObject({ provider: 'a', outcome: 'server' });
    },
  );

  it.each(NOT_ANSWERS)('%s fails over to the next target', async (_, b) => {
    h.fakes.a.setDefault(b);
    const r = await chat('both');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-provider')).toBe('b');
    expect(JSON.parse(r.text).choices[0].message.content).toBe('echo: hi');
    expect(h.fakes.a.requests).toHaveLength(1);
  });

  it('keeps the page out of the answer but puts its text, one line and cut short, in the log', async () => {
    h.fakes.a.setDefault({
      raw: { status: 200, headers: { 'content-type': 'text/html' }, body: LOGIN_PAGE },
    });
    await chat('only', {}, 'html-in-log');
    const s = await h.waitForSummary('html-in-log');
    expect(s.attemptLog[0]?.error).toContain('Sign in to RelayCo');
    expect(s.attemptLog[0]?.error).not.toContain('\n');
  });

  it('a 200 whose body is an OpenAI error is that error: a rate limit is retried elsewhere', async () => {
    h.fakes.a.setDefault({
      raw: {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error', code: null } }),
      },
    });
    const r = await chat('both', {}, 'error-in-200');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-provider')).toBe('b');
    const s = await h.waitForSummary('error-in-200');
    expect(s.attemptLog[0]).toMatchObject({ provider: 'a', outcome: 'rate_limited' });
  });
});

describe('a stream whose answer is not an event stream', () => {
  it('fails before any byte reaches the client: a 502 with our body, no HTML inside an SSE stream', async () => {
    h.fakes.a.setDefault({
      raw: { status: 200, headers: { 'content-type': 'text/html' }, body: LOGIN_PAGE },
    });
    const r = await chat('only', { stream: true });
    expect(r.status).toBe(502);
    expect(r.headers.get('content-type')).toContain('application/json');
    expect(errorOf(r).message).toMatch(
      /a answered a stream request with another content type than text\/event-stream/,
    );
    expect(r.text).not.toContain('<html');
  });

  it('a JSON answer to a stream request (a relay that ignored `stream`) fails over to a real stream', async () => {
    h.fakes.a.setDefault({
      raw: {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'x', object: 'chat.completion', choices: [] }),
      },
    });
    const r = await chat('both', { stream: true });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-provider')).toBe('b');
    expect(sseData(r.text).at(-1)).toBe('[DONE]');
  });

  it('the OpenAI SDK sees an APIError, not a stream of HTML', async () => {
    h.fakes.a.setDefault({
      raw: { status: 200, headers: { 'content-type': 'text/html' }, body: LOGIN_PAGE },
    });
    const err = await h.client.chat.completions
      .create({ model: 'only', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ status: 502, code: 'upstream_server_error' });
  });
});

describe('a stream event that never ends', () => {
  it('is refused once it passes 8 MiB: 502 upstream_response_too_large, not memory that grows', async () => {
    h.fakes.a.setDefault({
      raw: { status: 200, headers: { 'content-type': 'text/event-stream' }, bytes: 10 * 1024 * 1024 },
    });
    const r = await chat('only', { stream: true }, 'endless-event');
    expect(r.status).toBe(502);
    expect(errorOf(r)).toMatchObject({ code: 'upstream_response_too_large' });
    const s = await h.waitForSummary('endless-event');
    expect(s.attemptLog[0]).toMatchObject({ provider: 'a', outcome: 'too_large' });
  });
});

describe('an answer over the bound (route maxResponseBytes)', () => {
  it('is refused with 502 upstream_response_too_large, never read whole', async () => {
    h.fakes.a.setDefault({
      raw: { status: 200, headers: { 'content-type': 'application/json' }, bytes: 5 * 1024 * 1024 },
    });
    const r = await chat('only', {}, 'too-large');
    expect(r.status).toBe(502);
    expect(errorOf(r)).toMatchObject({ type: 'upstream_error', code: 'upstream_response_too_large' });
    // Not retryable as it is: the same request gets the same answer.
    expect(r.headers.get('x-should-retry')).toBe('false');
    const s = await h.waitForSummary('too-large');
    expect(s.attemptLog[0]).toMatchObject({ provider: 'a', outcome: 'too_large' });
  });

  it('fails over to a target whose answer fits', async () => {
    h.fakes.a.setDefault({
      raw: { status: 200, headers: { 'content-type': 'application/json' }, bytes: 5 * 1024 * 1024 },
    });
    const r = await chat('both');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-switchyard-provider')).toBe('b');
  });
});
