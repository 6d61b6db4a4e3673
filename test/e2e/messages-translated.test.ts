/**
 * `/v1/messages` translated to targets that do not speak it — an OpenAI relay (chat) and Gemini — end to end
 * with the official `@anthropic-ai/sdk`: `messages.create` and `messages.stream` answers, tool_use and
 * tool_result turns, every `tool_choice` form as the target's own, the stop_reason table (end_turn,
 * max_tokens, tool_use, stop_sequence), whole and streamed, and cached input in the Message and the ledger.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeGemini, startGeminiFake } from '../support/fake-gemini.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { type Harness, route, startHarness, upstreamBody } from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';

let relay: FakeOpenAI;
let gemini: FakeGemini;
let h: Harness<never>;
let sdk: Anthropic;

beforeAll(async () => {
  relay = await startFakeOpenAI();
  gemini = await startGeminiFake();
  h = await startHarness({
    config: () => ({
      providers: {
        relay: { type: 'openai', baseUrls: [relay.url] },
        gemini: { type: 'gemini', baseUrls: [gemini.url] },
      },
      routes: {
        'gpt-translated': route([{ provider: 'relay', model: 'gpt-4o' }]),
        'gemini-translated': route([{ provider: 'gemini', model: 'gemini-2.5-flash' }]),
      },
    }),
    providerKeys: { relay: 'rk-t', gemini: 'gk-t' },
  });
  sdk = new Anthropic({ baseURL: h.origin, apiKey: h.masterKey, maxRetries: 0 });
});
afterAll(async () => {
  await h.close();
  await relay.close();
  await gemini.close();
});
beforeEach(() => {
  h.reset();
  relay.reset();
  gemini.reset();
});

const WEATHER: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather in a city',
  input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
};
const LOOKUP: Anthropic.Tool = {
  name: 'lookup',
  input_schema: { type: 'object', properties: { query: { type: 'string' } } },
};

const ask = (model: string): Anthropic.MessageCreateParamsNonStreaming => ({
  model,
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hello there' }],
});

/** A relay's 200 stream: these text deltas, then `data: {"error": …}` (as relays report a failure). */
function erroredChatStream(parts: string[]) {
  const chunk = (delta: unknown) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-err', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
  const error = { message: 'upstream overloaded', type: 'server_error', code: null };
  const body = [chunk({ role: 'assistant', content: '' }), ...parts.map((p) => chunk({ content: p }))].join(
    '',
  );
  return {
    raw: {
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      body: `${body}data: ${JSON.stringify({ error })}\n\n`,
    },
  };
}

const TARGETS = [
  {
    name: 'an OpenAI relay',
    model: 'gpt-translated',
    calls: () => relay.requests.length,
    // The role chunk, then two text chunks of four characters, then the connection drops.
    cutAfterContent: () => relay.enqueue({ chunkSize: 4, cutAfterChunks: 3 }),
    failAfterContent: () => relay.enqueue(erroredChatStream(['echo', ': he'])),
  },
  {
    name: 'Gemini',
    model: 'gemini-translated',
    calls: () => gemini.requests.length,
    cutAfterContent: () => gemini.enqueue({ chunkSize: 4, cutAfterEvents: 2 }),
    failAfterContent: () => gemini.enqueue({ chunkSize: 4, errorAfterEvents: 2 }),
  },
] as const;

describe.each(TARGETS)('translated to $name', ({ model, calls }) => {
  it('answers messages.create with a Message', async () => {
    const data = await sdk.messages.create({ ...ask(model), system: 'Be brief.' });
    expect(data).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'echo: hello there' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
    });
    expect(data.id).toMatch(/^msg_/);
    expect(data.usage.input_tokens).toBeGreaterThan(0);
    expect(data.usage.output_tokens).toBe(3);
    expect(calls()).toBe(1);
  });

  it('streams with messages.stream: text deltas and the finalMessage()', async () => {
    const stream = sdk.messages.stream(ask(model));
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const final = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('echo: hello there');
    expect(final).toMatchObject({
      content: [{ type: 'text', text: 'echo: hello there' }],
      stop_reason: 'end_turn',
    });
    expect(final.usage.output_tokens).toBe(3);
  });

  it('answers a tool_use, then reads the tool_result turn (whole and streamed)', async () => {
    const first = await sdk.messages.create({ ...ask(model), tools: [WEATHER] });
    expect(first.stop_reason).toBe('tool_use');
    const call = first.content.find((b) => b.type === 'tool_use');
    expect(call).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { location: 'Paris' } });
    if (call?.type !== 'tool_use') throw new Error('no tool_use block');
    const turn: Anthropic.MessageCreateParamsNonStreaming = {
      ...ask(model),
      tools: [WEATHER],
      messages: [
        ...ask(model).messages,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'sunny' }] },
      ],
    };
    const second = await sdk.messages.create(turn);
    expect(second.content).toEqual([{ type: 'text', text: 'tool said: sunny' }]);
    expect(second.stop_reason).toBe('end_turn');
    const streamed = await sdk.messages.stream(turn).finalMessage();
    expect(streamed.content).toEqual([{ type: 'text', text: 'tool said: sunny' }]);
  });

  it('streams a tool_use whose input arrives as input_json_delta', async () => {
    const stream = sdk.messages.stream({ ...ask(model), tools: [WEATHER] });
    const json: string[] = [];
    stream.on('inputJson', (partial) => json.push(partial));
    const final = await stream.finalMessage();
    expect(json.join('')).toBe('{"location":"Paris"}');
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([
      expect.objectContaining({ type: 'tool_use', name: 'get_weather', input: { location: 'Paris' } }),
    ]);
  });
});

describe.each(TARGETS)('a translated stream from $name that fails after content', (t) => {
  it.each([
    ['is cut', t.cutAfterContent],
    ['sends an error', t.failAfterContent],
  ])('throws the SDK’s APIError when the upstream %s', async (_, fault) => {
    fault();
    const stream = sdk.messages.stream(ask(t.model), { headers: { 'x-request-id': 'req-tr-mid' } });
    let text = '';
    stream.on('text', (d) => {
      text += d;
    });
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(text).toBe('echo: he');
    expect(err).toBeInstanceOf(Anthropic.APIError);
    const e = err as InstanceType<typeof Anthropic.APIError>;
    expect(e.type).toBe('api_error');
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'api_error' }, request_id: 'req-tr-mid' });
  });
});

describe('tool_choice', () => {
  const FORMS: [Anthropic.ToolChoice, string][] = [
    [{ type: 'auto' }, 'get_weather'],
    [{ type: 'any' }, 'get_weather'],
    [{ type: 'tool', name: 'lookup' }, 'lookup'],
    [{ type: 'none' }, 'text'],
  ];
  const kindOf = (m: Anthropic.Message) => {
    const b = m.content[0];
    return b?.type === 'tool_use' ? b.name : b?.type;
  };

  it('is chat’s tool_choice on an OpenAI relay, and parallel_tool_calls when disabled', async () => {
    const chat = ['auto', 'required', { type: 'function', function: { name: 'lookup' } }, 'none'];
    for (const [i, [toolChoice, expected]] of FORMS.entries()) {
      const data = await sdk.messages.create({
        ...ask('gpt-translated'),
        tools: [WEATHER, LOOKUP],
        tool_choice: {
          ...toolChoice,
          ...(toolChoice.type === 'none' ? {} : { disable_parallel_tool_use: true }),
        },
      });
      expect(kindOf(data)).toBe(expected);
      const sent = upstreamBody(relay, i);
      expect(sent.tool_choice).toEqual(chat[i]);
      expect(sent.parallel_tool_calls).toBe(toolChoice.type === 'none' ? undefined : false);
    }
  });

  it('is Gemini’s functionCallingConfig', async () => {
    const config = [
      { mode: 'AUTO' },
      { mode: 'ANY' },
      { mode: 'ANY', allowedFunctionNames: ['lookup'] },
      { mode: 'NONE' },
    ];
    for (const [i, [toolChoice, expected]] of FORMS.entries()) {
      const data = await sdk.messages.create({
        ...ask('gemini-translated'),
        tools: [WEATHER, LOOKUP],
        tool_choice: toolChoice,
      });
      expect(kindOf(data)).toBe(expected);
      const sent = gemini.requests[i]?.body as { toolConfig?: { functionCallingConfig?: unknown } };
      expect(sent.toolConfig?.functionCallingConfig).toEqual(config[i]);
    }
  });
});

/** A chat answer as a relay writes it, whole or as SSE, with this finish (and vLLM's matched `stop_reason`). */
function chatAnswer(finish: string, stream: boolean, matched?: string) {
  const tool = finish === 'tool_calls';
  const call = {
    index: 0,
    id: 'call_1',
    type: 'function',
    function: { name: 'get_weather', arguments: '{}' },
  };
  const head = { id: 'chatcmpl-raw', created: 1_760_000_000, model: 'gpt-4o' };
  const end = { finish_reason: finish, ...(matched === undefined ? {} : { stop_reason: matched }) };
  const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };
  if (!stream) {
    const message = {
      role: 'assistant',
      content: tool ? null : 'partial',
      ...(tool ? { tool_calls: [call] } : {}),
    };
    const body = { ...head, object: 'chat.completion', choices: [{ index: 0, message, ...end }], usage };
    return {
      raw: { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
    };
  }
  const chunk = (choices: unknown[], extra = {}) =>
    `data: ${JSON.stringify({ ...head, object: 'chat.completion.chunk', choices, ...extra })}\n\n`;
  const delta = tool ? { tool_calls: [call] } : { content: 'partial' };
  const body = [
    chunk([{ index: 0, delta: { role: 'assistant', content: tool ? null : '' }, finish_reason: null }]),
    chunk([{ index: 0, delta, finish_reason: null }]),
    chunk([{ index: 0, delta: {}, ...end }]),
    chunk([], { usage }),
    'data: [DONE]\n\n',
  ].join('');
  return { raw: { status: 200, headers: { 'content-type': 'text/event-stream' }, body } };
}

describe('stop_reason', () => {
  const ROWS: [string, string | undefined, string, string | null][] = [
    ['stop', undefined, 'end_turn', null],
    ['length', undefined, 'max_tokens', null],
    ['tool_calls', undefined, 'tool_use', null],
    ['stop', 'END', 'stop_sequence', 'END'],
    // A matched string the client did not ask for says nothing: the turn ended.
    ['stop', '</s>', 'end_turn', null],
    ['content_filter', undefined, 'refusal', null],
  ];

  it.each(ROWS)(
    'chat finish %s (matched %s) is %s, whole and streamed',
    async (finish, matched, reason, seq) => {
      const req = { ...ask('gpt-translated'), tools: [WEATHER], stop_sequences: ['END'] };
      relay.enqueue(chatAnswer(finish, false, matched), chatAnswer(finish, true, matched));
      const whole = await sdk.messages.create(req);
      expect({ stop_reason: whole.stop_reason, stop_sequence: whole.stop_sequence }).toEqual({
        stop_reason: reason,
        stop_sequence: seq,
      });
      const streamed = await sdk.messages.stream(req).finalMessage();
      expect({ stop_reason: streamed.stop_reason, stop_sequence: streamed.stop_sequence }).toEqual({
        stop_reason: reason,
        stop_sequence: seq,
      });
      expect(upstreamBody(relay).stop).toEqual(['END']);
    },
  );

  it('is max_tokens when Gemini stops at MAX_TOKENS, whole and streamed', async () => {
    gemini.enqueue({ finishReason: 'MAX_TOKENS' }, { finishReason: 'MAX_TOKENS' });
    const whole = await sdk.messages.create(ask('gemini-translated'));
    expect(whole.stop_reason).toBe('max_tokens');
    const streamed = await sdk.messages.stream(ask('gemini-translated')).finalMessage();
    expect(streamed.stop_reason).toBe('max_tokens');
  });
});

describe('cached input', () => {
  const cachedUsage = { prompt_tokens: 50, completion_tokens: 5, cached_tokens: 30 };
  const message = {
    input_tokens: 20,
    cache_read_input_tokens: 30,
    cache_creation_input_tokens: 0,
    output_tokens: 5,
  };

  it('shows a relay’s cached tokens as cache reads, and the ledger counts them', async () => {
    relay.enqueue({ usage: cachedUsage }, { usage: cachedUsage });
    const { data, response } = await sdk.messages.create(ask('gpt-translated')).withResponse();
    expect(data.usage).toMatchObject(message);
    const whole = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(whole).toMatchObject({ inputTokens: 50, cachedInputTokens: 30, outputTokens: 5 });
    const stream = sdk.messages.stream(ask('gpt-translated'), {
      headers: { 'x-request-id': 'req-tr-cache' },
    });
    expect((await stream.finalMessage()).usage).toMatchObject(message);
    const streamed = await recordOf(h.gateway, 'req-tr-cache');
    expect(streamed).toMatchObject({ inputTokens: 50, cachedInputTokens: 30, outputTokens: 5 });
  });
});
