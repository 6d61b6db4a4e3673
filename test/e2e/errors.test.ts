import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  closedPort,
  errorOf,
  type Harness,
  isUuidV7,
  openaiProvider,
  type RawResponse,
  raw,
  route,
  startHarness,
} from '../support/gateway-harness.ts';

const RIGHT_KEY = 'sk-upstream-right-key-000111222333';
const WRONG_KEY = 'sk-upstream-wrong-key-999888777666';
let h: Harness<'a' | 'b' | 'locked'>;

beforeAll(async () => {
  const dead = await closedPort();
  h = await startHarness({
    fakes: { a: {}, b: {}, locked: { apiKey: RIGHT_KEY } },
    providerKeys: { 'locked-wrong': WRONG_KEY, 'locked-right': RIGHT_KEY },
    config: (f) => ({
      providers: {
        a: openaiProvider(f.a.url),
        b: openaiProvider(f.b.url),
        'locked-wrong': openaiProvider(f.locked.url),
        'locked-right': openaiProvider(f.locked.url),
        dead: openaiProvider(`http://127.0.0.1:${dead}/v1`),
      },
      routes: {
        two: route([
          { provider: 'a', model: 'm' },
          { provider: 'b', model: 'm' },
        ]),
        one: route([{ provider: 'a', model: 'm' }]),
        'auth-wrong': route([{ provider: 'locked-wrong', model: 'm' }]),
        'auth-right': route([{ provider: 'locked-right', model: 'm' }]),
        down: route([{ provider: 'dead', model: 'm' }]),
      },
    }),
  });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.reset();
});

const chat = (model: string, extra: Record<string, unknown> = {}) =>
  raw(h.origin, '/v1/chat/completions', {
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra }),
  });

/** Status, type and code of the error row, with a request id and the JSON error body. */
function expectRow(r: RawResponse, status: number, type: string, code: string): void {
  expect({ status: r.status, type: errorOf(r).type, code: errorOf(r).code }).toEqual({ status, type, code });
  expect(r.headers.get('content-type')).toBe('application/json');
  expect(isUuidV7(r.headers.get('x-request-id'))).toBe(true);
}

describe('upstream says the request is bad', () => {
  it('answers 400 invalid_request_error keeping the upstream code, param and message', async () => {
    h.fakes.a.enqueue({ status: 400, errorCode: 'context_length_exceeded' });
    const r = await chat('two');
    expectRow(r, 400, 'invalid_request_error', 'context_length_exceeded');
    expect(errorOf(r).param).toBe('messages');
    expect(errorOf(r).message).toContain('maximum context length');
    expect(r.headers.get('x-should-retry')).toBe('false');
    expect(h.fakes.b.requests).toHaveLength(0);
  });

  it('answers 400 upstream_invalid_request when the upstream gave no code', async () => {
    h.fakes.a.enqueue({ status: 400, errorCode: null, errorMessage: 'Invalid value for top_k.' });
    const r = await chat('one');
    expectRow(r, 400, 'invalid_request_error', 'upstream_invalid_request');
    expect(errorOf(r).message).toBe('Invalid value for top_k.');
    expect(r.headers.get('x-should-retry')).toBe('false');
  });

  it('keeps a content filter code from the upstream', async () => {
    h.fakes.a.enqueue({ status: 400, errorCode: 'content_filter' });
    expectRow(await chat('one'), 400, 'invalid_request_error', 'content_filter');
  });
});

describe('every target rate limited', () => {
  it('answers 429 upstream_rate_limited with the shortest Retry-After of the targets', async () => {
    h.fakes.a.enqueue({ status: 429, retryAfter: '7' });
    h.fakes.b.enqueue({ status: 429, retryAfter: '3' });
    const r = await chat('two');
    expectRow(r, 429, 'rate_limit_error', 'upstream_rate_limited');
    expect(r.headers.get('retry-after')).toBe('3');
    expect(r.headers.get('x-should-retry')).toBeNull();
    expect([h.fakes.a.requests.length, h.fakes.b.requests.length]).toEqual([1, 1]);
  });

  it('sends a Retry-After even when no upstream gave one', async () => {
    h.fakes.a.enqueue({ status: 429 });
    h.fakes.b.enqueue({ status: 429 });
    const r = await chat('two');
    expectRow(r, 429, 'rate_limit_error', 'upstream_rate_limited');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('answers 502 instead when one target failed otherwise', async () => {
    h.fakes.a.enqueue({ status: 429 });
    h.fakes.b.enqueue({ status: 500 });
    expectRow(await chat('two'), 502, 'upstream_error', 'upstream_server_error');
  });
});

describe('every target failed', () => {
  it('answers 502 upstream_server_error to 5xx everywhere, retryable', async () => {
    h.fakes.a.enqueue({ status: 500 });
    h.fakes.b.enqueue({ status: 503 });
    const r = await chat('two');
    expectRow(r, 502, 'upstream_error', 'upstream_server_error');
    expect(r.headers.get('x-should-retry')).toBeNull();
  });

  it('answers 502 upstream_server_error before a stream starts, as JSON not SSE', async () => {
    h.fakes.a.enqueue({ status: 500 });
    h.fakes.b.enqueue({ status: 502 });
    const r = await chat('two', { stream: true });
    expectRow(r, 502, 'upstream_error', 'upstream_server_error');
    expect(r.text).not.toContain('data:');
  });

  it('answers 502 upstream_auth, not retryable, when the provider rejects our key', async () => {
    const r = await chat('auth-wrong');
    expectRow(r, 502, 'upstream_error', 'upstream_auth');
    expect(r.headers.get('x-should-retry')).toBe('false');
    expect(h.fakes.locked.requests[0]?.headers.authorization).toBe(`Bearer ${WRONG_KEY}`);
    expect(r.text).not.toContain(WRONG_KEY);
  });

  it('reaches the same upstream with the right provider key', async () => {
    expect((await chat('auth-right')).status).toBe(200);
    expect(h.fakes.locked.requests[0]?.headers.authorization).toBe(`Bearer ${RIGHT_KEY}`);
  });

  it('answers 502 upstream_insufficient_balance, not retryable, to 429 insufficient_quota', async () => {
    h.fakes.a.enqueue({ status: 429, errorCode: 'insufficient_quota' });
    const r = await chat('one');
    expectRow(r, 502, 'upstream_error', 'upstream_insufficient_balance');
    expect(r.headers.get('x-should-retry')).toBe('false');
    expect(r.headers.get('retry-after')).toBeNull();
  });

  it('answers 502 upstream_insufficient_balance to a 402 as well', async () => {
    h.fakes.a.enqueue({ status: 402 });
    expectRow(await chat('one'), 502, 'upstream_error', 'upstream_insufficient_balance');
  });

  it('answers 502 upstream_unreachable, retryable, when no upstream accepts a connection', async () => {
    const r = await chat('down');
    expectRow(r, 502, 'upstream_error', 'upstream_unreachable');
    expect(r.headers.get('x-should-retry')).toBeNull();
  });

  it('answers 502 upstream_unreachable when the upstream drops the connection', async () => {
    h.fakes.a.enqueue({ cutBeforeResponse: true });
    expectRow(await chat('one'), 502, 'upstream_error', 'upstream_unreachable');
  });

  it('logs the failed request with its error code and every attempt', async () => {
    h.fakes.a.enqueue({ status: 500 });
    h.fakes.b.enqueue({ status: 503 });
    const r = await chat('two');
    const s = await h.waitForSummary(r.headers.get('x-request-id') ?? '');
    expect(s).toMatchObject({ level: 'error', status: 502, errorCode: 'upstream_server_error', attempts: 2 });
    expect(s.message).toMatch(/^request failed: /);
    expect(s.attemptLog.map((a) => [a.provider, a.status])).toEqual([
      ['a', 500],
      ['b', 503],
    ]);
  });
});

describe('deadline passed', () => {
  it('answers 504 timeout_error upstream_timeout, retryable', async () => {
    h.fakes.a.enqueue({ firstByteDelayMs: 1000 });
    const r = await chat('one');
    expectRow(r, 504, 'timeout_error', 'upstream_timeout');
    expect(r.headers.get('x-should-retry')).toBeNull();
  });
});
