/**
 * The usage ledger end to end: the official openai SDK → the local gateway → a fake OpenAI upstream on
 * loopback, and the records read back from dynalite. Tokens must equal what the upstream reported; without
 * upstream usage they are estimated and flagged, never a silent 0.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FAST_RETRY,
  type Harness,
  openaiProvider,
  route,
  startHarness,
  upstreamBody,
} from '../support/gateway-harness.ts';
import { ledgerRecords, recordOf, today } from '../support/ledger-helpers.ts';

let h: Harness<'a'>;
type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
  { role: 'user', content: 'what is the weather like in Paris today?' },
];
// USD per 1M tokens: 1,000 input tokens cost $0.001, 1,000 output $0.002, 1,000 cached $0.0005.
const PRICE = { input: 1, output: 2, cachedInput: 0.5, version: 'p-2026-11' };

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {} },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url) },
      routes: {
        priced: route([{ provider: 'a', model: 'up-priced' }], { retry: FAST_RETRY }),
        free: route([{ provider: 'a', model: 'up-free' }]),
        embed: route([{ provider: 'a', model: 'up-embed' }]),
      },
      prices: { 'a/up-priced': PRICE, 'a/up-embed': { input: 0.1, output: 0 } },
    }),
  });
});
afterAll(async () => h.close());
beforeEach(() => h.reset());

async function streamed(params: Partial<OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming>) {
  const { data, response } = await h.client.chat.completions
    .create({ model: 'priced', messages, stream: true, ...params })
    .withResponse();
  const chunks: Chunk[] = [];
  for await (const c of data) chunks.push(c);
  return { chunks, requestId: response.headers.get('x-request-id') ?? '' };
}

describe('ledger records (provider usage)', () => {
  it('records a non-stream answer with the upstream tokens, its cost, and the cost on the response', async () => {
    h.fakes.a.enqueue({ usage: { prompt_tokens: 1000, completion_tokens: 500, cached_tokens: 200 } });
    const { data, response } = await h.client.chat.completions
      .create({ model: 'priced', messages })
      .withResponse();
    // 800 × $1 + 200 × $0.5 + 500 × $2, per 1M
    expect(response.headers.get('x-switchyard-cost-usd')).toBe('0.0019');
    expect((data.usage as unknown as { cost: number }).cost).toBe(0.0019);
    const r = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(Object.keys(r).sort()).toEqual(
      [
        'requestId',
        'recordId',
        'time',
        'keyId',
        'endpoint',
        'route',
        'provider',
        'model',
        'status',
        'errorCode',
        'inputTokens',
        'outputTokens',
        'cachedInputTokens',
        'cacheWriteTokens',
        'reasoningTokens',
        'costUsd',
        'priceVersion',
        'latencyMs',
        'ttftMs',
        'attempts',
        'stream',
        'usageSource',
        'upstreamId',
      ].sort(),
    );
    expect(r).toMatchObject({
      keyId: 'master',
      endpoint: 'chat',
      route: 'priced',
      provider: 'a',
      model: 'up-priced',
      status: 200,
      errorCode: null,
      inputTokens: 1000,
      outputTokens: 500,
      cachedInputTokens: 200,
      cacheWriteTokens: 0,
      costUsd: 0.0019,
      priceVersion: 'p-2026-11',
      attempts: 1,
      stream: false,
      usageSource: 'provider',
      upstreamId: data.id,
    });
  });

  it('records a stream the client asked usage for, and adds the cost to the usage chunk it gets', async () => {
    h.fakes.a.enqueue({ usage: { prompt_tokens: 40, completion_tokens: 12, reasoning_tokens: 5 } });
    const { chunks, requestId } = await streamed({ stream_options: { include_usage: true } });
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 12, cost: 0.000064 });
    const r = await recordOf(h.gateway, requestId);
    expect(r).toMatchObject({ inputTokens: 40, outputTokens: 12, reasoningTokens: 5, stream: true });
    expect(r).toMatchObject({ costUsd: 0.000064, usageSource: 'provider', upstreamId: chunks[0]?.id });
    expect(r.ttftMs).toBeGreaterThan(0);
  });

  it('asks a stream for usage the client did not ask for, records it, and does not forward it', async () => {
    h.fakes.a.enqueue({ usage: { prompt_tokens: 33, completion_tokens: 9 } });
    const { chunks, requestId } = await streamed({});
    expect(upstreamBody(h.fakes.a, 0).stream_options).toEqual({ include_usage: true });
    expect(chunks.every((c) => c.choices.length > 0 && (c.usage === undefined || c.usage === null))).toBe(
      true,
    );
    expect(await recordOf(h.gateway, requestId)).toMatchObject({
      inputTokens: 33,
      outputTokens: 9,
      usageSource: 'provider',
    });
  });

  it('records a streamed tool call with the upstream tokens', async () => {
    h.fakes.a.enqueue({
      toolArguments: '{"location":"Paris","unit":"celsius"}',
      usage: { prompt_tokens: 80, completion_tokens: 21 },
    });
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } },
    ];
    const { chunks, requestId } = await streamed({ tools });
    const args = chunks.map((c) => c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? '').join('');
    expect(args).toBe('{"location":"Paris","unit":"celsius"}');
    expect(await recordOf(h.gateway, requestId)).toMatchObject({ inputTokens: 80, outputTokens: 21 });
  });

  it('records embeddings with their input tokens and price', async () => {
    h.fakes.a.enqueue({ usage: { prompt_tokens: 2000, completion_tokens: 0 } });
    const { response } = await h.client.embeddings
      .create({ model: 'embed', input: ['one', 'two'] })
      .withResponse();
    expect(await recordOf(h.gateway, response.headers.get('x-request-id') ?? '')).toMatchObject({
      endpoint: 'embeddings',
      route: 'embed',
      inputTokens: 2000,
      outputTokens: 0,
      costUsd: 0.0002,
      usageSource: 'provider',
    });
  });

  it('records a route without a price with cost null (never 0), no cost header, and counts it unpriced', async () => {
    h.fakes.a.enqueue({ usage: { prompt_tokens: 10, completion_tokens: 2 } });
    const { response } = await h.client.chat.completions.create({ model: 'free', messages }).withResponse();
    expect(response.headers.get('x-switchyard-cost-usd')).toBeNull();
    const r = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(r).toMatchObject({ costUsd: null, priceVersion: null, inputTokens: 10, usageSource: 'provider' });
    const agg = (await h.gateway.ledger.aggregates(today(), today())).find((a) => a.model === 'up-free');
    expect(agg?.unpricedRequests).toBeGreaterThanOrEqual(1);
  });

  it('records a retried request once, with its attempts', async () => {
    h.fakes.a.enqueue({ status: 500 }, { usage: { prompt_tokens: 7, completion_tokens: 3 } });
    const { response } = await h.client.chat.completions.create({ model: 'priced', messages }).withResponse();
    const requestId = response.headers.get('x-request-id') ?? '';
    const all = (await ledgerRecords(h.gateway)).filter((r) => r.requestId === requestId);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ attempts: 2, status: 200, inputTokens: 7 });
  });

  it('records a failed request with its error code and no usage', async () => {
    h.fakes.a.enqueue({ status: 400, errorCode: 'context_length_exceeded', errorMessage: 'too long' });
    const requestId = 'ledger-failed-1';
    await expect(
      h.client.chat.completions.create(
        { model: 'free', messages },
        { headers: { 'x-request-id': requestId } },
      ),
    ).rejects.toMatchObject({ status: 400 });
    expect(await recordOf(h.gateway, requestId)).toMatchObject({
      status: 400,
      errorCode: 'context_length_exceeded',
      inputTokens: 0,
      outputTokens: 0,
      usageSource: 'none',
      costUsd: null,
    });
  });
});

describe('ledger records (no upstream usage)', () => {
  it('estimates a non-stream answer with the tokenizer and flags it', async () => {
    h.fakes.a.enqueue({ usage: null, content: 'The weather in Paris is sunny and mild today.' });
    const { response } = await h.client.chat.completions.create({ model: 'priced', messages }).withResponse();
    const r = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(r.usageSource).toBe('estimated');
    // o200k: the prompt is 9 tokens (+3 per message, +3 priming); the answer is 10 tokens.
    expect(r.inputTokens).toBeGreaterThanOrEqual(12);
    expect(r.inputTokens).toBeLessThanOrEqual(18);
    expect(r.outputTokens).toBeGreaterThanOrEqual(8);
    expect(r.outputTokens).toBeLessThanOrEqual(12);
    expect(r.costUsd).toBeGreaterThan(0);
  });

  it('estimates a stream whose upstream sends no usage chunk, from what was streamed', async () => {
    h.fakes.a.enqueue({
      usage: null,
      content: 'one two three four five six seven eight nine ten',
      chunkSize: 6,
    });
    const { requestId } = await streamed({});
    const r = await recordOf(h.gateway, requestId);
    expect(r.usageSource).toBe('estimated');
    expect(r.outputTokens).toBe(10);
    expect(r.inputTokens).toBeGreaterThan(0);
  });
});
