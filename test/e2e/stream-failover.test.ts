/**
 * Stream-safe failover (issue 16): until the first content or tool-call token went to the client, a streamed
 * answer that fails — an error event, a cut connection, an idle timeout, a clean end without the upstream's
 * own end — fails over like an error status, also for an OpenAI-compatible relay whose first event is an
 * empty role chunk. Real upstreams on loopback (the fake OpenAI and Anthropic APIs, and a scripted SSE server
 * for exact event sequences), the real local gateway, the official SDK.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAnthropic, startAnthropicFake } from '../support/fake-anthropic.ts';
import { type Harness, openaiProvider, raw, route, startHarness } from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';
import { listenOnLoopback } from '../support/loopback.ts';

/** One step of a scripted answer: write this text, wait, drop the socket, or end the body cleanly. */
type Step = string | { readonly waitMs: number } | 'destroy';

/** A loopback SSE upstream that answers each request with the next script (HTTP 200, text/event-stream). */
interface Scripted {
  readonly url: string;
  readonly requests: number;
  next(...steps: Step[]): void;
  reset(): void;
  close(): Promise<void>;
}

async function startScripted(): Promise<Scripted> {
  const scripts: Step[][] = [];
  let requests = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', async () => {
      requests++;
      const steps = scripts.shift() ?? [];
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.flushHeaders();
      for (const s of steps) {
        if (res.destroyed) return;
        if (s === 'destroy') {
          res.socket?.destroy();
          return;
        }
        if (typeof s === 'string') res.write(s);
        else await new Promise((r) => setTimeout(r, s.waitMs));
      }
      res.end();
    });
  });
  const l = await listenOnLoopback(server);
  return {
    url: `${l.origin}/v1`,
    get requests() {
      return requests;
    },
    next: (...steps) => {
      scripts.push(steps);
    },
    reset: () => {
      scripts.length = 0;
      requests = 0;
    },
    close: l.close,
  };
}

const BASE = { id: 'chatcmpl-scripted', object: 'chat.completion.chunk', created: 1, model: 'm' };
const chunk = (delta: Record<string, unknown>, finish: string | null = null): string =>
  `data: ${JSON.stringify({ ...BASE, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
const ROLE = chunk({ role: 'assistant', content: '', refusal: null });
const ERROR = `data: ${JSON.stringify({ error: { message: 'upstream overloaded', type: 'server_error', code: null } })}\n\n`;
const DONE = 'data: [DONE]\n\n';

let h: Harness<'a' | 'b'>;
let scripted: Scripted;
let claude: FakeAnthropic;

beforeAll(async () => {
  scripted = await startScripted();
  claude = await startAnthropicFake();
  h = await startHarness({
    fakes: { a: {}, b: {} },
    config: (f) => ({
      providers: {
        a: openaiProvider(f.a.url),
        b: openaiProvider(f.b.url),
        scripted: openaiProvider(scripted.url),
        claude: { type: 'anthropic', baseUrls: [claude.url] },
      },
      routes: {
        fallback: route([
          { provider: 'a', model: 'model-a' },
          { provider: 'b', model: 'model-b' },
        ]),
        'scripted-then-b': route([
          { provider: 'scripted', model: 'model-s' },
          { provider: 'b', model: 'model-b' },
        ]),
        // A short idle limit, a generous first byte: the role chunk arrives at once, then nothing.
        idle: route(
          [
            { provider: 'a', model: 'model-a' },
            { provider: 'b', model: 'model-b' },
          ],
          { timeouts: { firstByteMs: 2000, idleMs: 150, totalMs: 5000 } },
        ),
        'claude-then-b': route([
          { provider: 'claude', model: 'claude-sonnet-4-5' },
          { provider: 'b', model: 'model-b' },
        ]),
        'only-scripted': route([{ provider: 'scripted', model: 'model-s' }]),
      },
    }),
    providerKeys: { claude: 'ak-1' },
  });
});
afterAll(async () => {
  await h.close();
  await scripted.close();
  await claude.close();
});
beforeEach(() => {
  h.reset();
  scripted.reset();
  claude.reset();
});

const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'ping' }];

/** Streams a route with the SDK: the content that reached the client, and the request's id. */
async function stream(model: string): Promise<{ text: string; requestId: string; provider: string | null }> {
  const { data, response } = await h.client.chat.completions
    .create({ model, messages, stream: true })
    .withResponse();
  let text = '';
  for await (const c of data) text += c.choices[0]?.delta.content ?? '';
  return {
    text,
    requestId: response.headers.get('x-request-id') ?? '',
    provider: response.headers.get('x-switchyard-provider'),
  };
}

/** The summary line and ledger record of a request that failed over from its first target to `b`. */
async function expectFailover(requestId: string, first: string, outcome: string) {
  const s = await h.waitForSummary(requestId);
  expect(s).toMatchObject({ status: 200, stream: true, attempts: 2, fallbacks: 1, provider: 'b' });
  expect(s.attemptLog).toMatchObject([
    { provider: first, outcome },
    { provider: 'b', model: 'model-b', outcome: 'ok', status: 200 },
  ]);
  const record = await recordOf(h.gateway, requestId);
  expect(record).toMatchObject({
    status: 200,
    provider: 'b',
    model: 'model-b',
    attempts: 2,
    errorCode: null,
  });
  return s;
}

describe('a stream that fails before its first content fails over', () => {
  it('(a) role chunk, then an error event (separate writes)', async () => {
    scripted.next(ROLE, { waitMs: 20 }, ERROR);
    const { text, requestId, provider } = await stream('scripted-then-b');
    expect(text).toBe('echo: ping');
    expect(provider).toBe('b');
    const s = await expectFailover(requestId, 'scripted', 'server');
    expect(s.attemptLog[0]).toMatchObject({ status: 200, error: 'upstream overloaded' });
  });

  it('(a) role chunk and an error event in one write (the fake relay’s raw answer)', async () => {
    h.fakes.a.enqueue({
      raw: { status: 200, headers: { 'content-type': 'text/event-stream' }, body: ROLE + ERROR },
    });
    const { text, requestId, provider } = await stream('fallback');
    expect(text).toBe('echo: ping');
    expect(provider).toBe('b');
    await expectFailover(requestId, 'a', 'server');
  });

  it('(b) role chunk, then the connection is destroyed', async () => {
    h.fakes.a.enqueue({ cutAfterChunks: 1 });
    const { text, requestId } = await stream('fallback');
    expect(text).toBe('echo: ping');
    expect(h.fakes.a.requests).toHaveLength(1);
    await expectFailover(requestId, 'a', 'unreachable');
  });

  it('(b) role chunk, then the scripted upstream destroys its socket', async () => {
    scripted.next(ROLE, { waitMs: 20 }, 'destroy');
    const { text, requestId } = await stream('scripted-then-b');
    expect(text).toBe('echo: ping');
    await expectFailover(requestId, 'scripted', 'unreachable');
  });

  it('(c) role chunk, then silence past the route’s idleMs', async () => {
    h.fakes.a.enqueue({ stallAfterChunks: 1 });
    const t0 = performance.now();
    const { text, requestId } = await stream('idle');
    expect(text).toBe('echo: ping');
    expect(performance.now() - t0).toBeLessThan(1500);
    const s = await expectFailover(requestId, 'a', 'timeout');
    expect(s.attemptLog[0]?.ms).toBeGreaterThanOrEqual(140);
  });

  it('(d) role chunk, then a clean end without [DONE]', async () => {
    scripted.next(ROLE);
    const { text, requestId } = await stream('scripted-then-b');
    expect(text).toBe('echo: ping');
    const s = await expectFailover(requestId, 'scripted', 'server');
    expect(s.attemptLog[0]).toMatchObject({
      status: 200,
      error: 'the stream ended before the answer started',
    });
  });

  it('(e) an Anthropic target: message_start, then an error event', async () => {
    claude.enqueue({ errorAfterEvents: 1 });
    const { text, requestId, provider } = await stream('claude-then-b');
    expect(text).toBe('echo: ping');
    expect(provider).toBe('b');
    expect(claude.requests).toHaveLength(1);
    const s = await h.waitForSummary(requestId);
    expect(s.attemptLog.map((a) => a.provider)).toEqual(['claude', 'b']);
    expect(s.attemptLog[0]?.outcome).not.toBe('ok');
    expect(s.attemptLog[1]?.outcome).toBe('ok');
    expect(await recordOf(h.gateway, requestId)).toMatchObject({ status: 200, provider: 'b', attempts: 2 });
  });

  it('(e) native /v1/messages from an Anthropic target: message_start, an empty block start, then overloaded_error', async () => {
    claude.enqueue({ errorAfterEvents: 2 });
    const r = await raw(h.origin, '/v1/messages', {
      body: JSON.stringify({
        model: 'claude-then-b',
        max_tokens: 64,
        stream: true,
        messages: [{ role: 'user', content: 'ping' }],
      }),
      headers: { 'x-request-id': 'native-messages-1' },
    });
    expect(r.status).toBe(200);
    // The held message_start and block start of the failed attempt never reached the client: b's answer did.
    expect(r.text).not.toContain('"overloaded_error"');
    expect(r.text.match(/event: message_start/g)).toHaveLength(1);
    expect(r.text).toContain('"model":"model-b"');
    const deltas = [...r.text.matchAll(/"text_delta","text":"([^"]*)"/g)].map((m) => m[1]).join('');
    expect(deltas).toBe('echo: ping');
    const s = await h.waitForSummary('native-messages-1');
    expect(s.attemptLog.map((x) => `${x.provider}:${x.outcome}`)).toEqual(['claude:server', 'b:ok']);
  });

  it('(e) native /v1/responses: response.created, an empty output item and part, then an error event', async () => {
    const ev = (type: string, n: number, data: Record<string, unknown>) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n, ...data })}\n\n`;
    const response = {
      id: 'resp_s1',
      object: 'response',
      status: 'in_progress',
      model: 'model-s',
      output: [],
    };
    scripted.next(
      ev('response.created', 0, { response }),
      ev('response.output_item.added', 1, {
        output_index: 0,
        item: { id: 'msg_s1', type: 'message', status: 'in_progress', role: 'assistant', content: [] },
      }),
      ev('response.content_part.added', 2, {
        item_id: 'msg_s1',
        output_index: 0,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [] },
      }),
      { waitMs: 20 },
      ev('error', 3, { error: { type: 'server_error', code: 'server_error', message: 'overloaded' } }),
    );
    const r = await raw(h.origin, '/v1/responses', {
      body: JSON.stringify({ model: 'scripted-then-b', input: 'ping', stream: true }),
      headers: { 'x-request-id': 'native-responses-1' },
    });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('resp_s1');
    expect(r.text).toContain('response.completed');
    const s = await h.waitForSummary('native-responses-1');
    expect(s.attemptLog.map((x) => `${x.provider}:${x.outcome}`)).toEqual(['scripted:server', 'b:ok']);
  });

  it('answers an error status, not a broken 200 stream, when no target is left', async () => {
    scripted.next(ROLE, { waitMs: 20 }, ERROR);
    const r = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'only-scripted', messages, stream: true }),
    });
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.text).not.toContain('chatcmpl-scripted');
  });
});

describe('a stream whose first event is the role chunk, and that answers', () => {
  it('(f) streams as before, the role chunk included, byte for byte as the upstream sent it', async () => {
    const upstream =
      ROLE + chunk({ content: 'Hello' }) + chunk({ content: ', world' }) + chunk({}, 'stop') + DONE;
    scripted.next(
      ROLE,
      { waitMs: 30 },
      chunk({ content: 'Hello' }),
      chunk({ content: ', world' }),
      chunk({}, 'stop'),
      DONE,
    );
    const r = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'scripted-then-b', messages, stream: true }),
      headers: { 'x-request-id': 'role-first-1' },
    });
    expect(r.status).toBe(200);
    expect(r.text).toBe(upstream);
    expect(h.fakes.b.requests).toHaveLength(0);
    const s = await h.waitForSummary('role-first-1');
    expect(s).toMatchObject({ attempts: 1, provider: 'scripted' });
  });

  it('(f) the SDK reads the role and the content of the fake relay’s normal stream', async () => {
    const { data } = await h.client.chat.completions
      .create({ model: 'fallback', messages, stream: true })
      .withResponse();
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of data) chunks.push(c);
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: 'assistant', content: '' });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('echo: ping');
    expect(h.fakes.b.requests).toHaveLength(0);
  });

  it('an answer that legitimately ends empty (role, finish, [DONE]) is an answer, not a failure', async () => {
    scripted.next(ROLE, chunk({}, 'stop'), DONE);
    const { text, requestId, provider } = await stream('scripted-then-b');
    expect(text).toBe('');
    expect(provider).toBe('scripted');
    expect(h.fakes.b.requests).toHaveLength(0);
    expect(await h.waitForSummary(requestId)).toMatchObject({ status: 200, attempts: 1 });
  });

  it('a failure after the first content is not failed over: the stream ends with an error event', async () => {
    scripted.next(ROLE, chunk({ content: 'Hel' }), { waitMs: 20 }, ERROR);
    const r = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'scripted-then-b', messages, stream: true }),
    });
    expect(r.status).toBe(200);
    expect(r.text.startsWith(ROLE + chunk({ content: 'Hel' }))).toBe(true);
    expect(r.text).toContain('"upstream_server_error"');
    expect(h.fakes.b.requests).toHaveLength(0);
  });
});
