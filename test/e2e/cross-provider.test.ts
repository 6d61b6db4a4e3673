/**
 * Fallback across provider types: a route whose first target is native Anthropic and whose second is an
 * OpenAI-compatible relay. The client sees one OpenAI answer, streamed or not, whichever provider served it;
 * a field only the second provider can honour skips the first instead of failing the request.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAnthropic, startAnthropicFake } from '../support/fake-anthropic.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { type Harness, route, startHarness, upstreamBody } from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';

let claude: FakeAnthropic;
let relay: FakeOpenAI;
let h: Harness<never>;

beforeAll(async () => {
  claude = await startAnthropicFake();
  relay = await startFakeOpenAI();
  h = await startHarness({
    config: () => ({
      providers: {
        claude: { type: 'anthropic', baseUrls: [claude.url] },
        relay: { type: 'openai', baseUrls: [relay.url] },
      },
      routes: {
        smart: route([
          { provider: 'claude', model: 'claude-sonnet-4-5' },
          { provider: 'relay', model: 'openai/gpt-4o' },
        ]),
        direct: route([{ provider: 'claude', model: 'claude-opus' }]),
        'relay-first': route([
          { provider: 'relay', model: 'openai/gpt-4o' },
          { provider: 'claude', model: 'claude-sonnet-4-5' },
        ]),
      },
      // Anthropic-like list prices in USD per 1M tokens: cache reads 0.1×, 5-minute cache writes 1.25× input.
      prices: { 'claude/claude-opus': { input: 3, output: 15, cachedInput: 0.3, cacheWriteInput: 3.75 } },
    }),
    providerKeys: { claude: 'ak-1', relay: 'rk-1' },
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
});

const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
  { role: 'user', content: 'hi there' },
];

/** Streams the `smart` route: the text that reached the client, the response, and what ended the stream. */
async function streamSmart(): Promise<{ text: string; response: Response; error: unknown }> {
  const { data, response } = await h.client.chat.completions
    .create({ model: 'smart', messages, stream: true })
    .withResponse();
  let text = '';
  const error = await (async () => {
    for await (const c of data) text += c.choices[0]?.delta.content ?? '';
  })().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { text, response, error };
}

describe('a route from Anthropic to an OpenAI-compatible relay', () => {
  it('is served by Anthropic when it answers', async () => {
    const { data, response } = await h.client.chat.completions
      .create({ model: 'smart', messages })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: hi there');
    expect(response.headers.get('x-switchyard-provider')).toBe('claude');
    expect(relay.requests).toHaveLength(0);
  });

  it('falls back to the relay when Anthropic answers 529 overloaded_error', async () => {
    claude.enqueue({ status: 529 });
    const { data, response } = await h.client.chat.completions
      .create({ model: 'smart', messages })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: hi there');
    expect(response.headers.get('x-switchyard-provider')).toBe('relay');
    const s = await h.waitForSummary(response.headers.get('x-request-id') ?? '');
    expect(s.attemptLog.map((a) => [a.provider, a.outcome, a.status])).toEqual([
      ['claude', 'server', 529],
      ['relay', 'ok', 200],
    ]);
    expect(upstreamBody(relay).model).toBe('openai/gpt-4o');
  });

  it('falls back when streaming too, and the ledger names the relay with its tokens', async () => {
    claude.enqueue({ status: 529 });
    relay.enqueue({ usage: { prompt_tokens: 11, completion_tokens: 7 } });
    const { text, response, error } = await streamSmart();
    expect(error).toBeUndefined();
    expect(text).toBe('echo: hi there');
    const rec = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(rec).toMatchObject({
      provider: 'relay',
      model: 'openai/gpt-4o',
      inputTokens: 11,
      outputTokens: 7,
    });
    expect(rec.attempts).toBe(2);
  });

  it.each([
    ['as its first event', 0],
    ['after message_start, before any content', 1],
  ])(
    'falls back when a stream sends overloaded_error %s (nothing reached the client yet)',
    async (_, after) => {
      claude.enqueue({ errorAfterEvents: after });
      const { text, response, error } = await streamSmart();
      expect(error).toBeUndefined();
      expect(text).toBe('echo: hi there');
      expect(response.headers.get('x-switchyard-provider')).toBe('relay');
      const s = await h.waitForSummary(response.headers.get('x-request-id') ?? '');
      expect(s.attemptLog.map((a) => [a.provider, a.outcome])).toEqual([
        ['claude', 'server'],
        ['relay', 'ok'],
      ]);
    },
  );

  it("falls back when an OpenAI-compatible relay's first stream event is an error", async () => {
    relay.enqueue({ streamErrorFirst: { message: 'upstream overloaded', type: 'server_error' } });
    const { data, response } = await h.client.chat.completions
      .create({ model: 'relay-first', messages, stream: true })
      .withResponse();
    let text = '';
    for await (const c of data) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: hi there');
    expect(response.headers.get('x-switchyard-provider')).toBe('claude');
  });

  it('sends an error event (no fallback) when the stream fails after content reached the client', async () => {
    claude.enqueue({ errorAfterEvents: 4 });
    const { text, error } = await streamSmart();
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(text.length).toBeGreaterThan(0);
    expect(relay.requests).toHaveLength(0);
  });

  it('skips Anthropic for a field it cannot honour (n: 2) and serves it from the relay', async () => {
    const { data, response } = await h.client.chat.completions
      .create({ model: 'smart', messages, n: 2 })
      .withResponse();
    expect(data.choices).toHaveLength(2);
    expect(claude.requests).toHaveLength(0);
    const s = await h.waitForSummary(response.headers.get('x-request-id') ?? '');
    expect(s.attemptLog[0]).toMatchObject({ provider: 'claude', outcome: 'unsupported' });
  });

  it('logs the fields Anthropic dropped, and still answers', async () => {
    const { response } = await h.client.chat.completions
      .create({ model: 'smart', messages, seed: 7, presence_penalty: 0.5 })
      .withResponse();
    const s = await h.waitForSummary(response.headers.get('x-request-id') ?? '');
    expect(s.fields.warnings).toEqual([
      'claude: presence_penalty dropped: Anthropic has no equivalent',
      'claude: seed dropped: Anthropic has no equivalent',
    ]);
  });
});

describe('prompt-cache tokens of a native provider', () => {
  it('are priced as the provider bills them: reads, writes and the rest of the input apart', async () => {
    claude.enqueue({
      usage: {
        input_tokens: 1000,
        cache_read_input_tokens: 3000,
        cache_creation_input_tokens: 2000,
        output_tokens: 100,
      },
    });
    const { data, response } = await h.client.chat.completions
      .create({ model: 'direct', messages })
      .withResponse();
    // 1000 × $3 + 3000 × $0.30 + 2000 × $3.75 + 100 × $15, per 1M
    expect(response.headers.get('x-switchyard-cost-usd')).toBe('0.0129');
    expect(data.usage).toMatchObject({ prompt_tokens: 6000, prompt_tokens_details: { cached_tokens: 3000 } });
    const rec = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(rec).toMatchObject({
      endpoint: 'chat',
      inputTokens: 6000,
      cachedInputTokens: 3000,
      cacheWriteTokens: 2000,
      costUsd: 0.0129,
    });
    // The log line says the same (and the CacheReadTokens / CacheWriteTokens metrics come from it).
    const line = await h.waitForSummary(rec.requestId);
    expect(line.fields).toMatchObject({ endpoint: 'chat', cachedInputTokens: 3000, cacheWriteTokens: 2000 });
  });

  it('records the cache writes of a streamed answer, from its message_start', async () => {
    claude.enqueue({
      usage: {
        input_tokens: 10,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 4096,
        output_tokens: 7,
      },
    });
    const { data, response } = await h.client.chat.completions
      .create({ model: 'direct', messages, stream: true })
      .withResponse();
    for await (const _ of data);
    const rec = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(rec).toMatchObject({
      stream: true,
      inputTokens: 4106,
      cacheWriteTokens: 4096,
      cachedInputTokens: 0,
    });
  });
});

describe('a route no target of which can honour a field', () => {
  it('answers 400 unsupported_parameter naming the field', async () => {
    const only = await startHarness({
      config: () => ({
        providers: { claude: { type: 'anthropic', baseUrls: [claude.url] } },
        routes: { c: route([{ provider: 'claude', model: 'claude-sonnet-4-5' }]) },
      }),
    });
    try {
      const err = await only.client.chat.completions
        .create({ model: 'c', messages, logprobs: true })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      const e = err as InstanceType<typeof OpenAI.BadRequestError>;
      expect(e.code).toBe('unsupported_parameter');
      expect(e.param).toBe('logprobs');
      expect(claude.requests).toHaveLength(0);
    } finally {
      await only.close();
    }
  });
});
