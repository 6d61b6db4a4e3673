/** Rate windows and budget reservations against dynalite on loopback: every decision atomic. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLimitStore } from '../../../functions/aws/stores/dynamo-limit-store.ts';
import type { BudgetHold } from '../../../functions/core/keys/types.ts';
import { KEYS_TABLE } from '../../../functions/core/stores/tables.ts';
import { type StoreConnection, startEmbeddedStore } from '../../../functions/local/embedded-store.ts';

let conn: StoreConnection;
let store: DynamoLimitStore;
const T0 = Date.UTC(2026, 10, 24, 10, 0, 30); // 30 s into a minute

beforeAll(async () => {
  conn = await startEmbeddedStore(undefined);
  store = new DynamoLimitStore(conn.client, conn.tableName(KEYS_TABLE));
});
afterAll(async () => conn.close());

describe('DynamoLimitStore.takeRate', () => {
  it('counts rpm requests in a minute, then refuses until the minute ends', async () => {
    for (let i = 0; i < 3; i++) expect(await store.takeRate('k-rate', 3, T0 + i)).toEqual({ ok: true });
    expect(await store.takeRate('k-rate', 3, T0)).toEqual({ ok: false, retryAfterMs: 30_000 });
    expect(await store.takeRate('k-rate', 3, T0 + 30_000)).toEqual({ ok: true });
  });

  it('lets exactly rpm of 20 concurrent requests through', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => store.takeRate('k-burst', 5, T0)));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
  });
});

let holdSeq = 0;
function hold(keyId: string, amountUsd: number, limitUsd = 1, expiresAtEpochMs = T0 + 60_000): BudgetHold {
  return { keyId, window: '2026-11', limitUsd, amountUsd, holdId: `h-${holdSeq++}`, expiresAtEpochMs };
}

describe('DynamoLimitStore budgets', () => {
  it('grants exactly five of twenty concurrent 0.2 reservations against 1.0', async () => {
    const holds = Array.from({ length: 20 }, () => hold('k-race', 0.2));
    const ok = await Promise.all(holds.map((h) => store.reserve(h, T0)));
    expect(ok.filter(Boolean)).toHaveLength(5);
    expect(await store.spent('k-race', '2026-11')).toEqual({ spentUsd: 0, committedUsd: 1 });
  });

  it('replaces a reservation by the actual cost on settlement, freeing the difference', async () => {
    const a = hold('k-settle', 0.2);
    const b = hold('k-settle', 0.2);
    expect(await store.reserve(a, T0)).toBe(true);
    expect(await store.reserve(b, T0)).toBe(true);
    await store.settle(a, 0.1);
    await store.settle(b, 0.1);
    expect(await store.spent('k-settle', '2026-11')).toEqual({ spentUsd: 0.2, committedUsd: 0.2 });
    for (let i = 0; i < 4; i++) expect(await store.reserve(hold('k-settle', 0.2), T0)).toBe(true);
    expect(await store.reserve(hold('k-settle', 0.2), T0)).toBe(false);
  });

  it('releases the expired hold of a crashed request when a reservation would otherwise fail', async () => {
    const crashed = hold('k-expiry', 1, 1, T0 - 1);
    expect(await store.reserve(crashed, T0 - 60_000)).toBe(true);
    expect(await store.reserve(hold('k-expiry', 0.5), T0)).toBe(true);
    expect(await store.spent('k-expiry', '2026-11')).toEqual({ spentUsd: 0, committedUsd: 0.5 });
    // The crashed request settles after all: its spend still counts.
    await store.settle(crashed, 0.3);
    expect(await store.spent('k-expiry', '2026-11')).toEqual({ spentUsd: 0.3, committedUsd: 0.8 });
  });

  it('releases an expired hold once, however many requests race to release it', async () => {
    expect(await store.reserve(hold('k-release', 0.9, 1, T0 - 1), T0 - 60_000)).toBe(true);
    const ok = await Promise.all(Array.from({ length: 10 }, () => store.reserve(hold('k-release', 0.5), T0)));
    expect(ok.filter(Boolean)).toHaveLength(2);
    expect((await store.spent('k-release', '2026-11')).committedUsd).toBe(1);
  });

  it('refuses a reservation larger than the whole budget', async () => {
    expect(await store.reserve(hold('k-big', 2), T0)).toBe(false);
  });
});
