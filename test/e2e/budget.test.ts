/**
 * Budgets end to end: reservations are atomic, so concurrent requests cannot overspend; after settlement
 * the key's spend equals the ledger's cost of what it was served; every input part counts toward the
 * reservation, images included.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { DynamoLimitStore } from '../../functions/aws/stores/dynamo-limit-store.ts';
import { budgetWindow, newClientKey } from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import { type Harness, openaiProvider, route, startHarness } from '../support/gateway-harness.ts';
import { ledgerRecords } from '../support/ledger-helpers.ts';

let h: Harness<'a'>;
const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hello' }];
// $1 per 1M input and output tokens. A request reserves (input bound + max_tokens 1,000) × $1/1M, a bit
// over $0.001; the budget of $0.0055 therefore holds five reservations and not six.
const BUDGET = 0.0055;
const PATIENT = { firstByteMs: 10_000, idleMs: 10_000, totalMs: 30_000 };
// The scenario: the upstream bills 765 prompt tokens per image (a 1024×1024 image on gpt-4o at high
// detail: 85 + 4 × 170), requests carry 50 images and max_tokens 1, the key has $10. At $20 per 1M input
// tokens a served request costs ~$0.77, and a reservation (50 images at gpt-4o's documented worst case of
// 1,445 tokens each) ~$1.45: six fit in $10. Before images counted, all 20 were served: ~$15.30.
const VISION_PRICE = { input: 20, output: 80 };
const IMAGE_TOKENS = 765;
const IMAGES = 50;
const PIXEL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** A client key with this budget, stored in the gateway's keys table. */
async function budgetKey(name: string, budgetUsd: number) {
  const k = newClientKey({ name, budgetUsd, period: 'month' });
  await new DynamoKeyRepo(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE)).put(k.record);
  return k;
}

async function spentOf(keyId: string) {
  const store = new DynamoLimitStore(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE));
  return store.spent(keyId, budgetWindow('month', Date.now()), 1);
}

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {} },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url) },
      // Patient timeouts: a loaded CI machine must not turn the slow answers into 504s.
      routes: {
        metered: route([{ provider: 'a', model: 'up' }], { timeouts: PATIENT }),
        vision: route([{ provider: 'a', model: 'gpt-4o' }], { timeouts: PATIENT }),
      },
      prices: { 'a/up': { input: 1, output: 1 }, 'a/gpt-4o': VISION_PRICE },
    }),
  });
});
afterAll(async () => h.close());

describe('budgets', () => {
  it('serves at most what the budget allows out of 20 concurrent requests, then 402 budget_exceeded', async () => {
    const client = connectStore(h.gateway.storeSocket);
    const table = localTableName(KEYS_TABLE);
    const k = newClientKey({ name: 'capped', budgetUsd: BUDGET, period: 'month' });
    await new DynamoKeyRepo(client, table).put(k.record);
    // Each answer is slow (1.5 s), so all 20 reservations happen while none has settled, even on a loaded
    // machine: a request that settled first would free its unused reservation for a sixth (legitimately).
    h.fakes.a.setDefault({ firstByteDelayMs: 1500, usage: { prompt_tokens: 100, completion_tokens: 100 } });
    const sdk = new OpenAI({ baseURL: h.baseURL, apiKey: k.key, maxRetries: 0 });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        sdk.chat.completions.create({ model: 'metered', messages, max_tokens: 1000 }),
      ),
    );
    const served = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.flatMap((r) =>
      r.status === 'rejected' ? [r.reason as { status: number; code: string }] : [],
    );
    expect(served).toBe(5);
    expect(refused).toHaveLength(15);
    for (const e of refused) expect(e).toMatchObject({ status: 402, code: 'budget_exceeded' });

    const records = (await ledgerRecords(h.gateway)).filter((r) => r.keyId === k.record.id);
    const servedCost = records.filter((r) => r.status === 200).reduce((s, r) => s + (r.costUsd ?? 0), 0);
    expect(servedCost).toBeCloseTo(5 * 0.0002, 10);
    const spent = await new DynamoLimitStore(client, table).spent(
      k.record.id,
      budgetWindow('month', Date.now()),
      1,
    );
    expect(spent.spentUsd).toBeCloseTo(servedCost, 10);
    // Settled: nothing is held any more, so committed is what was spent.
    expect(spent.committedUsd).toBeCloseTo(servedCost, 10);
    h.fakes.a.setDefault({});
  });

  it('holds a $10 budget against 20 concurrent requests of 50 images each with max_tokens 1', async () => {
    const k = await budgetKey('vision', 10);
    h.fakes.a.setDefault({ firstByteDelayMs: 1500, promptTokensPerImage: IMAGE_TOKENS });
    const content: OpenAI.Chat.Completions.ChatCompletionContentPart[] = [
      { type: 'text', text: 'What is in these images?' },
      ...Array.from({ length: IMAGES }, () => ({ type: 'image_url' as const, image_url: { url: PIXEL } })),
    ];
    const sdk = new OpenAI({ baseURL: h.baseURL, apiKey: k.key, maxRetries: 0 });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        sdk.chat.completions.create({
          model: 'vision',
          messages: [{ role: 'user', content }],
          max_tokens: 1,
        }),
      ),
    );
    const served = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const refused = results.flatMap((r) =>
      r.status === 'rejected' ? [r.reason as { status: number; code: string }] : [],
    );
    // The upstream did bill 765 tokens per image on what it served.
    for (const c of served) expect(c.usage?.prompt_tokens).toBeGreaterThan(IMAGES * IMAGE_TOKENS);
    expect(served.length).toBeGreaterThan(0);
    expect(served.length).toBeLessThanOrEqual(6);
    expect(refused).toHaveLength(20 - served.length);
    for (const e of refused) expect(e).toMatchObject({ status: 402, code: 'budget_exceeded' });

    const records = (await ledgerRecords(h.gateway)).filter((r) => r.keyId === k.record.id);
    const ledgerCost = records.reduce((sum, r) => sum + (r.costUsd ?? 0), 0);
    expect(ledgerCost).toBeGreaterThan(served.length * 0.765 - 1e-9);
    expect(ledgerCost).toBeLessThanOrEqual(10);
    const spent = await spentOf(k.record.id);
    expect(spent.spentUsd).toBeCloseTo(ledgerCost, 8);
    expect(spent.spentUsd).toBeLessThanOrEqual(10);
    h.fakes.a.setDefault({});
  });
});
