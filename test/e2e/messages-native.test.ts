/**
 * `/v1/messages` to Anthropic targets, end to end with the official `@anthropic-ai/sdk`: the SDK's request
 * bytes reach Anthropic unchanged but for the model's value, `messages.create` / `messages.stream` answers are
 * Anthropic's own, tools and tool results round-trip, cache read/write usage reaches the ledger, and a stream
 * that fails after its content throws the SDK's APIError while one that fails before it falls over.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startClaudeRig } from '../support/anthropic-sdk.ts';
import type { FakeAnthropic } from '../support/fake-anthropic.ts';
import type { FakeOpenAI } from '../support/fake-openai.ts';
import { type Harness, raw, route } from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';

let claude: FakeAnthropic;
let relay: FakeOpenAI;
let h: Harness<never>;
let sdk: Anthropic;
/** The bodies the SDK put on the wire, in order (its own fetch, wrapped). */
const sdkBodies: string[] = [];

beforeAll(async () => {
  ({ claude, relay, h } = await startClaudeRig('native', {
    routes: {
      'claude-native': route([{ provider: 'claude', model: 'claude-sonnet-4-5' }]),
      'claude-then-gpt': route([
        { provider: 'claude', model: 'claude-sonnet-4-5' },
        { provider: 'relay', model: 'gpt-4o' },
      ]),
    },
  }));
  sdk = new Anthropic({
    baseURL: h.origin,
    apiKey: h.masterKey,
    maxRetries: 0,
    fetch: async (url, init) => {
      if (typeof init?.body === 'string') sdkBodies.push(init.body);
      return fetch(url, init);
    },
  });
});
afterAll(async () => {
  await h.close();
  await claude.close();
  await relay.close();
});
beforeEach(() => {
  h.reset();
  claude.reset();
  relay.reset();
  sdkBodies.length = 0;
});

const WEATHER: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather in a city',
  // Keys deliberately out of alphabetical order, nested two deep: a re-serialisation would show.
  input_schema: {
    type: 'object',
    required: ['location'],
    properties: {
      location: { type: 'string', description: 'City name' },
      unit: { enum: ['c', 'f'], type: 'string' },
    },
  },
};
const LOOKUP: Anthropic.Tool = {
  name: 'lookup',
  input_schema: { type: 'object', properties: { query: { type: 'string' } } },
};

const hello: Anthropic.MessageCreateParamsNonStreaming = {
  model: 'claude-native',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hello claude' }],
};

/** What Anthropic got: the SDK's bytes with only the model's value replaced by the target's. */
function expectForwardedAsSent(i = 0): void {
  const sent = sdkBodies[i];
  const got = claude.requests[i]?.raw;
  if (sent === undefined || got === undefined) throw new Error(`request #${i} was not seen on both sides`);
  expect(sent.split('"model":"claude-native"')).toHaveLength(2);
  expect(got).toBe(sent.replace('"model":"claude-native"', '"model":"claude-sonnet-4-5"'));
}

/** The JSON body of Anthropic's `i`-th request. */
function bodyOf(fake: FakeAnthropic, i: number): Record<string, unknown> {
  const body = fake.requests[i]?.body;
  if (typeof body !== 'object' || body === null) throw new Error(`Anthropic got no request #${i}`);
  return body as Record<string, unknown>;
}

describe('the body as sent', () => {
  it('forwards the SDK’s bytes with only the model replaced: tools, key order and nested fields intact', async () => {
    const data = await sdk.messages.create({
      ...hello,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      tools: [WEATHER, LOOKUP],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      metadata: { user_id: 'user-7' },
      stop_sequences: ['END', '\n\nHuman:'],
    });
    expect(data.stop_reason).toBe('tool_use');
    expectForwardedAsSent();
  });

  it('forwards a streamed request’s bytes the same way', async () => {
    const stream = sdk.messages.stream({ ...hello, tools: [WEATHER], tool_choice: { type: 'none' } });
    await stream.finalMessage();
    expect(sdkBodies[0]).toContain('"stream":true');
    expectForwardedAsSent();
  });

  it('keeps whitespace, escapes and number spellings of a hand-written body', async () => {
    const text =
      '{\n  "max_tokens" : 1.0e2,\n  "model": "claude-native",\n  "messages": [ {"role":"user","content":"caf\\u00e9 \\/ ok"} ],\n  "temperature": 0.50\n}';
    const res = await raw(h.origin, '/v1/messages', { body: text, key: h.masterKey });
    expect(res.status).toBe(200);
    expect(claude.requests[0]?.raw).toBe(text.replace('"claude-native"', '"claude-sonnet-4-5"'));
    // The client sent no anthropic-version: the one version of the Messages API goes.
    expect(claude.requests[0]?.headers['anthropic-version']).toBe('2023-06-01');
  });
});

describe('answers', () => {
  it('answers messages.create with Anthropic’s message', async () => {
    const data = await sdk.messages.create(hello);
    expect(data).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'echo: hello claude' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 2, output_tokens: 3 },
    });
  });

  // Every answer, whole or streamed, carries Anthropic's `request-id` (= x-request-id): the SDK's `_request_id`
  // of a Message and `requestID` of an error thrown mid-stream name the request.
  it('names the request id as `request-id` on answers and on a mid-stream error', async () => {
    const { response, request_id } = await sdk.messages
      .create(hello, { headers: { 'x-request-id': 'req-native-ok' } })
      .withResponse();
    expect(response.headers.get('request-id')).toBe('req-native-ok');
    expect(request_id).toBe('req-native-ok');
    claude.enqueue({ errorAfterEvents: 5 });
    const stream = sdk.messages.stream(hello, { headers: { 'x-request-id': 'req-native-mid' } });
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect((err as InstanceType<typeof Anthropic.APIError>).requestID).toBe('req-native-mid');
  });

  it('streams with messages.stream: text deltas as they come and the finalMessage()', async () => {
    const stream = sdk.messages.stream(hello);
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const final = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('echo: hello claude');
    expect(final).toMatchObject({
      content: [{ type: 'text', text: 'echo: hello claude' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 2, output_tokens: 3 },
    });
  });
});

describe('tools', () => {
  it('answers a tool_use, then reads the tool_result turn', async () => {
    const first = await sdk.messages.create({ ...hello, tools: [WEATHER] });
    expect(first.stop_reason).toBe('tool_use');
    const call = first.content.find((b) => b.type === 'tool_use');
    expect(call).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { location: 'Paris' } });
    if (call?.type !== 'tool_use') throw new Error('no tool_use block');
    const second = await sdk.messages.create({
      ...hello,
      tools: [WEATHER],
      messages: [
        ...hello.messages,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '18C and sunny' }] },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'tool said: 18C and sunny' }]);
    expect(second.stop_reason).toBe('end_turn');
    expectForwardedAsSent(1);
  });

  it('streams a tool_use whose input arrives as input_json_delta', async () => {
    claude.enqueue({ toolInput: '{"location":"Lyon","unit":"c"}', chunkSize: 5 });
    const final = await sdk.messages.stream({ ...hello, tools: [WEATHER] }).finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([
      expect.objectContaining({
        type: 'tool_use',
        name: 'get_weather',
        input: { location: 'Lyon', unit: 'c' },
      }),
    ]);
  });

  it('passes each tool_choice form through, and Anthropic answers by it', async () => {
    const forms: [Anthropic.ToolChoice, string][] = [
      [{ type: 'auto' }, 'get_weather'],
      [{ type: 'any' }, 'get_weather'],
      [{ type: 'tool', name: 'lookup' }, 'lookup'],
      [{ type: 'none' }, 'text'],
    ];
    for (const [i, [toolChoice, expected]] of forms.entries()) {
      const data = await sdk.messages.create({ ...hello, tools: [WEATHER, LOOKUP], tool_choice: toolChoice });
      const block = data.content[0];
      expect(block?.type === 'tool_use' ? block.name : block?.type).toBe(expected);
      expect(bodyOf(claude, i).tool_choice).toEqual(toolChoice);
    }
  });
});

describe('cache usage', () => {
  const cached = {
    input_tokens: 10,
    cache_read_input_tokens: 30,
    cache_creation_input_tokens: 5,
    output_tokens: 7,
  };

  it('shows cache reads and writes in the Message and puts them in the ledger', async () => {
    claude.enqueue({ usage: cached });
    const { data, response } = await sdk.messages.create(hello).withResponse();
    expect(data.usage).toMatchObject(cached);
    const rec = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(rec).toMatchObject({
      inputTokens: 45,
      cachedInputTokens: 30,
      outputTokens: 7,
      usageSource: 'provider',
    });
  });

  it('reads them from a stream’s message_start and message_delta', async () => {
    claude.enqueue({ usage: cached });
    const stream = sdk.messages.stream(hello, { headers: { 'x-request-id': 'req-native-cache-stream' } });
    const final = await stream.finalMessage();
    expect(final.usage).toMatchObject(cached);
    const rec = await recordOf(h.gateway, 'req-native-cache-stream');
    expect(rec).toMatchObject({ inputTokens: 45, cachedInputTokens: 30, outputTokens: 7, stream: true });
  });
});

describe('a stream that fails', () => {
  /** The error the SDK's stream throws, and the text it delivered before. */
  async function failedStream(requestId: string): Promise<{ err: unknown; text: string }> {
    const stream = sdk.messages.stream(hello, { headers: { 'x-request-id': requestId } });
    let text = '';
    try {
      for await (const ev of stream) {
        if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
      }
    } catch (err) {
      return { err, text };
    }
    throw new Error('the stream did not fail');
  }

  it('throws the SDK’s APIError (Anthropic’s error type, the request id) on an error event after content', async () => {
    // message_start, content_block_start, ping, two text deltas — then `event: error`.
    claude.enqueue({ errorAfterEvents: 5, chunkSize: 4 });
    const { err, text } = await failedStream('req-native-mid-error');
    expect(text).toBe('echo: he');
    expect(err).toBeInstanceOf(Anthropic.APIError);
    const e = err as InstanceType<typeof Anthropic.APIError>;
    expect(e.type).toBe('api_error');
    expect(e.error).toMatchObject({
      type: 'error',
      error: { type: 'api_error' },
      request_id: 'req-native-mid-error',
    });
    expect(relay.requests).toHaveLength(0);
  });

  it('throws the SDK’s APIError when the connection drops after content', async () => {
    claude.enqueue({ cutAfterEvents: 5, chunkSize: 4 });
    const { err, text } = await failedStream('req-native-mid-cut');
    expect(text).toBe('echo: he');
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).type).toBe('api_error');
    expect(relay.requests).toHaveLength(0);
  });

  it('falls over to the next target on an overloaded_error before any content', async () => {
    claude.enqueue({ errorAfterEvents: 1 });
    const stream = sdk.messages.stream({ ...hello, model: 'claude-then-gpt' });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'echo: hello claude' }]);
    expect(types.filter((t) => t === 'message_start')).toHaveLength(1);
    expect(claude.requests).toHaveLength(1);
    expect(relay.requests).toHaveLength(1);
  });
});
