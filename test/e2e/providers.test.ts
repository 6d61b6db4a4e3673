/**
 * The same end-to-end suite over every provider type: the official openai SDK → the local gateway → each
 * provider's fake speaking its own wire format on loopback. Business code speaks only OpenAI; whatever the
 * provider, the answers, streams, tool calls, JSON mode, errors and the ledger's tokens must look the same.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FAST_RETRY, type Harness, route, startHarness } from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';
import { DRIVERS, type Driver } from '../support/provider-drivers.ts';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;

const WEATHER_TOOL: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather at a place',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
};

describe.each(Object.keys(DRIVERS))('provider type %s, through the openai SDK', (type) => {
  let d: Driver;
  let h: Harness<never>;

  beforeAll(async () => {
    const start = DRIVERS[type];
    if (start === undefined) throw new Error(`no driver for ${type}`);
    d = await start();
    h = await startHarness({
      config: () => ({
        providers: { up: d.provider() },
        routes: {
          chat: route([{ provider: 'up', model: d.model }]),
          retried: route([{ provider: 'up', model: d.model }], { retry: FAST_RETRY }),
          ...(d.embedModel === undefined ? {} : { embed: route([{ provider: 'up', model: d.embedModel }]) }),
        },
      }),
      providerKeys: { up: 'provider-key-1' },
      ...(d.gateway === undefined ? {} : { gateway: d.gateway }),
    });
  });
  afterAll(async () => {
    await h?.close();
    await d?.close();
  });
  beforeEach(() => {
    h.reset();
    d.reset();
  });

  const ask = (
    messages: Message[],
    extra: Partial<OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming> = {},
  ) => h.client.chat.completions.create({ model: 'chat', messages, ...extra }).withResponse();

  async function stream(
    messages: Message[],
    extra: Partial<OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming> = {},
  ): Promise<{ chunks: Chunk[]; requestId: string }> {
    const { data, response } = await h.client.chat.completions
      .create({ model: 'chat', messages, stream: true, ...extra })
      .withResponse();
    const chunks: Chunk[] = [];
    for await (const c of data) chunks.push(c);
    return { chunks, requestId: response.headers.get('x-request-id') ?? '' };
  }

  const textOf = (chunks: Chunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

  it('answers a plain question with an OpenAI chat.completion', async () => {
    const { data, response } = await ask([{ role: 'user', content: 'Hello there' }]);
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toBe('echo: Hello there');
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-switchyard-provider')).toBe('up');
    expect(response.headers.get('x-request-id')).toBeTruthy();
  });

  it('streams the answer as chat.completion.chunk events, ending with a finish reason', async () => {
    const { chunks } = await stream([{ role: 'user', content: 'stream this please' }]);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(textOf(chunks)).toBe('echo: stream this please');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    // No usage chunk for a client that did not ask for one.
    expect(chunks.some((c) => c.usage != null)).toBe(false);
  });

  it('sends the usage chunk last when the client asks, and the ledger records the same tokens', async () => {
    d.usage(321, 45);
    const { chunks, requestId } = await stream([{ role: 'user', content: 'count me' }], {
      stream_options: { include_usage: true },
    });
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 321, completion_tokens: 45, total_tokens: 366 });
    const rec = await recordOf(h.gateway, requestId);
    expect(rec).toMatchObject({ inputTokens: 321, outputTokens: 45, usageSource: 'provider', stream: true });
  });

  it('records non-stream usage in the ledger exactly as the provider reported it', async () => {
    d.usage(1234, 56);
    const { data, response } = await ask([{ role: 'user', content: 'bill me' }]);
    expect(data.usage).toMatchObject({ prompt_tokens: 1234, completion_tokens: 56 });
    const rec = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(rec).toMatchObject({
      inputTokens: 1234,
      outputTokens: 56,
      usageSource: 'provider',
      provider: 'up',
    });
  });

  it('round-trips a tool call: tool_calls out, the tool result back in, the final answer', async () => {
    const messages: Message[] = [{ role: 'user', content: 'weather in Paris?' }];
    const first = (await ask(messages, { tools: [WEATHER_TOOL] })).data;
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function tool call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ location: 'Paris' });
    expect(call.id).toBeTruthy();
    const second = (
      await ask(
        [
          ...messages,
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: 'sunny, 21C' },
        ],
        { tools: [WEATHER_TOOL] },
      )
    ).data;
    expect(second.choices[0]?.message.content).toBe('tool said: sunny, 21C');
  });

  it('streams a tool call whose arguments add up to the JSON the tool gets', async () => {
    const { chunks } = await stream([{ role: 'user', content: 'weather?' }], { tools: [WEATHER_TOOL] });
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]?.function?.name).toBe('get_weather');
    const args = calls.map((c) => c.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ location: 'Paris' });
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('answers JSON mode (json_object) with parseable JSON content', async () => {
    const { data } = await ask([{ role: 'user', content: 'give json' }], {
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(data.choices[0]?.message.content ?? '')).toEqual({ answer: 'echo: give json' });
    expect(data.choices[0]?.finish_reason).toBe('stop');
  });

  it('answers a json_schema response format, streamed too', async () => {
    const response_format = {
      type: 'json_schema' as const,
      json_schema: {
        name: 'answer',
        schema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] },
      },
    };
    const { data } = await ask([{ role: 'user', content: 'schema please' }], { response_format });
    expect(JSON.parse(data.choices[0]?.message.content ?? '')).toEqual({ answer: 'echo: schema please' });
    const { chunks } = await stream([{ role: 'user', content: 'schema stream' }], { response_format });
    expect(JSON.parse(textOf(chunks))).toEqual({ answer: 'echo: schema stream' });
  });

  it('keeps a multi-turn conversation: earlier turns reach the provider, the last one is answered', async () => {
    const { data } = await ask([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Hello Ada.' },
      { role: 'user', content: 'What is my name?' },
    ]);
    expect(data.choices[0]?.message.content).toBe('echo: What is my name?');
    const sent = JSON.stringify(d.requests.at(-1)?.body);
    expect(sent).toContain('My name is Ada.');
    expect(sent).toContain('Hello Ada.');
    expect(sent).toContain('You are terse.');
  });

  it('maps a provider rate limit to 429 upstream_rate_limited', async () => {
    d.fail('rate_limited');
    const err = await ask([{ role: 'user', content: 'x' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_rate_limited');
  });

  it('retries a provider overload on the same target and then succeeds', async () => {
    d.fail('server');
    const { data, response } = await h.client.chat.completions
      .create({ model: 'retried', messages: [{ role: 'user', content: 'again' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: again');
    const s = await h.waitForSummary(response.headers.get('x-request-id') ?? '');
    expect(s.retries).toBe(1);
  });

  it('maps a rejected provider key to 502 upstream_auth, without echoing the key', async () => {
    d.fail('auth');
    const err = await ask([{ role: 'user', content: 'x' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_auth');
    expect(String((err as Error).message)).not.toContain('provider-key-1');
  });

  it("answers a request the provider calls bad with 400 and the provider's code", async () => {
    d.fail('bad_request');
    const err = await ask([{ role: 'user', content: 'x' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe(d.badRequestCode);
  });

  it('ends a stream the provider cut with an error the SDK raises, never a clean end', async () => {
    d.cut(2);
    const err = await stream([{ role: 'user', content: 'a long answer that will be cut' }]).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.APIError);
  });

  it('serves embeddings in the OpenAI list shape (float and base64), where the provider has them', async () => {
    if (d.embedModel === undefined) {
      const err = await h.client.embeddings.create({ model: 'chat', input: 'x' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('unsupported_parameter');
      return;
    }
    // The SDK asks for base64 by default and decodes it into floats.
    const viaSdk = await h.client.embeddings.create({ model: 'embed', input: ['one', 'two'] });
    expect(viaSdk.data.map((e) => e.index)).toEqual([0, 1]);
    expect(viaSdk.data[0]?.embedding.length).toBeGreaterThan(3);
    const floats = await h.client.embeddings.create({
      model: 'embed',
      input: 'one',
      encoding_format: 'float',
    });
    expect(floats.data[0]?.embedding).toEqual(viaSdk.data[0]?.embedding);
  });
});
