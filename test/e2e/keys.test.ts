/**
 * Client keys end to end: keys made like `switchyard keys create` does (only the hash stored), then used as
 * the official SDK's apiKey against the local gateway: allow-lists, per-minute limits, revocation.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { type ClientKeyOptions, newClientKey } from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import {
  clearOfMinuteEdge,
  type Harness,
  openaiProvider,
  route,
  startHarness,
} from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';

const KEY_TTL_MS = 200;
let h: Harness<'a'>;
let repo: DynamoKeyRepo;
const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }];

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {} },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url) },
      routes: {
        alpha: route([{ provider: 'a', model: 'up-a' }]),
        beta: route([{ provider: 'a', model: 'up-b' }]),
      },
    }),
    gateway: { keyCacheTtlMs: KEY_TTL_MS },
  });
  repo = new DynamoKeyRepo(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE));
});
afterAll(async () => h.close());

async function keyFor(opts: Partial<ClientKeyOptions> = {}) {
  const k = newClientKey({ name: 'e2e', ...opts });
  await repo.put(k.record);
  return { id: k.record.id, client: new OpenAI({ baseURL: h.baseURL, apiKey: k.key, maxRetries: 0 }) };
}

describe('client keys', () => {
  it('serves a created key and records the request under its id', async () => {
    const { id, client } = await keyFor();
    const { response } = await client.chat.completions.create({ model: 'alpha', messages }).withResponse();
    expect(response.status).toBe(200);
    expect((await recordOf(h.gateway, response.headers.get('x-request-id') ?? '')).keyId).toBe(id);
  });

  it('answers 401 invalid_api_key to an unknown sk-sy- key', async () => {
    const client = new OpenAI({
      baseURL: h.baseURL,
      apiKey: 'sk-sy-not-a-real-key-000000000000',
      maxRetries: 0,
    });
    await expect(client.chat.completions.create({ model: 'alpha', messages })).rejects.toMatchObject({
      status: 401,
      code: 'invalid_api_key',
    });
  });

  it("answers 403 model_not_allowed outside the key's models, and lists only those", async () => {
    const { client } = await keyFor({ models: ['alpha'] });
    await expect(client.chat.completions.create({ model: 'beta', messages })).rejects.toMatchObject({
      status: 403,
      code: 'model_not_allowed',
    });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['alpha']);
  });

  it('answers 429 rate_limit_exceeded with Retry-After past the per-minute limit', async () => {
    const { client } = await keyFor({ rpm: 3 });
    await clearOfMinuteEdge();
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'alpha', messages });
    const err = await client.chat.completions.create({ model: 'alpha', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.code).toBe('rate_limit_exceeded');
    const retryAfter = Number(e.headers?.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it('stops accepting a revoked key once the cache TTL has passed', async () => {
    const { id, client } = await keyFor();
    await client.chat.completions.create({ model: 'alpha', messages });
    expect(await repo.revoke(id, new Date().toISOString())).toBe(true);
    await new Promise((r) => setTimeout(r, KEY_TTL_MS + 100));
    await expect(client.chat.completions.create({ model: 'alpha', messages })).rejects.toMatchObject({
      status: 401,
    });
  });
});
