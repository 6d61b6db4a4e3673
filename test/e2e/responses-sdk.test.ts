/**
 * `client.responses.create` with the official openai SDK on every kind of target — native (the provider
 * serves `/v1/responses`), a chat-only relay, Anthropic and Gemini (translated through chat): the answer's
 * text, usage (input/output/cached/reasoning), status and `incomplete_details`, streamed (iteration and the
 * `responses.stream()` helper) and not, and the documented event sequence of a translated stream.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordOf } from '../support/ledger-helpers.ts';
import { bodyOf, type ResponsesRig, ROUTES, startResponsesRig } from '../support/responses-rig.ts';

type Event = OpenAI.Responses.ResponseStreamEvent;

let rig: ResponsesRig;
beforeAll(async () => {
  rig = await startResponsesRig();
});
afterAll(async () => rig.close());
beforeEach(() => rig.reset());

/** Every event of a streamed Response, in order. */
async function events(body: OpenAI.Responses.ResponseCreateParamsNonStreaming): Promise<Event[]> {
  const stream = await rig.h.client.responses.create({ ...body, stream: true });
  const out: Event[] = [];
  for await (const ev of stream) out.push(ev);
  return out;
}

/** The text of a Response's message items (what the SDK sums into output_text). */
function textOf(r: OpenAI.Responses.Response): string {
  return r.output
    .flatMap((item) => (item.type === 'message' ? item.content : []))
    .map((part) => (part.type === 'output_text' ? part.text : ''))
    .join('');
}

/** The same usage, as each upstream reports it: 20 input (6 of them cached), 9 output (4 of them reasoning). */
const USAGE = {
  native: () => rig.native.enqueue({ usage: USAGE_OPENAI }),
  relay: () => rig.relay.enqueue({ usage: USAGE_OPENAI }),
  // Anthropic's input_tokens leave out the cache reads; it reports no reasoning tokens of its own.
  claude: () =>
    rig.claude.enqueue({ usage: { input_tokens: 14, cache_read_input_tokens: 6, output_tokens: 9 } }),
  // Gemini's candidates leave out the thoughts.
  gemini: () => rig.gemini.enqueue({ usage: { prompt: 20, cached: 6, candidates: 5, thoughts: 4 } }),
} as const;
const USAGE_OPENAI = { prompt_tokens: 20, completion_tokens: 9, cached_tokens: 6, reasoning_tokens: 4 };
const REASONING = { native: 4, relay: 4, claude: 0, gemini: 4 } as const;

const TARGETS = ['native', 'relay', 'claude', 'gemini'] as const;

describe.each(TARGETS)('responses.create on the %s route', (target) => {
  const model = ROUTES[target];

  it('answers a Response with output_text, usage and status completed', async () => {
    USAGE[target]();
    const { data, response } = await rig.h.client.responses
      .create({ model, input: 'hello there', instructions: 'Be brief.' })
      .withResponse();
    expect(data.object).toBe('response');
    expect(data.status).toBe('completed');
    expect(data.incomplete_details).toBeNull();
    expect(data.output_text).toBe('echo: hello there');
    expect(data.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(data.usage).toEqual({
      input_tokens: 20,
      input_tokens_details: { cached_tokens: 6 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: REASONING[target] },
      total_tokens: 29,
    });
    expect(response.headers.get('x-switchyard-provider')).toBe(target);
    if (target !== 'native') expect(data.id).toMatch(/^resp_[0-9a-f]{32}$/);
    const rec = await recordOf(rig.h.gateway, response.headers.get('x-request-id') ?? '');
    expect(rec).toMatchObject({ inputTokens: 20, outputTokens: 9, status: 200 });
  });

  it('streams the text and ends with response.completed carrying the usage', async () => {
    USAGE[target]();
    const { data: stream, response } = await rig.h.client.responses
      .create({ model, input: 'stream to me', stream: true })
      .withResponse();
    const evs: Event[] = [];
    for await (const ev of stream) evs.push(ev);
    const text = evs.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('');
    expect(text).toBe('echo: stream to me');
    const last = evs.at(-1);
    expect(last?.type).toBe('response.completed');
    if (last?.type !== 'response.completed') return;
    expect(last.response.status).toBe('completed');
    // output_text is the SDK's sum of the message items (OpenAI's own events do not carry it).
    expect(textOf(last.response)).toBe('echo: stream to me');
    expect(last.response.usage).toMatchObject({
      input_tokens: 20,
      input_tokens_details: { cached_tokens: 6 },
      output_tokens: 9,
      output_tokens_details: { reasoning_tokens: REASONING[target] },
    });
    // Numbered from 0, one by one, as OpenAI numbers them.
    expect(evs.map((e) => e.sequence_number)).toEqual(evs.map((_, i) => i));
    const rec = await recordOf(rig.h.gateway, response.headers.get('x-request-id') ?? '');
    expect(rec).toMatchObject({
      inputTokens: 20,
      outputTokens: 9,
      cachedInputTokens: 6,
      stream: true,
      status: 200,
    });
    expect(rec.upstreamId).not.toBeNull();
  });

  it('gives the final Response through the responses.stream() helper', async () => {
    const stream = rig.h.client.responses.stream({ model, input: 'helper please' });
    let deltas = '';
    stream.on('response.output_text.delta', (e) => {
      deltas += e.delta;
    });
    const final = await stream.finalResponse();
    expect(deltas).toBe('echo: helper please');
    expect(final.status).toBe('completed');
    expect(final.output_text).toBe('echo: helper please');
    expect(final.usage?.input_tokens).toBeGreaterThan(0);
  });
});

describe('a translated Response echoes the request', () => {
  it('as OpenAI does: metadata, instructions, max_output_tokens, temperature, tools (metadata not sent on)', async () => {
    const data = await rig.h.client.responses.create({
      model: ROUTES.relay,
      input: 'echo my fields',
      instructions: 'Be brief.',
      metadata: { ticket: 'T-1' },
      max_output_tokens: 50,
      temperature: 0.4,
      tools: [WEATHER],
      tool_choice: 'none',
    });
    expect(data).toMatchObject({
      metadata: { ticket: 'T-1' },
      instructions: 'Be brief.',
      max_output_tokens: 50,
      temperature: 0.4,
      tool_choice: 'none',
      tools: [WEATHER],
      store: true,
      previous_response_id: null,
    });
    expect(bodyOf(rig.relay).metadata).toBeUndefined();
  });
});

describe('image input, translated', () => {
  const PIXEL =
    'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
  const input: OpenAI.Responses.ResponseInput = [
    {
      role: 'user',
      content: [
        { type: 'input_text', text: 'what is this?' },
        { type: 'input_image', image_url: PIXEL, detail: 'low' },
      ],
    },
  ];

  it('reaches a chat relay as an image_url part and Anthropic as an image block', async () => {
    await rig.h.client.responses.create({ model: ROUTES.relay, input });
    expect(bodyOf(rig.relay).messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: PIXEL, detail: 'low' } },
        ],
      },
    ]);
    await rig.h.client.responses.create({ model: ROUTES.claude, input });
    const claudeMessages = bodyOf(rig.claude).messages as { content: { type: string; source?: unknown }[] }[];
    expect(claudeMessages[0]?.content.map((b) => b.type)).toEqual(['text', 'image']);
    expect(claudeMessages[0]?.content[1]?.source).toMatchObject({ type: 'base64', media_type: 'image/png' });
  });
});

describe('an answer cut by max_output_tokens', () => {
  it('is status incomplete with incomplete_details.reason max_output_tokens (Anthropic max_tokens)', async () => {
    rig.claude.enqueue({ stopReason: 'max_tokens', content: 'half an ans' });
    const data = await rig.h.client.responses.create({
      model: ROUTES.claude,
      input: 'write a lot',
      max_output_tokens: 4,
    });
    expect(data.status).toBe('incomplete');
    expect(data.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(data.max_output_tokens).toBe(4);
    expect(data.output_text).toBe('half an ans');
    expect(rig.claude.requests[0]?.body).toMatchObject({ max_tokens: 4 });
  });

  it('ends the stream with response.incomplete (Gemini MAX_TOKENS)', async () => {
    rig.gemini.enqueue({ finishReason: 'MAX_TOKENS', content: 'cut short' });
    const evs = await events({ model: ROUTES.gemini, input: 'write a lot', max_output_tokens: 3 });
    const last = evs.at(-1);
    expect(last?.type).toBe('response.incomplete');
    if (last?.type !== 'response.incomplete') return;
    expect(last.response.status).toBe('incomplete');
    expect(last.response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(last.response.output_text).toBe('cut short');
  });
});

describe('the event sequence of a translated stream', () => {
  it('is the documented one for a text answer, items and parts named consistently', async () => {
    rig.relay.enqueue({ chunkSize: 4 });
    const evs = await events({ model: ROUTES.relay, input: 'order please' });
    const types = evs.map((e) => e.type);
    const deltas = types.filter((t) => t === 'response.output_text.delta').length;
    expect(deltas).toBeGreaterThan(1);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array<string>(deltas).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const created = evs[0];
    const added = evs[2];
    const done = evs.at(-2);
    if (created?.type !== 'response.created') throw new Error('no response.created');
    if (added?.type !== 'response.output_item.added') throw new Error('no output_item.added');
    if (done?.type !== 'response.output_item.done') throw new Error('no output_item.done');
    expect(created.response.status).toBe('in_progress');
    expect(added.item).toMatchObject({ type: 'message', status: 'in_progress', content: [] });
    expect(done.item).toMatchObject({ id: added.item.id, status: 'completed' });
    for (const e of evs) {
      if (e.type === 'response.output_text.delta' || e.type === 'response.output_text.done') {
        expect(e).toMatchObject({ item_id: added.item.id, output_index: 0, content_index: 0 });
      }
    }
    const textDone = evs.find((e) => e.type === 'response.output_text.done');
    expect(textDone).toMatchObject({ text: 'echo: order please' });
  });

  it('is the documented one for a function call', async () => {
    rig.claude.enqueue({ chunkSize: 5 });
    const evs = await events({
      model: ROUTES.claude,
      input: 'weather in Paris?',
      tools: [WEATHER],
    });
    const types = evs.map((e) => e.type);
    const deltas = types.filter((t) => t === 'response.function_call_arguments.delta').length;
    expect(deltas).toBeGreaterThan(0);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      ...Array<string>(deltas).fill('response.function_call_arguments.delta'),
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const added = evs[2];
    if (added?.type !== 'response.output_item.added') throw new Error('no output_item.added');
    expect(added.item).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'in_progress' });
    const args = evs
      .flatMap((e) => (e.type === 'response.function_call_arguments.delta' ? [e.delta] : []))
      .join('');
    expect(JSON.parse(args)).toEqual({ location: 'Paris' });
    expect(evs.find((e) => e.type === 'response.function_call_arguments.done')).toMatchObject({
      item_id: added.item.id,
      arguments: args,
    });
  });

  it('is relayed event for event from a native provider', async () => {
    const evs = await events({ model: ROUTES.native, input: 'native order' });
    expect(evs.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      // The fake sends 8 characters a delta: 'echo: native order' is three.
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });
});

const WEATHER: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'The weather at a place',
  parameters: {
    type: 'object',
    properties: { location: { type: 'string' } },
    required: ['location'],
    additionalProperties: false,
  },
  strict: true,
};
