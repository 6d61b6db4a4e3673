// The adapter against the fake Gemini server over loopback: requests built by buildCall, real response bytes
// through the translators, errors through parseError.

import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { geminiAdapter } from '../../../../functions/core/providers/gemini/adapter.ts';
import type { CallInput } from '../../../../functions/core/providers/types.ts';
import { kindOfStatus } from '../../../../functions/core/routing/failure.ts';
import { parseEvents } from '../../../../functions/core/sse/splitter.ts';
import { type FakeGemini, fakeVector, startGeminiFake } from '../../../support/fake-gemini.ts';
import { legacyTranslator } from '../legacy-text.ts';

type Json = Record<string, unknown>;
const KEY = 'AIzaSy-test-key';
const WEATHER = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } };
const TIME = { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } };

let fake: FakeGemini;
beforeAll(async () => {
  fake = await startGeminiFake({ apiKey: KEY });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

interface Sent {
  status: number;
  headers: Record<string, unknown>;
  /** Translated answer (non-stream: completion JSON text; stream: OpenAI SSE), or the raw error body. */
  text: string;
  json: Json;
  chunks: Json[];
  done: boolean;
}

async function send(body: Json, over: Partial<CallInput> = {}): Promise<Sent> {
  const call = geminiAdapter.buildCall({
    op: 'chat',
    body,
    model: 'gemini-2.5-flash',
    apiKey: KEY,
    requestId: 'req-loop',
    extraHeaders: undefined,
    ...over,
  });
  const res = await request(`${fake.url}${call.path}`, {
    method: 'POST',
    headers: call.headers,
    body: call.body ?? null,
  });
  if (call.translator === undefined) throw new Error('the gemini adapter always translates');
  const t = legacyTranslator(call.translator);
  let text = '';
  if (res.statusCode >= 400) text = await res.body.text();
  else if (body.stream === true) {
    try {
      for await (const chunk of res.body) text += t.push(chunk as Uint8Array);
    } catch {
      // a cut connection: what arrived is what there is
    }
    text += t.end();
  } else text = t.body(await res.body.text());
  const events = body.stream === true && res.statusCode < 400 ? parseEvents(text) : [];
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    json: body.stream === true ? {} : (JSON.parse(text) as Json),
    chunks: events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as Json),
    done: events.at(-1)?.data === '[DONE]',
  };
}
const messageOf = (s: Sent): Json => ((s.json.choices as Json[])[0] as Json).message as Json;
const choices = (c: Json): Json[] => (Array.isArray(c.choices) ? (c.choices as Json[]) : []);
const streamed = (s: Sent): string =>
  s.chunks.flatMap((c) => choices(c).map((x) => ((x.delta as Json).content as string) ?? '')).join('');
const finishes = (s: Sent) => s.chunks.flatMap((c) => choices(c).map((x) => x.finish_reason)).filter(Boolean);
const user = (content: string) => ({ role: 'user', content });

describe('the gemini adapter against the fake Gemini API', () => {
  it('answers a chat request with the echo, word-count usage, and the request recorded as sent', async () => {
    const s = await send({ messages: [{ role: 'system', content: 'be brief' }, user('hello there')] });
    expect(messageOf(s)).toEqual({ role: 'assistant', content: 'echo: hello there', refusal: null });
    expect(s.json.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
    const rec = fake.requests[0];
    expect(rec?.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(rec?.headers['x-goog-api-key']).toBe(KEY);
    expect(rec?.headers['x-request-id']).toBe('req-loop');
    expect(rec?.body).toMatchObject({ systemInstruction: { parts: [{ text: 'be brief' }] } });
  });

  it('streams the echo in whole OpenAI events, then usage and [DONE]', async () => {
    fake.enqueue({ chunkSize: 3, chunkDelayMs: 2 });
    const s = await send({ messages: [user('hello there')], stream: true });
    expect(streamed(s)).toBe('echo: hello there');
    expect(finishes(s)).toEqual(['stop']);
    expect(s.done).toBe(true);
    expect(s.chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3 });
    expect(fake.requests[0]?.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  });

  it('completes a tool round trip on Gemini 3, handing the thought signature back through the call id', async () => {
    const g3 = { model: 'gemini-3-pro-preview' };
    fake.setDefault({ requireThoughtSignatures: true, thoughtSignature: 'CiQB0e2Kb+/sig==' });
    const first = await send({ messages: [user('weather?')], tools: [WEATHER] }, g3);
    const calls = messageOf(first).tool_calls as Json[];
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ function: { name: 'get_weather', arguments: '{"location":"Paris"}' } });
    const id = (calls[0] as Json).id as string;
    const second = await send(
      {
        messages: [
          user('weather?'),
          { role: 'assistant', content: null, tool_calls: calls },
          { role: 'tool', tool_call_id: id, content: '21 degrees' },
        ],
        tools: [WEATHER],
      },
      g3,
    );
    expect(second.status).toBe(200);
    expect(messageOf(second).content).toBe('tool said: 21 degrees');
    const sentBody = fake.requests[1]?.body as { contents: { parts: Json[] }[] };
    expect(sentBody.contents[1]?.parts[0]?.thoughtSignature).toBe('CiQB0e2Kb+/sig==');
  });

  it('replays tool calls another provider made on Gemini 3 (documented placeholder signature)', async () => {
    fake.enqueue({ requireThoughtSignatures: true });
    const s = await send(
      {
        messages: [
          user('weather?'),
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'toolu_01', content: 'sunny' },
        ],
      },
      { model: 'gemini-3-flash-preview' },
    );
    expect(messageOf(s).content).toBe('tool said: sunny');
  });

  it('calls the forced tool, and none when tool_choice is none', async () => {
    const forced = await send({
      messages: [user('x')],
      tools: [WEATHER, TIME],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    expect((messageOf(forced).tool_calls as Json[])[0]).toMatchObject({ function: { name: 'get_time' } });
    expect((forced.json.choices as Json[])[0]?.finish_reason).toBe('tool_calls');
    const none = await send({ messages: [user('x')], tools: [WEATHER], tool_choice: 'none' });
    expect(messageOf(none).content).toBe('echo: x');
  });

  it('streams a tool call as one tool_calls delta with finish reason tool_calls', async () => {
    const s = await send({ messages: [user('x')], tools: [WEATHER], stream: true });
    const calls = s.chunks
      .flatMap((c) => choices(c).map((x) => (x.delta as Json).tool_calls))
      .filter(Boolean);
    expect(calls).toEqual([
      [
        {
          index: 0,
          id: 'call_reqloop_0',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
        },
      ],
    ]);
    expect(finishes(s)).toEqual(['tool_calls']);
    expect(s.done).toBe(true);
  });

  it('gives JSON mode answers as content with finish reason stop, streamed or not', async () => {
    const rf = { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object' } } };
    const whole = await send({ messages: [user('hi')], response_format: rf });
    expect(JSON.parse(messageOf(whole).content as string)).toEqual({ answer: 'echo: hi' });
    const s = await send({ messages: [user('hi')], response_format: { type: 'json_object' }, stream: true });
    expect(JSON.parse(streamed(s))).toEqual({ answer: 'echo: hi' });
    expect(finishes(s)).toEqual(['stop']);
  });

  it('maps custom usage (cache reads, thinking, tool-use prompt) and omits usage Gemini did not send', async () => {
    fake.enqueue({
      usage: { prompt: 100, candidates: 10, cached: 40, thoughts: 25, toolUsePrompt: 5 },
      thought: 'hmm',
    });
    const s = await send({ messages: [user('hi')] });
    expect(messageOf(s).content).toBe('echo: hi');
    expect(s.json.usage).toEqual({
      prompt_tokens: 105,
      completion_tokens: 35,
      total_tokens: 140,
      prompt_tokens_details: { cached_tokens: 40 },
      completion_tokens_details: { reasoning_tokens: 25 },
    });
    fake.enqueue({ usage: null }, { usage: null });
    expect((await send({ messages: [user('hi')] })).json).not.toHaveProperty('usage');
    const st = await send({ messages: [user('hi')], stream: true });
    expect(st.done).toBe(true);
    expect(st.text).not.toContain('"usage"');
  });

  it('answers a blocked prompt with content_filter', async () => {
    fake.enqueue({ blockReason: 'SAFETY' }, { blockReason: 'SAFETY' });
    const s = await send({ messages: [user('bad')] });
    expect((s.json.choices as Json[])[0]).toMatchObject({
      message: { content: null },
      finish_reason: 'content_filter',
    });
    const st = await send({ messages: [user('bad')], stream: true });
    expect(finishes(st)).toEqual(['content_filter']);
    expect(st.done).toBe(true);
  });

  it('ends a cut stream without [DONE]', async () => {
    fake.enqueue({ cutAfterEvents: 2, chunkSize: 2 });
    const s = await send({ messages: [user('hello there')], stream: true });
    expect(streamed(s)).toBe('echo');
    expect(s.done).toBe(false);
  });

  it('turns a mid-stream error event into an OpenAI error event, and nothing after it', async () => {
    fake.enqueue({ errorAfterEvents: 1, status: 503 });
    const s = await send({ messages: [user('hello there')], stream: true });
    expect(s.done).toBe(false);
    expect(s.chunks.at(-1)).toEqual({
      error: {
        message: 'The model is overloaded. Please try again later.',
        code: 'UNAVAILABLE',
        kind: 'server',
      },
    });
  });

  it('embeds text, base64 as the official SDK asks, with no usage', async () => {
    const s = await send(
      { input: ['alpha', 'beta'], dimensions: 4, encoding_format: 'base64' },
      { op: 'embeddings', model: 'gemini-embedding-001' },
    );
    const data = s.json.data as { embedding: string }[];
    const floats = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    };
    expect(data.map((d) => floats(d.embedding))).toEqual([fakeVector('alpha', 4), fakeVector('beta', 4)]);
    expect(s.json).not.toHaveProperty('usage');
  });
});

describe('the fake Gemini API errors, as the adapter classifies them', () => {
  const kind = (s: Sent) => {
    const info = geminiAdapter.parseError(s.status, s.text);
    return { ...info, kind: info.kind ?? kindOfStatus(s.status, info.code, info.type) };
  };

  it('answers a wrong key with 400 API_KEY_INVALID (auth) and no key with 403 (auth)', async () => {
    const bad = await send({ messages: [user('x')] }, { apiKey: 'AIza-wrong' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error.details[0].reason).toBe('API_KEY_INVALID');
    expect(kind(bad)).toMatchObject({ code: 'INVALID_ARGUMENT', kind: 'auth' });
    const none = await send({ messages: [user('x')] }, { apiKey: undefined });
    expect(none.status).toBe(403);
    expect(kind(none)).toMatchObject({ code: 'PERMISSION_DENIED', kind: 'auth' });
  });

  it('answers 429 RESOURCE_EXHAUSTED with RetryInfo in the body and no Retry-After header', async () => {
    fake.enqueue({ status: 429, retryDelay: '7s' });
    const s = await send({ messages: [user('x')] });
    expect(s.status).toBe(429);
    expect(s.headers['retry-after']).toBeUndefined();
    expect(JSON.parse(s.text).error.details).toContainEqual({
      '@type': 'type.googleapis.com/google.rpc.RetryInfo',
      retryDelay: '7s',
    });
    expect(kind(s)).toMatchObject({ code: 'RESOURCE_EXHAUSTED', kind: 'rate_limited' });
  });

  it.each([
    [500, 'INTERNAL'],
    [503, 'UNAVAILABLE'],
    [504, 'DEADLINE_EXCEEDED'],
  ])('answers %i %s, a server failure', async (status, code) => {
    fake.enqueue({ status });
    expect(kind(await send({ messages: [user('x')] }))).toMatchObject({ code, kind: 'server' });
  });

  it('delays the first byte when asked', async () => {
    fake.enqueue({ firstByteDelayMs: 120 });
    const started = Date.now();
    await send({ messages: [user('x')] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});
