import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeOpenAI, startFakeOpenAI } from './fake-openai.ts';

const KEY = 'sk-test-fake-key-1234';
const MODEL = 'gpt-4o-mini';
const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: { type: 'object', properties: { location: { type: 'string' } } },
    },
  },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
];

let fake: FakeOpenAI;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY });
  client = new OpenAI({ baseURL: fake.url, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
});

async function collect(
  params: Omit<OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming, 'model' | 'stream'>,
): Promise<OpenAI.Chat.Completions.ChatCompletionChunk[]> {
  const stream = await client.chat.completions.create({ model: MODEL, stream: true, ...params });
  const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}
const textOf = (chunks: OpenAI.Chat.Completions.ChatCompletionChunk[]): string =>
  chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

describe('fake OpenAI upstream', () => {
  const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hello there, world' },
  ];

  it('answers non-stream chat completions with usage, request ids and recording', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: MODEL, messages }, { headers: { 'x-request-id': 'client-id-1' } })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.model).toBe(MODEL);
    expect(data.system_fingerprint).toBeTypeOf('string');
    expect(data.choices[0]?.message).toEqual({
      role: 'assistant',
      content: 'echo: hello there, world',
      refusal: null,
    });
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage).toEqual({
      prompt_tokens: 5,
      completion_tokens: 4,
      total_tokens: 9,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    expect(response.headers.get('x-echo-request-id')).toBe('client-id-1');
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.path).toBe('/v1/chat/completions');
    expect(fake.requests[0]?.body).toMatchObject({ model: MODEL, messages });
  });

  it('honours n, behaviour overrides, json mode and tool results', async () => {
    fake.enqueue({
      content: 'fixed answer',
      model: 'other-model',
      usage: { prompt_tokens: 7, completion_tokens: 3 },
    });
    const a = await client.chat.completions.create({ model: MODEL, messages, n: 2 });
    expect(a.choices.map((c) => [c.index, c.message.content])).toEqual([
      [0, 'fixed answer'],
      [1, 'fixed answer'],
    ]);
    expect(a.model).toBe('other-model');
    expect(a.usage?.total_tokens).toBe(10);
    fake.enqueue({ usage: null });
    expect((await client.chat.completions.create({ model: MODEL, messages })).usage).toBeUndefined();
    const j = await client.chat.completions.create({
      model: MODEL,
      messages,
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(j.choices[0]?.message.content ?? '')).toEqual({ answer: 'echo: hello there, world' });
    const t = await client.chat.completions.create({
      model: MODEL,
      tools: TOOLS,
      messages: [
        ...messages,
        {
          role: 'assistant',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
    });
    expect(t.choices[0]?.message.content).toBe('tool said: sunny');
  });

  it('streams the same content, with a usage chunk only when asked', async () => {
    const full = await client.chat.completions.create({ model: MODEL, messages });
    const plain = await collect({ messages });
    expect(textOf(plain)).toBe(full.choices[0]?.message.content);
    expect(plain.every((c) => !('usage' in c))).toBe(true);
    expect(plain[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    expect(new Set(plain.map((c) => c.id)).size).toBe(1);
    expect(plain.at(-1)?.choices[0]?.finish_reason).toBe('stop');

    const withUsage = await collect({ messages, stream_options: { include_usage: true } });
    expect(textOf(withUsage)).toBe(full.choices[0]?.message.content);
    const last = withUsage.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual(full.usage);
    expect(withUsage.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('answers tool calls, non-stream and streamed', async () => {
    const nonStream = await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS });
    const call = nonStream.choices[0]?.message.tool_calls?.[0];
    expect(nonStream.choices[0]?.finish_reason).toBe('tool_calls');
    expect(nonStream.choices[0]?.message.content).toBeNull();
    expect(call?.id).toMatch(/^call_/);
    expect(call?.type === 'function' && call.function).toEqual({
      name: 'get_weather',
      arguments: '{"location":"Paris"}',
    });

    const args = '{"timezone":"Europe/Paris","format":"24h"}';
    fake.enqueue({ toolArguments: args, chunkSize: 5 });
    const runner = client.chat.completions.stream({
      model: MODEL,
      messages,
      tools: TOOLS,
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    const final = await runner.finalChatCompletion();
    const streamed = final.choices[0]?.message.tool_calls?.[0];
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(streamed?.type === 'function' && streamed.function).toEqual({ name: 'get_time', arguments: args });
    const none = await client.chat.completions.create({
      model: MODEL,
      messages,
      tools: TOOLS,
      tool_choice: 'none',
    });
    expect(none.choices[0]?.message.content).toBe('echo: hello there, world');
  });

  it('returns deterministic embeddings (base64 default and float)', async () => {
    const a = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['one two', 'three'],
    });
    expect(a.object).toBe('list');
    expect(a.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([
      ['embedding', 0, 8],
      ['embedding', 1, 8],
    ]);
    expect(a.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    const b = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'one two',
      encoding_format: 'float',
    });
    expect(b.data[0]?.embedding).toEqual(a.data[0]?.embedding);
    expect(a.data[1]?.embedding).not.toEqual(a.data[0]?.embedding);
    for (const x of a.data[0]?.embedding ?? []) expect(Math.abs(x)).toBeLessThanOrEqual(1);
    const c = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'x', dimensions: 32 });
    expect(c.data[0]?.embedding).toHaveLength(32);
  });

  it('lists models and rejects unknown paths and bad JSON like OpenAI', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('gpt-4o-mini');
    const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    const notFound = await fetch(`${fake.url}/nope`, { method: 'POST', headers, body: '{}' });
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toEqual({
      error: {
        message: 'Invalid URL (POST /v1/nope)',
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
    const bad = await fetch(`${fake.url}/chat/completions`, { method: 'POST', headers, body: '{nope' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('rejects a wrong key with invalid_api_key', async () => {
    const wrong = new OpenAI({ baseURL: fake.url, apiKey: 'sk-wrong-key-abcd', maxRetries: 0 });
    const err = await wrong.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    if (!(err instanceof OpenAI.AuthenticationError)) return;
    expect(err.status).toBe(401);
    expect(err.code).toBe('invalid_api_key');
    expect(err.type).toBe('invalid_request_error');
    expect(err.message).toContain('Incorrect API key provided: sk-**********abcd.');
  });

  it('distinguishes 429 insufficient_quota from rate limits and sends Retry-After', async () => {
    fake.enqueue(
      { status: 429, errorCode: 'insufficient_quota' },
      { status: 429, retryAfter: '2', retryAfterMs: '1500' },
    );
    const quota = await client.chat.completions.create({ model: MODEL, messages }).catch((e: unknown) => e);
    expect(quota).toBeInstanceOf(OpenAI.RateLimitError);
    if (!(quota instanceof OpenAI.RateLimitError)) return;
    expect([quota.type, quota.code]).toEqual(['insufficient_quota', 'insufficient_quota']);
    expect(quota.message).toContain('You exceeded your current quota');
    const limited = await client.chat.completions.create({ model: MODEL, messages }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    if (!(limited instanceof OpenAI.RateLimitError)) return;
    expect([limited.type, limited.code]).toEqual(['requests', 'rate_limit_exceeded']);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.headers.get('retry-after-ms')).toBe('1500');
    expect(limited.requestID).toMatch(/^req_/);

    fake.enqueue({ status: 503, errorMessage: 'overloaded' });
    const server = await client.chat.completions.create({ model: MODEL, messages }).catch((e: unknown) => e);
    expect(server).toBeInstanceOf(OpenAI.InternalServerError);
    expect(server).toMatchObject({
      status: 503,
      type: 'server_error',
      code: null,
      message: '503 overloaded',
    });
  });

  it('cuts streams and connections', async () => {
    fake.enqueue({ cutAfterChunks: 2, chunkSize: 2 });
    const got: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    await expect(
      (async () => {
        const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true });
        for await (const c of stream) got.push(c);
      })(),
    ).rejects.toThrow();
    expect(got).toHaveLength(2);
    expect(textOf(got)).toBe('ec');

    fake.enqueue({ cutBeforeResponse: true });
    const err = await client.chat.completions.create({ model: MODEL, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(fake.requests).toHaveLength(2);
    // The server keeps working after both faults.
    expect((await client.chat.completions.create({ model: MODEL, messages })).choices).toHaveLength(1);
  });

  it('delays the first byte, drips and stalls, and cancels on abort', async () => {
    fake.enqueue({ firstByteDelayMs: 5_000 });
    const t0 = Date.now();
    const aborted = await client.chat.completions
      .create({ model: MODEL, messages }, { signal: AbortSignal.timeout(60) })
      .catch((e: unknown) => e);
    expect(aborted).toBeInstanceOf(OpenAI.APIUserAbortError);
    expect(Date.now() - t0).toBeLessThan(1_000);

    fake.enqueue({ firstByteDelayMs: 80 });
    const t1 = Date.now();
    await client.chat.completions.create({ model: MODEL, messages });
    expect(Date.now() - t1).toBeGreaterThanOrEqual(75);

    fake.enqueue({ chunkDelayMs: 15, chunkSize: 100, stallAfterChunks: 2, stallMs: 60 });
    const t2 = Date.now();
    expect(textOf(await collect({ messages }))).toBe('echo: hello there, world');
    expect(Date.now() - t2).toBeGreaterThanOrEqual(90);

    // Stalled forever: the client gets the first 2 chunks, then aborts.
    fake.enqueue({ stallAfterChunks: 2 });
    const ac = new AbortController();
    const seen: string[] = [];
    const stalled = (async () => {
      const stream = await client.chat.completions.create(
        { model: MODEL, messages, stream: true },
        { signal: ac.signal },
      );
      for await (const c of stream) {
        seen.push(c.choices[0]?.delta.content ?? '');
        if (seen.length === 2) setTimeout(() => ac.abort(), 30);
      }
    })();
    // The SDK ends an aborted stream quietly instead of throwing.
    await stalled;
    expect(ac.signal.aborted).toBe(true);
    expect(seen).toEqual(['', 'echo: he']);
  });

  it('closes promptly with a response stalled forever', async () => {
    const other = await startFakeOpenAI({ record: false });
    other.setDefault({ stallAfterChunks: 1 });
    const c = new OpenAI({ baseURL: other.url, apiKey: 'anything', maxRetries: 0 });
    const stream = await c.chat.completions.create({ model: MODEL, messages, stream: true });
    const pending = (async () => {
      for await (const _ of stream) {
        // drain until the server drops the connection
      }
    })().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await other.close();
    expect(Date.now() - t0).toBeLessThan(500);
    expect(await pending).toBeInstanceOf(Error);
    expect(other.requests).toHaveLength(0);
  });
});
