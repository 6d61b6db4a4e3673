/**
 * `/v1/messages` and `/v1/messages/count_tokens` end to end with the official `@anthropic-ai/sdk`: native
 * pass-through to Anthropic (the body and its version/beta headers as sent), translation to an OpenAI relay,
 * fallback from one to the other, both auth headers, and errors in Anthropic's shape as the SDK's classes.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { anthropicWith, startClaudeRig } from '../support/anthropic-sdk.ts';
import type { FakeAnthropic } from '../support/fake-anthropic.ts';
import type { FakeOpenAI } from '../support/fake-openai.ts';
import { type Harness, route, upstreamBody } from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';

let claude: FakeAnthropic;
let relay: FakeOpenAI;
let h: Harness<never>;
let sdk: Anthropic;

beforeAll(async () => {
  ({ claude, relay, h } = await startClaudeRig('1', {
    routes: {
      'claude-native': route([{ provider: 'claude', model: 'claude-sonnet-4-5' }]),
      'gpt-translated': route([{ provider: 'relay', model: 'gpt-4o' }]),
      'claude-then-gpt': route([
        { provider: 'claude', model: 'claude-sonnet-4-5' },
        { provider: 'relay', model: 'gpt-4o' },
      ]),
    },
  }));
  sdk = new Anthropic({ baseURL: h.origin, apiKey: h.masterKey, maxRetries: 0 });
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

const hello: Anthropic.MessageCreateParamsNonStreaming = {
  model: 'claude-native',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hello claude' }],
};

describe('native', () => {
  it('forwards the body as sent (model replaced) with the client’s version and beta headers', async () => {
    const { data, response } = await sdk.messages
      .create(hello, {
        headers: { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'prompt-caching-2024-07-31' },
      })
      .withResponse();
    expect(data.type).toBe('message');
    expect(data.content[0]?.type).toBe('text');
    const sent = claude.requests[0];
    if (sent === undefined) throw new Error('Anthropic got no request');
    expect(sent.path).toBe('/v1/messages');
    expect((sent.body as Record<string, unknown>).model).toBe('claude-sonnet-4-5');
    expect(sent.headers['anthropic-beta']).toBe('prompt-caching-2024-07-31');
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.headers['x-api-key']).toBe('ak-1');
    expect(response.headers.get('x-switchyard-provider')).toBe('claude');
    const rec = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(rec.upstreamId).toBe(data.id);
    expect(rec.endpoint).toBe('messages');
  });

  it('relays the stream as it comes', async () => {
    const stream = sdk.messages.stream({ ...hello, stream: true });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    const final = await stream.finalMessage();
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(final.content.length).toBeGreaterThan(0);
  });
});

describe('translated', () => {
  it('answers a Message from an OpenAI relay', async () => {
    const data = await sdk.messages.create({ ...hello, model: 'gpt-translated', system: 'Be brief.' });
    expect(data.content).toEqual([{ type: 'text', text: 'echo: hello claude' }]);
    expect(data.stop_reason).toBe('end_turn');
    expect(relay.requests[0]?.path).toBe('/v1/chat/completions');
    expect(upstreamBody(relay).messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hello claude' },
    ]);
  });

  it('streams the documented events', async () => {
    const stream = sdk.messages.stream({ ...hello, model: 'gpt-translated' });
    let text = '';
    const types: string[] = [];
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    }
    expect(text).toBe('echo: hello claude');
    expect(types[0]).toBe('message_start');
    expect(types).toContain('message_delta');
    expect(types.at(-1)).toBe('message_stop');
    const final = await stream.finalMessage();
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  it('falls over from Anthropic to the relay', async () => {
    claude.setDefault({ status: 529 });
    const data = await sdk.messages.create({ ...hello, model: 'claude-then-gpt' });
    expect(data.content).toEqual([{ type: 'text', text: 'echo: hello claude' }]);
  });
});

describe('auth and errors', () => {
  it('takes the key as x-api-key or as a bearer token', async () => {
    const bearer = anthropicWith(h.origin, { bearer: h.masterKey });
    await expect(bearer.messages.create(hello)).resolves.toMatchObject({ type: 'message' });
    // The SDK sends even `apiKey` as a bearer token: x-api-key (Claude Code's way) is set as a header.
    const apiKey = anthropicWith(h.origin, { xApiKey: h.masterKey });
    await expect(apiKey.messages.create(hello)).resolves.toMatchObject({ type: 'message' });
    const wrong = anthropicWith(h.origin, { xApiKey: 'sk-wrong' });
    const err = await wrong.messages.create(hello).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error' },
    });
    expect((err as InstanceType<typeof Anthropic.APIError>).requestID).toMatch(/.+/);
  });

  it('answers a model without a route as not_found_error', async () => {
    await expect(sdk.messages.create({ ...hello, model: 'nope' })).rejects.toBeInstanceOf(
      Anthropic.NotFoundError,
    );
  });
});

describe('count_tokens', () => {
  it('asks Anthropic when the route has it, else estimates, and says which', async () => {
    const native = await sdk.messages
      .countTokens({ model: 'claude-native', messages: hello.messages })
      .withResponse();
    expect(native.data.input_tokens).toBe(2 + 3 + 7);
    expect(native.response.headers.get('x-switchyard-token-count')).toBe('native');
    expect(claude.requests[0]?.path).toBe('/v1/messages/count_tokens');
    const est = await sdk.messages
      .countTokens({ model: 'gpt-translated', messages: hello.messages })
      .withResponse();
    expect(est.data.input_tokens).toBeGreaterThan(0);
    expect(est.response.headers.get('x-switchyard-token-count')).toBe('estimate');
  });
});
