/** Rate windows and budget reservations against dynalite on loopback: every decision atomic. */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLimitStore } from '../../../functions/aws/stores/dynamo-limit-store.ts';
import type { BudgetHold } from '../../../functions/core/keys/types.ts';
import { KEYS_TABLE } from '../../../functions/core/stores/tables.ts';
import { type StoreConnection, startEmbeddedStore } from '../../../functions/local/embedded-store.ts';
import { FAULTS, type FaultPlan, faultyClient } from '../support/faulty-dynamo.ts';

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

/** The store through a client that breaks the `at`-th call `only` accepts. */
const faulty = (plan: FaultPlan) =>
  new DynamoLimitStore(faultyClient(conn.client, plan).client, conn.tableName(KEYS_TABLE));
const updating = (start: string) => (c: unknown) =>
  c instanceof UpdateItemCommand && (c.input.UpdateExpression ?? '').startsWith(start);
const isReservation = updating('SET holds.#h = ');
const isSettlement = updating('REMOVE holds.#h ADD');

async function holdsOf(keyId: string): Promise<Record<string, unknown>> {
  const res = await conn.client.send(
    new GetItemCommand({
      TableName: conn.tableName(KEYS_TABLE),
      Key: { pk: { S: `budget#${keyId}#2026-11` } },
      ConsistentRead: true,
    }),
  );
  return res.Item?.holds?.M ?? {};
}

describe('DynamoLimitStore budgets when a call is sent twice or fails', () => {
  it('places a reservation once when the SDK sends it again after its answer was lost', async () => {
    expect(await store.reserve(hold('k-twice-reserve', 0.1), T0)).toBe(true);
    const h = hold('k-twice-reserve', 0.2);
    expect(await faulty({ only: isReservation, at: 0, fault: 'twice' }).reserve(h, T0)).toBe(true);
    expect(await store.spent('k-twice-reserve', '2026-11')).toEqual({ spentUsd: 0, committedUsd: 0.3 });
    await store.settle(h, 0.05);
    expect(await store.spent('k-twice-reserve', '2026-11')).toEqual({ spentUsd: 0.05, committedUsd: 0.15 });
  });

  it('grants a reservation whose own retry was refused by a budget it filled', async () => {
    // The first try of the last reservation (on a new window) is refused; its second try lands and is sent
    // again, and that copy is refused: the hold is placed all the same, so the request may go on.
    const h = hold('k-twice-full', 1);
    expect(await faulty({ only: isReservation, at: 1, fault: 'twice' }).reserve(h, T0)).toBe(true);
    expect(await store.spent('k-twice-full', '2026-11')).toEqual({ spentUsd: 0, committedUsd: 1 });
  });

  it('adds a settlement to spent once when the SDK sends it again after its answer was lost', async () => {
    const h = hold('k-twice-settle', 0.2);
    expect(await store.reserve(h, T0)).toBe(true);
    await faulty({ only: isSettlement, at: 0, fault: 'twice' }).settle(h, 0.1);
    expect(await store.spent('k-twice-settle', '2026-11')).toEqual({ spentUsd: 0.1, committedUsd: 0.1 });
  });

  it('adds the late settlement of a released hold once when the SDK sends it again', async () => {
    const crashed = hold('k-twice-late', 1, 1, T0 - 1);
    expect(await store.reserve(crashed, T0 - 60_000)).toBe(true);
    expect(await store.reserve(hold('k-twice-late', 0.5), T0)).toBe(true);
    const isLateSettlement = (c: unknown) =>
      c instanceof UpdateItemCommand && (c.input.UpdateExpression ?? '').includes('committed :actual');
    const late = faulty({ only: isLateSettlement, at: 0, fault: 'twice' });
    await late.settle(crashed, 0.3);
    expect(await store.spent('k-twice-late', '2026-11')).toEqual({ spentUsd: 0.3, committedUsd: 0.8 });
  });

  it('counts a settlement once when it is sent again after any of its calls failed', async () => {
    const wrong: string[] = [];
    for (const released of [false, true]) {
      for (let at = 0; at < 3; at++) {
        for (const fault of FAULTS) {
          const keyId = `k-retry-${released}-${at}-${fault}`;
          const h = hold(keyId, 0.4, 1, released ? T0 - 1 : T0 + 60_000);
          await store.reserve(h, T0 - 60_000);
          if (released) await store.reserve(hold(keyId, 0.7), T0); // releases h on the way
          const flaky = faulty({ at, fault });
          // The caller's retry: at most one more settlement after one that threw.
          await flaky.settle(h, 0.25).catch(() => flaky.settle(h, 0.25));
          const got = await store.spent(keyId, '2026-11');
          const want = { spentUsd: 0.25, committedUsd: released ? 0.95 : 0.25 };
          if (JSON.stringify(got) !== JSON.stringify(want))
            wrong.push(`${released ? 'released' : 'held'}, call ${at} ${fault}: ${JSON.stringify(got)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('forgets a released hold a day after its expiry, so the budget item does not grow', async () => {
    const crashed = hold('k-forget', 0.6, 1, T0 - 1);
    expect(await store.reserve(crashed, T0 - 60_000)).toBe(true);
    expect(await store.reserve(hold('k-forget', 0.5, 1, T0 + 2 * 86_400_000), T0)).toBe(true);
    expect(Object.keys(await holdsOf('k-forget'))).toContain(crashed.holdId);
    // A day later a reservation that does not fit reads the window again and drops what nobody settles.
    expect(await store.reserve(hold('k-forget', 0.6), T0 + 86_400_000 + 1)).toBe(false);
    expect(Object.keys(await holdsOf('k-forget'))).not.toContain(crashed.holdId);
  });
});
