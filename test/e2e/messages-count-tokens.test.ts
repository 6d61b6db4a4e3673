/**
 * `/v1/messages/count_tokens` end to end with the official `@anthropic-ai/sdk` — native from the route's first
 * Anthropic target, else (or when that ask fails) the gateway's estimate, `x-switchyard-token-count` saying
 * which; errors in Anthropic's shape; free (no ledger record, no rate-limit token) — and both client auth
 * headers (`x-api-key`, `Authorization: Bearer`) on every Messages path.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { anthropicWith, putClientKey, sdkFailure, startClaudeRig } from '../support/anthropic-sdk.ts';
import type { FakeAnthropic } from '../support/fake-anthropic.ts';
import type { FakeOpenAI } from '../support/fake-openai.ts';
import { clearOfMinuteEdge, type Harness, route } from '../support/gateway-harness.ts';
import { ledgerRecords } from '../support/ledger-helpers.ts';

let claude: FakeAnthropic;
let relay: FakeOpenAI;
let h: Harness<never>;
let sdk: Anthropic;

beforeAll(async () => {
  ({ claude, relay, h } = await startClaudeRig('count', {
    routes: {
      'claude-native': route([{ provider: 'claude', model: 'claude-sonnet-4-5' }]),
      'gpt-then-claude': route([
        { provider: 'relay', model: 'gpt-4o' },
        { provider: 'claude', model: 'claude-opus-4-1' },
      ]),
      'gpt-only': route([{ provider: 'relay', model: 'gpt-4o' }]),
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

const messages: Anthropic.MessageParam[] = [
  { role: 'user', content: 'what is the weather in Paris' },
  { role: 'assistant', content: 'Sunny.' },
  { role: 'user', content: 'and tomorrow' },
];
// The fake's own count: 9 words + 3 per message + 7.
const FAKE_COUNT = 9 + 3 * 3 + 7;

const keyFor = (opts: Parameters<typeof putClientKey>[1]) => putClientKey(h.gateway, opts);
const failure = sdkFailure;

describe('count_tokens', () => {
  it('asks Anthropic with the body as sent, the model replaced, and says native', async () => {
    const sent: string[] = [];
    let version: string | null = null;
    const client = anthropicWith(h.origin, { xApiKey: h.masterKey }, async (url, init) => {
      if (typeof init?.body === 'string') sent.push(init.body);
      version = new Headers(init?.headers).get('anthropic-version');
      return fetch(url, init);
    });
    const { data, response } = await client.messages
      .countTokens(
        { model: 'claude-native', messages, system: 'Be brief.' },
        { headers: { 'anthropic-beta': 'token-counting-2024-11-01' } },
      )
      .withResponse();
    expect(data).toEqual({ input_tokens: FAKE_COUNT });
    expect(response.headers.get('x-switchyard-token-count')).toBe('native');
    expect(response.headers.get('x-switchyard-provider')).toBe('claude');
    expect(response.headers.get('request-id')).toBe(response.headers.get('x-request-id'));
    const up = claude.requests[0];
    expect(up?.path).toBe('/v1/messages/count_tokens');
    expect(up?.raw).toBe(sent[0]?.replace('"model":"claude-native"', '"model":"claude-sonnet-4-5"'));
    expect(up?.headers['x-api-key']).toBe('ak-count');
    expect(up?.headers['anthropic-beta']).toBe('token-counting-2024-11-01');
    expect(version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(up?.headers['anthropic-version']).toBe(version);
  });

  it('asks the route’s first Anthropic target even when another type comes first', async () => {
    const { data, response } = await sdk.messages
      .countTokens({ model: 'gpt-then-claude', messages })
      .withResponse();
    expect(data.input_tokens).toBe(FAKE_COUNT);
    expect(response.headers.get('x-switchyard-token-count')).toBe('native');
    expect(claude.requests[0]?.raw).toContain('"model":"claude-opus-4-1"');
    expect(relay.requests).toHaveLength(0);
  });

  it('estimates for a route without an Anthropic target, and says estimate', async () => {
    const short = await sdk.messages.countTokens({ model: 'gpt-only', messages }).withResponse();
    expect(short.response.headers.get('x-switchyard-token-count')).toBe('estimate');
    expect(short.data.input_tokens).toBeGreaterThan(9);
    const long = await sdk.messages.countTokens({
      model: 'gpt-only',
      messages: [...messages, { role: 'assistant', content: 'word '.repeat(200) }],
    });
    expect(long.input_tokens).toBeGreaterThan(short.data.input_tokens + 150);
    expect(relay.requests).toHaveLength(0);
  });

  it('estimates when Anthropic’s count fails', async () => {
    claude.enqueue({ status: 529 });
    const { data, response } = await sdk.messages
      .countTokens({ model: 'claude-native', messages })
      .withResponse();
    expect(response.headers.get('x-switchyard-token-count')).toBe('estimate');
    expect(data.input_tokens).toBeGreaterThan(0);
    expect(data.input_tokens).not.toBe(FAKE_COUNT);
    expect(claude.requests).toHaveLength(1);
  });

  it('answers an unknown model 404 not_found_error, a bad body 400, a model outside the key 403', async () => {
    const missing = await failure(sdk.messages.countTokens({ model: 'no-such-model', messages }));
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    expect(missing.type).toBe('not_found_error');
    const bad = await failure(
      sdk.messages.countTokens({ model: 'claude-native' } as Anthropic.MessageCountTokensParams),
    );
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
    expect(bad.type).toBe('invalid_request_error');
    const limited = anthropicWith(h.origin, { xApiKey: await keyFor({ models: ['gpt-only'] }) });
    const denied = await failure(limited.messages.countTokens({ model: 'claude-native', messages }));
    expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(denied.type).toBe('permission_error');
    expect(claude.requests).toHaveLength(0);
  });

  it("makes no ledger record, but takes a token of the key's rpm", async () => {
    const client = anthropicWith(h.origin, { xApiKey: await keyFor({ rpm: 2 }) });
    await clearOfMinuteEdge();
    await client.messages.countTokens(
      { model: 'claude-native', messages },
      { headers: { 'x-request-id': 'req-count-0' } },
    );
    await client.messages.create({ model: 'claude-native', max_tokens: 10, messages });
    // The key's two requests a minute are spent: a count is refused as any request would be.
    const limited = await failure(client.messages.countTokens({ model: 'claude-native', messages }));
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect(limited.type).toBe('rate_limit_error');
    expect(claude.requests.filter((r) => r.path === '/v1/messages/count_tokens')).toHaveLength(1);
    const ids = (await ledgerRecords(h.gateway)).map((r) => r.requestId);
    expect(ids.filter((id) => id.startsWith('req-count-'))).toEqual([]);
  });

  it('answers the estimate when the native count does not come in time', async () => {
    claude.enqueue({ firstByteDelayMs: 5000 });
    const { data, response } = await sdk.messages
      .countTokens({ model: 'claude-native', messages })
      .withResponse();
    expect(response.headers.get('x-switchyard-token-count')).toBe('estimate');
    expect(data.input_tokens).toBeGreaterThan(0);
    expect(data.input_tokens).not.toBe(FAKE_COUNT);
  });
});

describe('both auth headers on every Messages path', () => {
  const AUTHS = [
    {
      name: 'x-api-key',
      auth: (key: string) => ({ xApiKey: key }),
      wire: (key: string) => ['x-api-key', key] as const,
    },
    {
      name: 'a bearer token',
      auth: (key: string) => ({ bearer: key }),
      wire: (key: string) => ['authorization', `Bearer ${key}`] as const,
    },
  ] as const;

  it.each(AUTHS)('takes the key as $name on messages, stream and count_tokens', async ({ auth, wire }) => {
    const seen: Headers[] = [];
    const client = (key: string) =>
      anthropicWith(h.origin, auth(key), async (url, init) => {
        seen.push(new Headers(init?.headers));
        return fetch(url, init);
      });
    const good = client(h.masterKey);
    const body = { model: 'claude-native', max_tokens: 10, messages };
    await expect(good.messages.create(body)).resolves.toMatchObject({ type: 'message' });
    await expect(good.messages.stream(body).finalMessage()).resolves.toMatchObject({ type: 'message' });
    await expect(good.messages.countTokens({ model: 'claude-native', messages })).resolves.toEqual({
      input_tokens: FAKE_COUNT,
    });
    // Exactly the one header went: the gateway cannot have read the key from the other.
    const [name, value] = wire(h.masterKey);
    const other = name === 'x-api-key' ? 'authorization' : 'x-api-key';
    expect(seen.map((hd) => [hd.get(name), hd.has(other)])).toEqual(Array(3).fill([value, false]));
    const wrong = client('sk-sy-wrong-key-0000');
    for (const call of [
      wrong.messages.create(body),
      wrong.messages.stream(body).finalMessage(),
      wrong.messages.countTokens({ model: 'claude-native', messages }),
    ]) {
      const err = await failure(call);
      expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
      expect(err.type).toBe('authentication_error');
    }
    expect(claude.requests).toHaveLength(3);
  });
});
