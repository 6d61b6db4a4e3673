import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  closedPort,
  FAST_RETRY,
  type Harness,
  openaiProvider,
  route,
  startHarness,
  upstreamBody,
} from '../support/gateway-harness.ts';

let h: Harness<'a' | 'b'>;
let deadPort: number;

beforeAll(async () => {
  deadPort = await closedPort();
  h = await startHarness({
    fakes: { a: {}, b: {} },
    config: (f) => ({
      providers: {
        a: openaiProvider(f.a.url),
        b: openaiProvider(f.b.url),
        // First base URL refuses connections; the second is fake b.
        split: openaiProvider(`http://127.0.0.1:${deadPort}/v1`, f.b.url),
      },
      routes: {
        fallback: route([
          { provider: 'a', model: 'model-a' },
          { provider: 'b', model: 'model-b' },
        ]),
        retrying: route([{ provider: 'a', model: 'model-a' }], { retry: FAST_RETRY }),
        'retry-then-fallback': route(
          [
            { provider: 'a', model: 'model-a' },
            { provider: 'b', model: 'model-b' },
          ],
          { retry: { attempts: 1, initialBackoffMs: 10, maxBackoffMs: 50 } },
        ),
        weighted: route(
          [
            { provider: 'a', model: 'model-a', weight: 1 },
            { provider: 'b', model: 'model-b', weight: 1 },
          ],
          { strategy: 'weighted' },
        ),
        'url-failover': route([{ provider: 'split', model: 'model-s' }]),
        single: route([{ provider: 'a', model: 'model-a' }]),
        deadline: route([{ provider: 'a', model: 'model-a' }], {
          timeouts: { firstByteMs: 2000, idleMs: 300, totalMs: 400 },
          retry: FAST_RETRY,
        }),
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

const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'ping' }];

async function chat(model: string, extra: { stream?: false } = {}) {
  const { data, response } = await h.client.chat.completions
    .create({ model, messages, ...extra })
    .withResponse();
  const requestId = response.headers.get('x-request-id') ?? '';
  return { data, response, requestId, summary: await h.waitForSummary(requestId) };
}

describe('fallback across targets', () => {
  it("answers 400 with the provider's code when the only target lacks the model (404)", async () => {
    h.fakes.a.enqueue({
      status: 404,
      errorCode: 'model_not_found',
      errorMessage: 'The model `model-a` does not exist',
    });
    const err = await h.client.chat.completions
      .create({ model: 'single', messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('model_not_found');
  });

  it('falls back to the next target when the first answers 503', async () => {
    h.fakes.a.enqueue({ status: 503 });
    const { data, response, summary } = await chat('fallback');
    expect(data.choices[0]?.message.content).toBe('echo: ping');
    expect(response.headers.get('x-switchyard-provider')).toBe('b');
    expect(h.fakes.a.requests).toHaveLength(1);
    expect(upstreamBody(h.fakes.b).model).toBe('model-b');
    expect(summary).toMatchObject({ status: 200, attempts: 2, retries: 0, fallbacks: 1, provider: 'b' });
    expect(summary.attemptLog).toMatchObject([
      { provider: 'a', model: 'model-a', outcome: 'server', status: 503 },
      { provider: 'b', model: 'model-b', outcome: 'ok', status: 200 },
    ]);
  });

  it.each([
    ['a 429 rate limit', { status: 429 }, 'rate_limited'],
    ['an upstream 401 (bad provider key)', { status: 401 }, 'auth'],
    ['a 429 insufficient_quota', { status: 429, errorCode: 'insufficient_quota' }, 'balance'],
    ['a dropped connection', { cutBeforeResponse: true }, 'unreachable'],
    [
      'a 404 (that provider lacks the model)',
      { status: 404, errorCode: 'model_not_found' },
      'target_refused',
    ],
  ] as const)('falls back to the next target after %s', async (_, behaviour, outcome) => {
    h.fakes.a.enqueue(behaviour);
    const { response, summary } = await chat('fallback');
    expect(response.headers.get('x-switchyard-provider')).toBe('b');
    expect(summary.attemptLog.map((a) => a.outcome)).toEqual([outcome, 'ok']);
  });

  it('falls back when the first target misses firstByteMs', async () => {
    h.fakes.a.enqueue({ firstByteDelayMs: 800 });
    const start = performance.now();
    const { response, summary } = await chat('fallback');
    expect(response.headers.get('x-switchyard-provider')).toBe('b');
    expect(performance.now() - start).toBeLessThan(700);
    expect(summary.attemptLog.map((a) => a.outcome)).toEqual(['timeout', 'ok']);
    expect(summary.attemptLog[0]?.ms).toBeGreaterThanOrEqual(290);
  });

  it('falls back for a stream whose first target misses firstByteMs', async () => {
    h.fakes.a.enqueue({ firstByteDelayMs: 800 });
    const stream = await h.client.chat.completions.create({ model: 'fallback', messages, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: ping');
    expect(h.fakes.b.requests).toHaveLength(1);
  });

  it('falls back when a non-stream answer stalls after its headers', async () => {
    h.fakes.a.enqueue({ stallAfterChunks: 1 });
    const { data, summary } = await chat('fallback');
    expect(data.choices[0]?.message.content).toBe('echo: ping');
    expect(summary.attemptLog.map((a) => a.outcome)).toEqual(['timeout', 'ok']);
  });

  it('falls back when a non-stream answer is cut halfway (nothing reached the client yet)', async () => {
    h.fakes.a.enqueue({ cutAfterChunks: 1 });
    const { data, summary } = await chat('fallback');
    expect(data.choices[0]?.message.content).toBe('echo: ping');
    expect(summary.attemptLog.map((a) => a.outcome)).toEqual(['unreachable', 'ok']);
  });

  it('falls back when a stream closes after its headers, before any event', async () => {
    h.fakes.a.enqueue({ cutAfterChunks: 0 });
    const stream = await h.client.chat.completions.create({ model: 'fallback', messages, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: ping');
    expect(h.fakes.b.requests).toHaveLength(1);
  });

  it('does not fall back when the upstream says the request is bad', async () => {
    h.fakes.a.enqueue({ status: 400, errorCode: 'context_length_exceeded' });
    await expect(h.client.chat.completions.create({ model: 'fallback', messages })).rejects.toMatchObject({
      status: 400,
      code: 'context_length_exceeded',
    });
    expect(h.fakes.a.requests).toHaveLength(1);
    expect(h.fakes.b.requests).toHaveLength(0);
  });
});

describe('weighted routes', () => {
  it('spreads requests over the weighted targets', async () => {
    await Promise.all(Array.from({ length: 40 }, () => chat('weighted')));
    expect(h.fakes.a.requests.length + h.fakes.b.requests.length).toBe(40);
    expect(h.fakes.a.requests.length).toBeGreaterThan(0);
    expect(h.fakes.b.requests.length).toBeGreaterThan(0);
  });
});

describe('retries on the same target', () => {
  it("retries a 500 then a 429 on the same target, honouring the 429's retry-after-ms", async () => {
    h.fakes.a.enqueue({ status: 500 }, { status: 429, retryAfterMs: '250' });
    const { data, summary } = await chat('retrying');
    expect(data.choices[0]?.message.content).toBe('echo: ping');
    expect(h.fakes.a.requests).toHaveLength(3);
    const [, second = 0, third = 0] = h.fakes.a.arrivals;
    expect(third - second).toBeGreaterThanOrEqual(250);
    expect(summary).toMatchObject({ status: 200, attempts: 3, retries: 2, fallbacks: 0 });
    expect(summary.attemptLog.map((a) => [a.outcome, a.status])).toEqual([
      ['server', 500],
      ['rate_limited', 429],
      ['ok', 200],
    ]);
  });

  it('backs off between retries without a retry-after', async () => {
    h.fakes.a.enqueue({ status: 502 }, { status: 502 });
    await chat('retrying');
    const [t0 = 0, t1 = 0, t2 = 0] = h.fakes.a.arrivals;
    // initialBackoffMs 10, doubled, minus at most 25% jitter.
    expect(t1 - t0).toBeGreaterThanOrEqual(7);
    expect(t2 - t1).toBeGreaterThanOrEqual(15);
  });

  it('moves to the next target once the retries of the first are spent', async () => {
    h.fakes.a.setDefault({ status: 500 });
    const { response, summary } = await chat('retry-then-fallback');
    expect(response.headers.get('x-switchyard-provider')).toBe('b');
    expect(h.fakes.a.requests).toHaveLength(2);
    expect(summary).toMatchObject({ attempts: 3, retries: 1, fallbacks: 1 });
  });

  it('stops when the client leaves during a backoff, and logs 499', async () => {
    h.fakes.a.enqueue({ status: 429, retryAfterMs: '400' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(
      h.client.chat.completions.create(
        { model: 'retrying', messages },
        { signal: controller.signal, headers: { 'x-request-id': 'gone-in-backoff' } },
      ),
    ).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    const s = await h.waitForSummary('gone-in-backoff');
    expect(s).toMatchObject({ status: 499, attempts: 1 });
    expect(s.fields.latencyMs).toBeLessThan(350);
    await new Promise((r) => setTimeout(r, 400));
    expect(h.fakes.a.requests).toHaveLength(1);
  });

  it('does not retry an auth failure on the same target', async () => {
    h.fakes.a.setDefault({ status: 401 });
    await expect(h.client.chat.completions.create({ model: 'retrying', messages })).rejects.toMatchObject({
      status: 502,
      code: 'upstream_auth',
    });
    expect(h.fakes.a.requests).toHaveLength(1);
  });
});

describe('base URL failover', () => {
  it('uses the next base URL when the first refuses connections, without a retry', async () => {
    const { data, summary } = await chat('url-failover');
    expect(data.choices[0]?.message.content).toBe('echo: ping');
    expect(h.fakes.b.requests).toHaveLength(1);
    expect(upstreamBody(h.fakes.b).model).toBe('model-s');
    expect(summary).toMatchObject({ status: 200, attempts: 1, retries: 0, fallbacks: 0 });
    expect(summary.attemptLog).toEqual([
      expect.objectContaining({ outcome: 'ok', host: `127.0.0.1:${h.fakes.b.port}` }),
    ]);
    // Later requests keep using the base URL that worked.
    const again = await chat('url-failover');
    expect(again.summary.attemptLog[0]?.host).toBe(`127.0.0.1:${h.fakes.b.port}`);
  });
});

describe('timeouts', () => {
  it('answers 504 upstream_timeout when the only target misses firstByteMs', async () => {
    h.fakes.a.enqueue({ firstByteDelayMs: 1000 });
    const start = performance.now();
    const err = await h.client.chat.completions.create({ model: 'single', messages }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ status: 504, type: 'timeout_error', code: 'upstream_timeout' });
    expect(performance.now() - start).toBeLessThan(800);
  });

  it('answers 504 upstream_timeout when the total deadline passes, even with retries left', async () => {
    h.fakes.a.setDefault({ firstByteDelayMs: 1500 });
    const start = performance.now();
    const err = await h.client.chat.completions
      .create({ model: 'deadline', messages }, { headers: { 'x-request-id': 'deadline-1' } })
      .catch((e) => e);
    const elapsed = performance.now() - start;
    expect(err).toMatchObject({ status: 504, type: 'timeout_error', code: 'upstream_timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(1200);
    const s = await h.waitForSummary('deadline-1');
    expect(s).toMatchObject({ status: 504, errorCode: 'upstream_timeout', attempts: 1 });
  });

  it('answers 504 at the deadline instead of sleeping through a long retry-after', async () => {
    h.fakes.a.enqueue({ status: 503, retryAfterMs: '2000' });
    const start = performance.now();
    const err = await h.client.chat.completions.create({ model: 'deadline', messages }).catch((e) => e);
    expect(err).toMatchObject({ status: 504, code: 'upstream_timeout' });
    expect(performance.now() - start).toBeLessThan(1200);
    expect(h.fakes.a.requests).toHaveLength(1);
  });
});
