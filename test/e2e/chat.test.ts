import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Harness,
  isUuidV7,
  openaiProvider,
  raw,
  route,
  startHarness,
  upstreamBody,
} from '../support/gateway-harness.ts';

const PROVIDER_KEY = 'sk-upstream-chat-0123456789';
let h: Harness<'a'>;

const bodyAt = (i = 0) => upstreamBody(h.fakes.a, i);

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {} },
    providerKeys: { a: PROVIDER_KEY },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url) },
      routes: {
        'gpt-4o-mini': route([{ provider: 'a', model: 'upstream-mini-2024' }]),
        'text-embedding-3-small': route([{ provider: 'a', model: 'embed-upstream' }]),
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

const hello: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'be brief' },
  { role: 'user', content: 'hello there' },
];

describe('chat completions (non-stream)', () => {
  it('answers with the upstream content, usage and the gateway headers', async () => {
    const { data, response } = await h.client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: hello })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toBe('echo: hello there');
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 });
    expect(isUuidV7(response.headers.get('x-request-id'))).toBe(true);
    expect(response.headers.get('x-switchyard-provider')).toBe('a');
  });

  it("sends the target's model upstream, with the provider key and not the client key", async () => {
    await h.client.chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    const req = h.fakes.a.requests[0];
    expect(req?.path).toBe('/v1/chat/completions');
    expect(bodyAt().model).toBe('upstream-mini-2024');
    expect(req?.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
  });

  it('logs a summary line with the route, provider, target model and token counts', async () => {
    const { response } = await h.client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: hello })
      .withResponse();
    const s = await h.waitForSummary(response.headers.get('x-request-id') ?? '');
    expect(s).toMatchObject({
      message: 'request',
      status: 200,
      route: 'gpt-4o-mini',
      provider: 'a',
      model: 'upstream-mini-2024',
      attempts: 1,
      retries: 0,
      fallbacks: 0,
      inputTokens: 4,
      outputTokens: 3,
    });
  });

  it('passes unknown and extra fields upstream untouched', async () => {
    const params = {
      model: 'gpt-4o-mini',
      messages: hello,
      foo_extra: { a: 1, nested: [true, null, 'x'] },
      seed: 42,
      logprobs: true,
      top_logprobs: 2,
      metadata: { team: 'e2e' },
    };
    await h.client.chat.completions.create(params);
    const body = bodyAt();
    expect(body.foo_extra).toEqual({ a: 1, nested: [true, null, 'x'] });
    expect(body.seed).toBe(42);
    expect(body.logprobs).toBe(true);
    expect(body.top_logprobs).toBe(2);
    expect(body.metadata).toEqual({ team: 'e2e' });
    expect(body.messages).toEqual(hello);
  });

  it('passes n, stop, max_tokens, max_completion_tokens, temperature and user through', async () => {
    const data = await h.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: hello,
      n: 3,
      stop: ['\n\n', 'END'],
      max_tokens: 64,
      max_completion_tokens: 128,
      temperature: 0.2,
      user: 'user-1234',
    });
    expect(data.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(data.choices.every((c) => c.message.content === 'echo: hello there')).toBe(true);
    expect(bodyAt()).toMatchObject({
      n: 3,
      stop: ['\n\n', 'END'],
      max_tokens: 64,
      max_completion_tokens: 128,
      temperature: 0.2,
      user: 'user-1234',
    });
  });
});

const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather of a city',
      parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
    },
  },
];
const ARGS = '{"location":"Paris, France","unit":"celsius","days":[1,2,3]}';

describe('tool calls', () => {
  it('returns a tool call (non-stream) and forwards the tools and tool_choice', async () => {
    h.fakes.a.enqueue({ toolArguments: ARGS });
    const data = await h.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: TOOLS,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const call = data.choices[0]?.message.tool_calls?.[0];
    expect(data.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type).toBe('function');
    expect(call?.type === 'function' ? call.function : undefined).toEqual({
      name: 'get_weather',
      arguments: ARGS,
    });
    expect(bodyAt().tools).toEqual(TOOLS);
    expect(bodyAt().tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
  });

  it('streams a tool call whose argument fragments reassemble exactly', async () => {
    h.fakes.a.enqueue({ toolArguments: ARGS, chunkSize: 5 });
    const stream = await h.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'weather in Paris?' }],
      tools: TOOLS,
      stream: true,
    });
    let name = '';
    let args = '';
    let fragments = 0;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      for (const tc of choice?.delta.tool_calls ?? []) {
        name += tc.function?.name ?? '';
        if (tc.function?.arguments) {
          args += tc.function.arguments;
          fragments++;
        }
      }
      finish = choice?.finish_reason ?? finish;
    }
    expect(name).toBe('get_weather');
    expect(args).toBe(ARGS);
    expect(JSON.parse(args)).toEqual({ location: 'Paris, France', unit: 'celsius', days: [1, 2, 3] });
    expect(fragments).toBeGreaterThan(1);
    expect(finish).toBe('tool_calls');
  });

  it('forwards a second turn with the tool result and answers from it', async () => {
    h.fakes.a.enqueue({ toolArguments: ARGS });
    const user: OpenAI.Chat.Completions.ChatCompletionMessageParam = { role: 'user', content: 'weather?' };
    const first = await h.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [user],
      tools: TOOLS,
    });
    const assistant = first.choices[0]?.message;
    const call = assistant?.tool_calls?.[0];
    expect(call).toBeDefined();
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      user,
      { role: 'assistant', content: null, tool_calls: assistant?.tool_calls ?? [] },
      { role: 'tool', tool_call_id: call?.id ?? '', content: '{"temp_c":21}' },
    ];
    const second = await h.client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: TOOLS });
    expect(second.choices[0]?.message.content).toBe('tool said: {"temp_c":21}');
    expect(second.choices[0]?.finish_reason).toBe('stop');
    expect(bodyAt(1).messages).toEqual(messages);
  });
});

describe('JSON mode', () => {
  it('forwards response_format json_object and the content parses as JSON', async () => {
    const data = await h.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'give json' }],
      response_format: { type: 'json_object' },
    });
    expect(bodyAt().response_format).toEqual({ type: 'json_object' });
    expect(JSON.parse(data.choices[0]?.message.content ?? '')).toEqual({ answer: 'echo: give json' });
  });

  it('forwards a json_schema response_format untouched and the content parses as JSON', async () => {
    const format = {
      type: 'json_schema',
      json_schema: {
        name: 'answer',
        strict: true,
        schema: {
          type: 'object',
          properties: { answer: { type: 'string' } },
          required: ['answer'],
          additionalProperties: false,
        },
      },
    } as const;
    const data = await h.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'schema please' }],
      response_format: format,
    });
    expect(bodyAt().response_format).toEqual(format);
    expect(JSON.parse(data.choices[0]?.message.content ?? '')).toEqual({ answer: 'echo: schema please' });
  });
});

describe('embeddings', () => {
  it('returns float embeddings and sends the target model upstream', async () => {
    const data = await h.client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['one', 'two words'],
      encoding_format: 'float',
    });
    expect(data.data).toHaveLength(2);
    expect(data.data[0]?.embedding).toHaveLength(8);
    expect(data.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(bodyAt()).toMatchObject({ model: 'embed-upstream', encoding_format: 'float' });
    expect(h.fakes.a.requests[0]?.path).toBe('/v1/embeddings');
  });

  it("passes the SDK's default base64 encoding through, and it decodes to the float vectors", async () => {
    const floats = await h.client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'same text',
      encoding_format: 'float',
      dimensions: 16,
    });
    const decoded = await h.client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'same text',
      dimensions: 16,
    });
    expect(bodyAt(1)).toMatchObject({ encoding_format: 'base64', dimensions: 16 });
    expect(decoded.data[0]?.embedding).toHaveLength(16);
    expect(decoded.data[0]?.embedding).toEqual(floats.data[0]?.embedding);
  });
});

describe('models and health', () => {
  it('lists the route names on GET /v1/models', async () => {
    const ids: string[] = [];
    for await (const m of h.client.models.list()) ids.push(m.id);
    expect(ids.sort()).toEqual(['gpt-4o-mini', 'text-embedding-3-small']);
    expect(h.fakes.a.requests).toHaveLength(0);
  });

  it('answers GET /health without a key', async () => {
    const r = await raw(h.origin, '/health', { key: null });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ status: 'ok' });
    expect(isUuidV7(r.headers.get('x-request-id'))).toBe(true);
  });
});
