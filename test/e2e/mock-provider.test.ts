import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  errorOf,
  type Harness,
  openaiProvider,
  raw,
  route,
  sseData,
  startHarness,
} from '../support/gateway-harness.ts';

let h: Harness<'a'>;

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {} },
    config: (f) => ({
      providers: { mock: { type: 'mock' }, a: openaiProvider(f.a.url) },
      routes: {
        mock: route([{ provider: 'mock', model: 'mock-model' }]),
        'mock-then-fake': route([
          { provider: 'mock', model: 'mock-model' },
          { provider: 'a', model: 'real-model' },
        ]),
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

const ask = (content: string): OpenAI.Chat.Completions.ChatCompletionMessageParam[] => [
  { role: 'user', content },
];

describe('mock provider through the gateway', () => {
  it('answers a chat completion with the echo, usage and the provider header', async () => {
    const { data, response } = await h.client.chat.completions
      .create({ model: 'mock', messages: ask('hello mock') })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: hello mock');
    expect(data.model).toBe('mock-model');
    expect(data.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3 });
    expect(response.headers.get('x-switchyard-provider')).toBe('mock');
    const s = await h.waitForSummary(response.headers.get('x-request-id') ?? '');
    expect(s).toMatchObject({ status: 200, provider: 'mock', inputTokens: 2, outputTokens: 3 });
  });

  it('streams the same content, with a usage chunk when asked', async () => {
    const text = 'a longer sentence so that the mock splits it into several chunks';
    const stream = await h.client.chat.completions.create({
      model: 'mock',
      messages: ask(text),
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) {
      chunks++;
      content += c.choices[0]?.delta.content ?? '';
      usage = c.usage ?? usage;
    }
    expect(content).toBe(`echo: ${text}`);
    expect(chunks).toBeGreaterThan(3);
    expect(usage?.completion_tokens).toBe(13);
  });

  it('answers 502 upstream_server_error to the /fail 503 directive', async () => {
    const err = await h.client.chat.completions
      .create({ model: 'mock', messages: ask('/fail 503') })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err).toMatchObject({ status: 502, type: 'upstream_error', code: 'upstream_server_error' });
  });

  it('maps /fail 429 insufficient_quota and /fail 400 <code> like a real upstream', async () => {
    const body = (content: string) => JSON.stringify({ model: 'mock', messages: ask(content) });
    const quota = await raw(h.origin, '/v1/chat/completions', { body: body('/fail 429 insufficient_quota') });
    expect([quota.status, errorOf(quota).code]).toEqual([502, 'upstream_insufficient_balance']);
    const bad = await raw(h.origin, '/v1/chat/completions', {
      body: body('/fail 400 context_length_exceeded'),
    });
    expect([bad.status, errorOf(bad).code]).toEqual([400, 'context_length_exceeded']);
    const limited = await raw(h.origin, '/v1/chat/completions', { body: body('/fail 429') });
    expect([limited.status, errorOf(limited).code]).toEqual([429, 'upstream_rate_limited']);
  });

  it('falls back from a failing mock target to a real upstream', async () => {
    const { data, response } = await h.client.chat.completions
      .create({ model: 'mock-then-fake', messages: ask('/fail 503') })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: /fail 503');
    expect(response.headers.get('x-switchyard-provider')).toBe('a');
  });

  it('answers 504 when /slow exceeds firstByteMs', async () => {
    const r = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'mock', messages: ask('/slow 1000') }),
    });
    expect([r.status, errorOf(r).code]).toEqual([504, 'upstream_timeout']);
  });

  it('ends a /cut stream with an error event and no [DONE]', async () => {
    const r = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'mock', messages: ask('/cut 2 and some more words'), stream: true }),
    });
    expect(r.status).toBe(200);
    const data = sseData(r.text);
    expect(data).toHaveLength(3);
    expect(r.text).not.toContain('[DONE]');
    expect(JSON.parse(data.at(-1) ?? '')).toMatchObject({ error: { code: 'upstream_server_error' } });
  });

  it('returns embeddings and a tool call', async () => {
    const emb = await h.client.embeddings.create({
      model: 'mock',
      input: ['x', 'y'],
      encoding_format: 'float',
    });
    expect(emb.data.map((d) => d.embedding.length)).toEqual([8, 8]);
    const tool = await h.client.chat.completions.create({
      model: 'mock',
      messages: ask('use the tool'),
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
    });
    const call = tool.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' ? call.function.name : undefined).toBe('lookup');
    expect(tool.choices[0]?.finish_reason).toBe('tool_calls');
  });
});

const weatherTool: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: 'function',
  function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

describe('mock provider: what SDKs and agent frameworks rely on', () => {
  it("returns base64 float32 embeddings that the openai SDK's default request decodes", async () => {
    // No encoding_format: the SDK asks for base64 and decodes it as little-endian float32 (as LangChain and
    // LlamaIndex do through it).
    const decoded = await h.client.embeddings.create({ model: 'mock', input: ['x', 'y'] });
    const floats = await h.client.embeddings.create({
      model: 'mock',
      input: ['x', 'y'],
      encoding_format: 'float',
    });
    expect(decoded.data.map((d) => d.embedding.length)).toEqual([8, 8]);
    expect(decoded.data.map((d) => d.embedding)).toEqual(
      floats.data.map((d) => d.embedding.map((v) => Math.fround(v))),
    );
    expect(decoded.data[0]?.embedding).not.toEqual(decoded.data[1]?.embedding);
    const five = await h.client.embeddings.create({ model: 'mock', input: 'z', dimensions: 5 });
    expect(five.data[0]?.embedding).toHaveLength(5);
    expect(decoded.usage).toMatchObject({ prompt_tokens: 2, total_tokens: 2 });
  });

  it('refuses more dimensions than any model has, instead of building a billion numbers in the gateway', async () => {
    await expect(
      h.client.embeddings.create({ model: 'mock', input: 'z', dimensions: 1_000_000_000 }),
    ).rejects.toMatchObject({ status: 400, param: 'dimensions' });
    // A long input costs its length plus the dimensions, not their product.
    const long = await h.client.embeddings.create({
      model: 'mock',
      input: 'word '.repeat(200_000),
      dimensions: 3072,
    });
    expect(long.data[0]?.embedding).toHaveLength(3072);
  });

  it('answers a tool result with text, so an agent loop ends', async () => {
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = ask('weather in Oslo?');
    const first = await h.client.chat.completions.create({ model: 'mock', messages, tools: [weatherTool] });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    if (call === undefined) throw new Error('expected a tool call');
    messages.push(first.choices[0]?.message as OpenAI.Chat.Completions.ChatCompletionMessageParam, {
      role: 'tool',
      tool_call_id: call.id,
      content: 'sunny, 21C',
    });
    const second = await h.client.chat.completions.create({ model: 'mock', messages, tools: [weatherTool] });
    expect(second.choices[0]?.finish_reason).toBe('stop');
    expect(second.choices[0]?.message.tool_calls).toBeUndefined();
    expect(second.choices[0]?.message.content).toBe('tool said: sunny, 21C');

    const stream = await h.client.chat.completions.create({
      model: 'mock',
      messages,
      tools: [weatherTool],
      stream: true,
    });
    let text = '';
    let finish: string | null | undefined;
    for await (const c of stream) {
      expect(c.choices[0]?.delta.tool_calls).toBeUndefined();
      text += c.choices[0]?.delta.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect([text, finish]).toEqual(['tool said: sunny, 21C', 'stop']);
  });

  it('puts index on stream tool-call deltas only, not on a non-stream message', async () => {
    const body = (stream: boolean) =>
      JSON.stringify({ model: 'mock', stream, messages: ask('call it'), tools: [weatherTool] });
    const whole = await raw(h.origin, '/v1/chat/completions', { body: body(false) });
    const calls = (JSON.parse(whole.text) as { choices: { message: { tool_calls: object[] } }[] }).choices[0]
      ?.message.tool_calls;
    expect(calls).toHaveLength(1);
    expect(Object.keys(calls?.[0] ?? {}).sort()).toEqual(['function', 'id', 'type']);
    const streamed = await raw(h.origin, '/v1/chat/completions', { body: body(true) });
    const deltas = sseData(streamed.text)
      .filter((d) => d !== '[DONE]')
      .flatMap(
        (d) =>
          (JSON.parse(d) as { choices: { delta: { tool_calls?: { index: number }[] } }[] }).choices[0]?.delta
            .tool_calls ?? [],
      );
    expect(deltas.map((t) => t.index)).toEqual([0]);
  });
});
