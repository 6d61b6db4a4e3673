import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Harness,
  isUuidV7,
  openaiProvider,
  raw,
  route,
  sseData,
  startHarness,
  startTcpProxy,
  type TcpProxy,
  upstreamBody,
} from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';

let h: Harness<'a'>;
let proxy: TcpProxy;
type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;

/** Resolves once `check` holds, or fails after `ms`. */
async function eventually(check: () => boolean, ms = 1500): Promise<void> {
  const until = performance.now() + ms;
  while (!check()) {
    if (performance.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  proxy = await startTcpProxy();
  h = await startHarness({
    fakes: { a: {} },
    config: (f) => {
      proxy.forwardTo(f.a.port);
      return {
        providers: {
          a: openaiProvider(f.a.url),
          // The same fake behind a TCP proxy that counts the gateway's open upstream connections.
          watched: openaiProvider(`http://127.0.0.1:${proxy.port}/v1`),
        },
        routes: {
          'gpt-4o-mini': route([{ provider: 'a', model: 'upstream-mini' }]),
          // Longer idle/total limits: the stall below must be ended by the client, not by a timer.
          patient: route([{ provider: 'watched', model: 'upstream-mini' }], {
            timeouts: { firstByteMs: 2000, idleMs: 5000, totalMs: 10_000 },
            onClientDisconnect: 'abort',
          }),
          // The default: a stream whose client left is read to its end for the usage.
          draining: route([{ provider: 'watched', model: 'upstream-mini' }], {
            timeouts: { firstByteMs: 2000, idleMs: 5000, totalMs: 10_000 },
          }),
          'short-deadline': route([{ provider: 'a', model: 'upstream-mini' }], {
            timeouts: { firstByteMs: 300, idleMs: 300, totalMs: 600 },
          }),
        },
      };
    },
  });
});
afterAll(async () => {
  await h.close();
  await proxy.close();
});
beforeEach(() => {
  h.reset();
});

const PROMPT = 'stream me a sentence that is long enough to need several chunks';
const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: PROMPT }];

async function collect(
  extra: Partial<OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming> = {},
): Promise<{ chunks: Chunk[]; requestId: string | null }> {
  const { data: stream, response } = await h.client.chat.completions
    .create({ model: 'gpt-4o-mini', messages, stream: true, ...extra })
    .withResponse();
  const chunks: Chunk[] = [];
  for await (const c of stream) chunks.push(c);
  return { chunks, requestId: response.headers.get('x-request-id') };
}
const textOf = (chunks: Chunk[]): string => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

describe('chat completions (stream)', () => {
  it('reassembles exactly the content of the non-stream answer', async () => {
    const whole = await h.client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    h.fakes.a.enqueue({ chunkSize: 3 });
    const { chunks } = await collect();
    expect(chunks.length).toBeGreaterThan(5);
    expect(textOf(chunks)).toBe(whole.choices[0]?.message.content);
    expect(textOf(chunks)).toBe(`echo: ${PROMPT}`);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(upstreamBody(h.fakes.a, 1).model).toBe('upstream-mini');
  });

  it('asks the upstream for usage but forwards no usage chunk when the client did not ask for one', async () => {
    h.fakes.a.enqueue({ usage: { prompt_tokens: 21, completion_tokens: 8 } });
    const { chunks, requestId } = await collect();
    expect(chunks.some((c) => c.usage !== undefined && c.usage !== null)).toBe(false);
    expect(chunks.some((c) => c.choices.length === 0)).toBe(false);
    expect(upstreamBody(h.fakes.a, 0).stream_options).toEqual({ include_usage: true });
    const s = await h.waitForSummary(requestId ?? '');
    expect(s).toMatchObject({ status: 200, stream: true, inputTokens: 21, outputTokens: 8 });
  });

  it('ends with a usage chunk when the client asked with stream_options.include_usage', async () => {
    const { chunks, requestId } = await collect({ stream_options: { include_usage: true } });
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 13, total_tokens: 25 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(upstreamBody(h.fakes.a, 0).stream_options).toEqual({ include_usage: true });
    const s = await h.waitForSummary(requestId ?? '');
    expect(s).toMatchObject({ inputTokens: 12, outputTokens: 13 });
  });

  it('delivers chunks as they come, not at the end', async () => {
    h.fakes.a.enqueue({ chunkDelayMs: 40, chunkSize: 10 });
    const start = performance.now();
    const stream = await h.client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const times: number[] = [];
    let text = '';
    for await (const c of stream) {
      times.push(performance.now() - start);
      text += c.choices[0]?.delta.content ?? '';
    }
    const first = times[0] ?? Number.NaN;
    const last = times.at(-1) ?? Number.NaN;
    expect(text).toBe(`echo: ${PROMPT}`);
    // ~10 frames 40 ms apart: the first arrives long before the last.
    expect(last - first).toBeGreaterThan(250);
    expect(first).toBeLessThan(last / 2);
  });

  it('sends SSE with the request id and provider headers and ends with [DONE]', async () => {
    const r = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true }),
      headers: { 'x-request-id': 'stream-req-1' },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(r.headers.get('x-request-id')).toBe('stream-req-1');
    expect(r.headers.get('x-switchyard-provider')).toBe('a');
    const data = sseData(r.text);
    expect(data.at(-1)).toBe('[DONE]');
    expect(data.filter((d) => d === '[DONE]')).toHaveLength(1);
    expect(h.fakes.a.requests[0]?.headers['x-request-id']).toBe('stream-req-1');
  });
});

describe('streams that break after the first byte', () => {
  it('ends the client stream at the upstream [DONE], even when the upstream keeps its end open', async () => {
    // idleMs is 5 s on this route: a relay that read on after [DONE] would hold the client for 5 s and then
    // end the finished answer with an upstream_timeout error event.
    h.fakes.a.enqueue({ holdOpenAfterDone: true });
    const start = performance.now();
    const { data: stream, response } = await h.client.chat.completions
      .create({ model: 'patient', messages, stream: true })
      .withResponse();
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe(`echo: ${PROMPT}`);
    expect(performance.now() - start).toBeLessThan(2500);
    const s = await h.waitForSummary(response.headers.get('x-request-id') ?? '');
    expect(s).toMatchObject({ status: 200, stream: true, inputTokens: 12, outputTokens: 13 });
    // The gateway let go of the upstream connection it no longer reads.
    await eventually(() => proxy.open() === 0, 2000);
  });

  it('ends a stream whose upstream goes quiet with an upstream_timeout error event (idleMs)', async () => {
    h.fakes.a.enqueue({ stallAfterChunks: 2 });
    const stream = await h.client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const got: Chunk[] = [];
    const start = performance.now();
    const err = await (async () => {
      try {
        for await (const c of stream) got.push(c);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ code: 'upstream_timeout', type: 'timeout_error' });
    expect(got.length).toBe(2);
    expect(performance.now() - start).toBeGreaterThanOrEqual(250);
  });

  it('sends the idle-timeout error event without [DONE] on the wire', async () => {
    h.fakes.a.enqueue({ stallAfterChunks: 2 });
    const r = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true }),
    });
    expect(r.status).toBe(200);
    expect(r.text).toContain('data: {"error"');
    expect(r.text).not.toContain('[DONE]');
    const last = JSON.parse(sseData(r.text).at(-1) ?? '') as { error: { code: string; type: string } };
    expect(last.error).toMatchObject({ code: 'upstream_timeout', type: 'timeout_error' });
    const s = await h.waitForSummary(r.headers.get('x-request-id') ?? '');
    expect(s).toMatchObject({ status: 504, errorCode: 'upstream_timeout', stream: true });
  });

  it('ends a cut stream with an error event and no [DONE]', async () => {
    h.fakes.a.enqueue({ cutAfterChunks: 3 });
    const stream = await h.client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const got: Chunk[] = [];
    await expect(
      (async () => {
        for await (const c of stream) got.push(c);
      })(),
    ).rejects.toMatchObject({ code: 'upstream_server_error', type: 'upstream_error' });
    expect(got).toHaveLength(3);
  });

  it('answers a cut stream with status 200 and a body that ends with the error event', async () => {
    h.fakes.a.enqueue({ cutAfterChunks: 3 });
    const r = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true }),
    });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('[DONE]');
    const data = sseData(r.text);
    expect(data).toHaveLength(4);
    expect(r.text.trimEnd().endsWith('}')).toBe(true);
    expect(JSON.parse(data.at(-1) ?? '')).toMatchObject({
      error: { type: 'upstream_error', code: 'upstream_server_error' },
    });
    // A failure after the first byte is never retried: the client already has part of the answer.
    expect(h.fakes.a.requests).toHaveLength(1);
  });

  it('ends a stream that outlives the total deadline with an upstream_timeout error event', async () => {
    // Each chunk comes within idleMs, but the whole answer would take ~3 s against a 600 ms deadline.
    h.fakes.a.enqueue({ chunkDelayMs: 150, chunkSize: 4 });
    const r = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'short-deadline', messages, stream: true }),
    });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('[DONE]');
    expect(JSON.parse(sseData(r.text).at(-1) ?? '')).toMatchObject({ error: { code: 'upstream_timeout' } });
    const s = await h.waitForSummary(r.headers.get('x-request-id') ?? '');
    expect(s.status).toBe(504);
    expect(s.fields.latencyMs).toBeGreaterThanOrEqual(590);
    expect(s.fields.latencyMs).toBeLessThan(1500);
    expect(sseData(r.text).length).toBeGreaterThan(2);
  });
});

/** Streams a chat through raw node:http, stops reading after the first bytes for `pauseMs`, then reads all. */
function readSlowly(body: string, pauseMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/v1/chat/completions', h.origin), {
      method: 'POST',
      headers: { authorization: `Bearer ${h.masterKey}`, 'content-type': 'application/json' },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (text === '') {
          res.pause();
          setTimeout(() => res.resume(), pauseMs);
        }
        text += c;
      });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('slow clients', () => {
  it('does not mistake a client that reads slowly for an idle upstream', async () => {
    // 8 MB of events: more than the socket buffers hold, so the gateway waits on the client's backpressure
    // for longer than idleMs (300 ms) while the upstream has long sent everything.
    const content = 'x'.repeat(8 * 1024 * 1024);
    h.fakes.a.enqueue({ content, chunkSize: 64 * 1024 });
    const text = await readSlowly(JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true }), 600);
    expect(text).not.toContain('"error"');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const data = sseData(text).slice(0, -1);
    const chunks = data.map((d) => JSON.parse(d) as Chunk);
    expect(textOf(chunks).length).toBe(content.length);
  });
});

describe('client disconnect', () => {
  it('aborts the upstream when the client leaves mid-stream and logs status 499', async () => {
    h.fakes.a.enqueue({ stallAfterChunks: 2 });
    const controller = new AbortController();
    const { data: stream, response } = await h.client.chat.completions
      .create({ model: 'patient', messages, stream: true }, { signal: controller.signal })
      .withResponse();
    const requestId = response.headers.get('x-request-id') ?? '';
    expect(isUuidV7(requestId)).toBe(true);
    const got: Chunk[] = [];
    // The SDK ends the iteration quietly on a user abort.
    for await (const c of stream) {
      got.push(c);
      if (got.length === 2) {
        expect(proxy.open()).toBe(1);
        controller.abort();
      }
    }
    expect(got).toHaveLength(2);
    // The upstream stalls forever: only the gateway dropping its upstream call closes that connection.
    await eventually(() => proxy.open() === 0);
    const s = await h.waitForSummary(requestId);
    expect(s).toMatchObject({ status: 499, stream: true, attempts: 1 });
    // Well before the 5 s idle timer: the disconnect itself ended the upstream call.
    expect(s.fields.latencyMs).toBeLessThan(2000);
    // What was streamed before the client left is billed by estimate, and says so.
    const r = await recordOf(h.gateway, requestId);
    expect(r).toMatchObject({ status: 499, usageSource: 'estimated' });
    expect(r.outputTokens).toBeGreaterThan(0);
  });

  it('reads the upstream to its end after the client left (drain), to log its true usage', async () => {
    h.fakes.a.enqueue({
      chunkDelayMs: 40,
      chunkSize: 4,
      usage: { prompt_tokens: 33, completion_tokens: 17 },
    });
    const controller = new AbortController();
    const { data: stream, response } = await h.client.chat.completions
      .create({ model: 'draining', messages, stream: true }, { signal: controller.signal })
      .withResponse();
    const requestId = response.headers.get('x-request-id') ?? '';
    let got = 0;
    for await (const _ of stream) if (++got === 2) controller.abort();
    // The gateway still holds the upstream connection while it drains the rest of the answer.
    expect(proxy.open()).toBe(1);
    const s = await h.waitForSummary(requestId);
    expect(s).toMatchObject({ status: 499, stream: true, inputTokens: 33, outputTokens: 17 });
    expect(await recordOf(h.gateway, requestId)).toMatchObject({
      status: 499,
      inputTokens: 33,
      outputTokens: 17,
      usageSource: 'provider',
    });
  });

  it('aborts a pending non-stream upstream call when the client leaves and logs status 499', async () => {
    h.fakes.a.enqueue({ firstByteDelayMs: 1000 });
    const controller = new AbortController();
    const requestId = 'leaving-client-1';
    const pending = h.client.chat.completions.create(
      { model: 'patient', messages },
      { signal: controller.signal, headers: { 'x-request-id': requestId } },
    );
    await eventually(() => h.fakes.a.requests.length === 1);
    expect(proxy.open()).toBe(1);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    const s = await h.waitForSummary(requestId);
    expect(s).toMatchObject({ status: 499, attempts: 1, retries: 0 });
    expect(s.attemptLog).toHaveLength(0);
    await eventually(() => proxy.open() === 0);
    expect(h.fakes.a.requests).toHaveLength(1);
  });
});
