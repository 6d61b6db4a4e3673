/**
 * `/v1/responses` when things go wrong, with the official openai SDK: a stream cut mid-way (response.failed,
 * then the error event the SDK raises), an upstream's refusal passed on, built-in tools on a route that cannot
 * run them, fallback from a native target to a translated one (the answer in the Responses shape either way,
 * the ledger's usage and upstream id), and budgets reserved with `max_output_tokens`.
 */
import OpenAI, { type APIError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { route } from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';
import { bodyOf, type ResponsesRig, ROUTES, startResponsesRig } from '../support/responses-rig.ts';

type Event = OpenAI.Responses.ResponseStreamEvent;

let rig: ResponsesRig;
beforeAll(async () => {
  rig = await startResponsesRig({
    routes: {
      'native-first': route([
        { provider: 'native', model: 'gpt-4o' },
        { provider: 'relay', model: 'openai/gpt-4o' },
      ]),
      'relay-first': route([
        { provider: 'relay', model: 'openai/gpt-4o' },
        { provider: 'native', model: 'gpt-4o' },
      ]),
      'native-then-claude': route([
        { provider: 'native', model: 'gpt-4o' },
        { provider: 'claude', model: 'claude-sonnet-4-5' },
      ]),
      'metered-relay': route([{ provider: 'relay', model: 'priced' }]),
      'metered-native': route([{ provider: 'native', model: 'priced' }]),
      'metered-input': route([{ provider: 'relay', model: 'input-priced' }]),
    },
    // $1 per 1M input tokens, $1,000 per 1M output tokens: each output token the reservation holds is $0.001.
    prices: {
      'relay/priced': { input: 1, output: 1000 },
      'native/priced': { input: 1, output: 1000 },
      // Each input token $0.001, output free.
      'relay/input-priced': { input: 1000, output: 0 },
    },
  });
});
afterAll(async () => rig.close());
beforeEach(() => rig.reset());

/** The events a stream delivered before it ended, and what it threw (undefined when it ended cleanly). */
async function drain(body: OpenAI.Responses.ResponseCreateParamsNonStreaming) {
  const stream = await rig.h.client.responses.create({ ...body, stream: true });
  const events: Event[] = [];
  const error = await (async () => {
    for await (const e of stream) events.push(e);
  })().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { events, error, types: events.map((e) => e.type) };
}

describe('a stream cut mid-way', () => {
  it.each([
    ['the chat-only relay', ROUTES.relay, () => rig.relay.enqueue({ cutAfterChunks: 3, chunkSize: 4 })],
    ['a native provider', ROUTES.native, () => rig.native.enqueue({ cutAfterChunks: 5, chunkSize: 4 })],
    ['Anthropic', ROUTES.claude, () => rig.claude.enqueue({ cutAfterEvents: 5, chunkSize: 4 })],
  ])('from %s ends with response.failed, then the error event the SDK throws', async (_, model, cut) => {
    cut();
    const { events, error, types } = await drain({ model, input: 'a long answer please' });
    expect(types[0]).toBe('response.created');
    expect(types).toContain('response.output_text.delta');
    expect(types).not.toContain('response.completed');
    expect(types.at(-1)).toBe('response.failed');
    const failed = events.at(-1);
    if (failed?.type !== 'response.failed') throw new Error('no response.failed');
    expect(failed.response.status).toBe('failed');
    expect(failed.response.error?.message.length).toBeGreaterThan(0);
    // The SDK raises the `error` event that follows as an APIError.
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as APIError).message).toMatch(/\S/);
  });

  it('rejects finalResponse() of the responses.stream() helper', async () => {
    rig.relay.enqueue({ cutAfterChunks: 3 });
    const stream = rig.h.client.responses.stream({ model: ROUTES.relay, input: 'cut me' });
    await expect(stream.finalResponse()).rejects.toBeInstanceOf(OpenAI.APIError);
  });
});

describe('an upstream refusal', () => {
  it('passes a native provider’s 400 message and code to the client', async () => {
    const message =
      "This model's maximum context length is 128000 tokens. However, you requested 130000 tokens.";
    rig.native.enqueue({ status: 400, errorCode: 'context_length_exceeded', errorMessage: message });
    const err = await rig.h.client.responses.create({ model: ROUTES.native, input: 'too long' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, code: 'context_length_exceeded' });
    expect((err as APIError).message).toContain(message);
  });
});

describe('a built-in tool', () => {
  const tools: OpenAI.Responses.Tool[] = [{ type: 'web_search' }];

  it('is refused with 400 unsupported_parameter naming tools[0].type on a route with only a chat-only relay', async () => {
    const err = await rig.h.client.responses.create({ model: ROUTES.relay, input: 'news?', tools }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'tools[0].type' });
    expect(rig.relay.requests).toHaveLength(0);
  });

  it.each(['native-first', 'relay-first'])('is forwarded to the native target of %s', async (model) => {
    const data = await rig.h.client.responses.create({ model, input: 'news?', tools });
    expect(data.output_text).toBe('echo: news?');
    expect(bodyOf(rig.native).tools).toEqual([{ type: 'web_search' }]);
    expect(rig.relay.requests).toHaveLength(0);
  });
});

describe('fallback from a native target to a translated one', () => {
  it.each([500, 429])(
    'answers in the Responses shape when the native target fails with %i',
    async (status) => {
      rig.native.enqueue({ status });
      rig.relay.enqueue({ usage: { prompt_tokens: 11, completion_tokens: 3 } });
      const { data, response } = await rig.h.client.responses
        .create({ model: 'native-first', input: 'fall over' })
        .withResponse();
      expect(response.headers.get('x-switchyard-provider')).toBe('relay');
      expect(data).toMatchObject({ object: 'response', status: 'completed', output_text: 'echo: fall over' });
      expect(data.id).toMatch(/^resp_[0-9a-f]{32}$/);
      expect(data.usage).toMatchObject({ input_tokens: 11, output_tokens: 3 });
      const rec = await recordOf(rig.h.gateway, response.headers.get('x-request-id') ?? '');
      expect(rec).toMatchObject({
        provider: 'relay',
        inputTokens: 11,
        outputTokens: 3,
        attempts: 2,
        status: 200,
      });
      expect(rec.upstreamId).toMatch(/^chatcmpl-/);
      // The answer was stored: the client can continue it.
      expect((await rig.h.client.responses.retrieve(data.id)).output_text).toBe('echo: fall over');
    },
  );

  it('streams the translated events when the native target fails before its stream starts', async () => {
    rig.native.enqueue({ status: 503 });
    const { types, error, events } = await drain({
      model: 'native-then-claude',
      input: 'fall over streamed',
    });
    expect(error).toBeUndefined();
    expect(types.slice(0, 2)).toEqual(['response.created', 'response.in_progress']);
    const last = events.at(-1);
    if (last?.type !== 'response.completed') throw new Error(`ended with ${String(last?.type)}`);
    expect(last.response.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(last.response.output_text).toBe('echo: fall over streamed');
    expect(rig.claude.requests).toHaveLength(1);
  });

  it('continues a native conversation on the translated target when the native one fails mid-conversation', async () => {
    const first = await rig.h.client.responses.create({ model: 'native-first', input: 'remember 42' });
    rig.native.enqueue({ status: 500 });
    const second = await rig.h.client.responses.create({
      model: 'native-first',
      input: 'what number?',
      previous_response_id: first.id,
    });
    expect(second.output_text).toBe('echo: what number?');
    const messages = JSON.stringify(bodyOf(rig.relay).messages);
    expect(messages).toContain('remember 42');
    expect(messages).toContain('echo: remember 42');
    // The provider that kept the conversation was asked first, as the client sent the request.
    expect(bodyOf(rig.native, 1).previous_response_id).toBe(first.id);
  });
});

describe('budgets', () => {
  it.each([
    ['translated', 'metered-relay', () => rig.relay.requests.length],
    ['native', 'metered-native', () => rig.native.requests.length],
  ])(
    'refuses (402) a %s request whose max_output_tokens × price is more than the key has left',
    async (_, model, upstreamCalls) => {
      const { key } = await rig.clientKey(`budget-${model}`, 1);
      const client = rig.h.clientWithKey(key);
      // 2,000 output tokens at $0.001 are $2: more than the $1 budget, whatever the answer would have cost.
      await expect(
        client.responses.create({ model, input: 'hi', max_output_tokens: 2000 }),
      ).rejects.toMatchObject({ status: 402, code: 'budget_exceeded' });
      expect(upstreamCalls()).toBe(0);
      // 500 of them ($0.50) fit.
      const ok = await client.responses.create({ model, input: 'hi', max_output_tokens: 500 });
      expect(ok.output_text).toBe('echo: hi');
      expect(upstreamCalls()).toBe(1);
    },
  );

  it('counts the items a request references (item_reference) in its reservation', async () => {
    const { key } = await rig.clientKey('budget-references', 1);
    const client = rig.h.clientWithKey(key);
    // A long answer, free to make (output costs nothing here)…
    rig.relay.enqueue({ content: Array<string>(3000).fill('word').join(' ') });
    const first = await client.responses.create({ model: 'metered-input', input: 'say a lot' });
    const item = first.output[0];
    if (item?.type !== 'message') throw new Error('no message item');
    // …is 3,000 input tokens ($3) when a request sends it back by reference: more than the $1 budget.
    await expect(
      client.responses.create({
        model: 'metered-input',
        input: [
          { type: 'item_reference', id: item.id },
          { role: 'user', content: 'go on' },
        ],
        max_output_tokens: 16,
      }),
    ).rejects.toMatchObject({ status: 402, code: 'budget_exceeded' });
    expect(rig.relay.requests).toHaveLength(1);
  });

  it('counts the earlier conversation (its stored usage × 1.5) when a request continues it', async () => {
    const { key } = await rig.clientKey('budget-previous', 1);
    const client = rig.h.clientWithKey(key);
    // A long answer, free to make: 1,000 output tokens, as the upstream reports them…
    rig.relay.enqueue({ usage: { prompt_tokens: 2, completion_tokens: 1000 } });
    const long = await client.responses.create({ model: 'metered-input', input: 'say a lot' });
    // …is input the next turn pays for: (2 + 1,000) × 1.5 tokens at $0.001 is over $1.50.
    await expect(
      client.responses.create({ model: 'metered-input', input: 'go on', previous_response_id: long.id }),
    ).rejects.toMatchObject({ status: 402, code: 'budget_exceeded' });
    // A short earlier turn fits.
    rig.relay.enqueue({ usage: { prompt_tokens: 2, completion_tokens: 3 } });
    const short = await client.responses.create({ model: 'metered-input', input: 'say little' });
    const next = await client.responses.create({
      model: 'metered-input',
      input: 'go on',
      previous_response_id: short.id,
      max_output_tokens: 16,
    });
    expect(next.output_text).toBe('echo: go on');
    expect(rig.relay.requests).toHaveLength(3);
  });
});
