/**
 * Budgets end to end: reservations are atomic, so concurrent requests cannot overspend; after settlement
 * the key's spend equals the ledger's cost of what it was served.
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
// $1 per 1M input and output tokens. A request reserves (input estimate + max_tokens 1,000) × $1/1M, a bit
// over $0.001; the budget of $0.0055 therefore holds five reservations and not six.
const BUDGET = 0.0055;

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {} },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url) },
      // Patient timeouts: a loaded CI machine must not turn the slow answers into 504s.
      routes: {
        metered: route([{ provider: 'a', model: 'up' }], {
          timeouts: { firstByteMs: 10_000, idleMs: 10_000, totalMs: 30_000 },
        }),
      },
      prices: { 'a/up': { input: 1, output: 1 } },
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
    );
    expect(spent.spentUsd).toBeCloseTo(servedCost, 10);
    // Settled: nothing is held any more, so committed is what was spent.
    expect(spent.committedUsd).toBeCloseTo(servedCost, 10);
    h.fakes.a.setDefault({});
  });
});
