/**
 * Rate limits and budget reservations against dynalite: every admission one atomic conditional write on a
 * key's limit item, settlement by the ledger record (DynamoLedger, inline fold), crashed requests' money given
 * back when their bucket closes — exact under races, resends and replays, on one shard and on several.
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../../functions/aws/stores/dynamo-ledger.ts';
import { DynamoLimitStore } from '../../../functions/aws/stores/dynamo-limit-store.ts';
import { limitKey } from '../../../functions/aws/stores/limit-items.ts';
import { Background } from '../../../functions/core/background.ts';
import type { Admission, AdmitDecision, Reservation } from '../../../functions/core/keys/types.ts';
import { KEYS_TABLE, USAGE_TABLE } from '../../../functions/core/stores/tables.ts';
import { type StoreConnection, startEmbeddedStore } from '../../../functions/local/embedded-store.ts';
import { FAULTS, type FaultPlan, faultyClient } from '../support/faulty-dynamo.ts';
import { rec } from '../support/ledger-records.ts';

let conn: StoreConnection;
let store: DynamoLimitStore;
let ledger: DynamoLedger;
const background = new Background();
const T0 = Date.UTC(2026, 10, 24, 10, 0, 30); // 30 s into a minute
const MINUTE = 60_000;
const WINDOW = '2026-11';

beforeAll(async () => {
  conn = await startEmbeddedStore(undefined);
  store = new DynamoLimitStore(conn.client, conn.tableName(KEYS_TABLE), { background });
  ledger = new DynamoLedger(conn.client, conn.tableName(USAGE_TABLE), {
    shards: 1,
    retentionDays: 30,
    limitsTable: conn.tableName(KEYS_TABLE),
  });
});
afterAll(async () => conn.close());

let seq = 0;
const rate = (keyId: string, rpm: number, now = T0, shards = 1): Admission => ({
  keyId,
  shards,
  requestKey: `r-${seq++}`,
  nowEpochMs: now,
  rpm,
});
const budget = (
  keyId: string,
  amountUsd: number,
  o: { limitUsd?: number; now?: number; expiresAt?: number; rpm?: number; shards?: number } = {},
): Admission => ({
  keyId,
  shards: o.shards ?? 1,
  requestKey: `r-${seq++}`,
  nowEpochMs: o.now ?? T0,
  ...(o.rpm === undefined ? {} : { rpm: o.rpm }),
  budget: {
    window: WINDOW,
    limitUsd: o.limitUsd ?? 1,
    amountUsd,
    expiresAtEpochMs: o.expiresAt ?? (o.now ?? T0) + 2 * MINUTE,
  },
});
const reservationOf = (d: AdmitDecision): Reservation => {
  if (!d.ok || d.reservation === undefined) throw new Error(`not admitted: ${JSON.stringify(d)}`);
  return d.reservation;
};
/** The request's ledger record, which settles its reservation at its cost. */
const settle = (keyId: string, d: AdmitDecision, costUsd: number, l = ledger) =>
  l.write(rec({ keyId, costUsd, reservation: reservationOf(d), time: new Date(T0).toISOString() }));
const spent = (keyId: string, shards = 1) => store.spent(keyId, WINDOW, shards);
const ok = (ds: readonly AdmitDecision[]) => ds.filter((d) => d.ok).length;

async function itemOf(keyId: string, shard = 0): Promise<Record<string, unknown>> {
  const res = await conn.client.send(
    new GetItemCommand({
      TableName: conn.tableName(KEYS_TABLE),
      Key: limitKey(keyId, shard),
      ConsistentRead: true,
    }),
  );
  return res.Item ?? {};
}

describe('DynamoLimitStore rate limits', () => {
  it('counts rpm requests in a minute, then refuses until the minute ends', async () => {
    for (let i = 0; i < 3; i++) expect(await store.admit(rate('k-rate', 3, T0 + i))).toEqual({ ok: true });
    expect(await store.admit(rate('k-rate', 3))).toEqual({ ok: false, reason: 'rate', retryAfterMs: 30_000 });
    expect(await store.admit(rate('k-rate', 3, T0 + 30_000))).toEqual({ ok: true });
  });

  it('lets exactly rpm of 20 concurrent requests through, on one shard and on four', async () => {
    expect(ok(await Promise.all(Array.from({ length: 20 }, () => store.admit(rate('k-burst', 5)))))).toBe(5);
    const sharded = await Promise.all(
      Array.from({ length: 40 }, () => store.admit(rate('k-burst4', 8, T0, 4))),
    );
    expect(ok(sharded)).toBe(8);
  });

  it('writes one item per request, which holds only the current minutes', async () => {
    for (let m = 0; m < 5; m++) {
      expect((await store.admit(rate('k-minutes', 10, T0 + m * MINUTE))).ok).toBe(true);
      await background.idle();
    }
    const names = Object.keys(await itemOf('k-minutes')).filter((n) => n.startsWith('n#'));
    expect(names.length).toBeLessThanOrEqual(2);
  });
});

describe('DynamoLimitStore budgets', () => {
  it('grants exactly five of twenty concurrent 0.2 reservations against 1.0', async () => {
    const ds = await Promise.all(Array.from({ length: 20 }, () => store.admit(budget('k-race', 0.2))));
    expect(ok(ds)).toBe(5);
    expect(await spent('k-race')).toEqual({ spentUsd: 0, committedUsd: 1 });
  });

  it('never commits more than the budget over four shards: at most twenty of eighty 0.2 against 4.0', async () => {
    const ds = await Promise.all(
      Array.from({ length: 80 }, () => store.admit(budget('k-race4', 0.2, { limitUsd: 4, shards: 4 }))),
    );
    const admitted = ok(ds);
    expect(admitted).toBeLessThanOrEqual(20);
    // A refused request tries one more shard: the shards fill up (no budget left stranded but fragments).
    expect(admitted).toBeGreaterThanOrEqual(18);
    const s = await spent('k-race4', 4);
    expect(s.committedUsd).toBeCloseTo(admitted * 0.2, 9);
    expect(s.committedUsd).toBeLessThanOrEqual(4);
  });

  it('settles by the ledger record: the cost replaces the reservation, freeing the difference', async () => {
    const a = await store.admit(budget('k-settle', 0.2));
    const b = await store.admit(budget('k-settle', 0.2));
    await settle('k-settle', a, 0.1);
    await settle('k-settle', b, 0.1);
    expect(await spent('k-settle')).toEqual({ spentUsd: 0.2, committedUsd: 0.2 });
    for (let i = 0; i < 4; i++) expect((await store.admit(budget('k-settle', 0.2))).ok).toBe(true);
    expect(await store.admit(budget('k-settle', 0.2))).toEqual({
      ok: false,
      reason: 'budget',
      window: WINDOW,
    });
  });

  it('takes no rate token for a request its budget refuses', async () => {
    const both = (amount: number) => store.admit(budget('k-both', amount, { limitUsd: 0.3, rpm: 2 }));
    expect((await both(0.2)).ok).toBe(true);
    expect(await both(0.2)).toMatchObject({ ok: false, reason: 'budget' });
    expect((await both(0.1)).ok).toBe(true);
    expect(await both(0)).toMatchObject({ ok: false, reason: 'rate' });
  });

  it("gives back a crashed request's reservation when its bucket has passed and a reservation would not fit", async () => {
    const crashed = await store.admit(
      budget('k-expiry', 1, { now: T0 - 2 * MINUTE, expiresAt: T0 - MINUTE }),
    );
    expect(crashed.ok).toBe(true);
    expect((await store.admit(budget('k-expiry', 0.5))).ok).toBe(true);
    expect(await spent('k-expiry')).toEqual({ spentUsd: 0, committedUsd: 0.5 });
    // Its record comes after all (a replayed spool): its cost counts, once, resent or not.
    const late = rec({ keyId: 'k-expiry', costUsd: 0.3, reservation: reservationOf(crashed) });
    expect(await ledger.write(late)).toBe('written');
    expect(await ledger.write(late)).toBe('duplicate');
    expect(await spent('k-expiry')).toEqual({ spentUsd: 0.3, committedUsd: 0.8 });
  });

  it('gives a closed bucket back once, however many requests race to close it', async () => {
    await store.admit(budget('k-release', 0.9, { now: T0 - 2 * MINUTE, expiresAt: T0 - MINUTE }));
    const ds = await Promise.all(Array.from({ length: 10 }, () => store.admit(budget('k-release', 0.5))));
    expect(ok(ds)).toBe(2);
    expect((await spent('k-release')).committedUsd).toBe(1);
  });

  it('refuses a reservation larger than the budget, or than one shard of it', async () => {
    expect((await store.admit(budget('k-big', 2))).ok).toBe(false);
    expect((await store.admit(budget('k-big4', 0.3, { shards: 4 }))).ok).toBe(false);
    expect((await store.admit(budget('k-big4', 0.25, { shards: 4 }))).ok).toBe(true);
  });

  it('keeps the item small: past buckets and minutes go, whatever ran through it', async () => {
    for (let m = 0; m < 30; m++) {
      const now = T0 + m * MINUTE;
      const ds = await Promise.all(
        Array.from({ length: 5 }, () =>
          store.admit(budget('k-small', 0.01, { limitUsd: 100, now, rpm: 1000 })),
        ),
      );
      // Two of each five settle; three crash.
      for (const d of ds.slice(0, 2)) await settle('k-small', d, 0.005);
      await background.idle();
    }
    const item = await itemOf('k-small');
    const buckets = Object.keys(item).filter((n) => n.startsWith('o#'));
    expect(buckets.length).toBeLessThanOrEqual(3);
    expect(JSON.stringify(item).length).toBeLessThan(1024);
    // 60 settled at 0.005; the 90 crashed ones' reservations were given back but for the open buckets'.
    const s = await spent('k-small');
    expect(s.spentUsd).toBeCloseTo(0.3, 9);
    expect(s.committedUsd).toBeLessThanOrEqual(0.3 + 3 * 5 * 0.01 + 1e-9);
  });
});

/** The store through a client that breaks the `at`-th call `only` accepts. */
const faulty = (plan: FaultPlan) =>
  new DynamoLimitStore(faultyClient(conn.client, plan).client, conn.tableName(KEYS_TABLE));
const isAdmission = (c: unknown) =>
  c instanceof UpdateItemCommand && (c.input.UpdateExpression ?? '').startsWith('ADD #');

describe('DynamoLimitStore when a call is sent twice or fails', () => {
  it('an admission the SDK sends twice holds its amount twice until its bucket closes, never spends it twice', async () => {
    const d = await faulty({ only: isAdmission, at: 0, fault: 'twice' }).admit(
      budget('k-twice', 0.2, { expiresAt: T0 + MINUTE }),
    );
    expect(d.ok).toBe(true);
    expect(await spent('k-twice')).toEqual({ spentUsd: 0, committedUsd: 0.4 });
    await settle('k-twice', d, 0.1);
    expect(await spent('k-twice')).toEqual({ spentUsd: 0.1, committedUsd: 0.3 });
    // Two minutes on, its bucket has passed: the next admission closes it and the copy's 0.2 comes back.
    expect((await store.admit(budget('k-twice', 0.05, { now: T0 + 2 * MINUTE }))).ok).toBe(true);
    await background.idle();
    expect(await spent('k-twice')).toEqual({ spentUsd: 0.1, committedUsd: 0.15 });
  });

  it('counts a settlement once whichever call of the ledger write fails, then is retried', async () => {
    const wrong: string[] = [];
    for (const closed of [false, true]) {
      for (let at = 0; at < 6; at++) {
        for (const fault of FAULTS) {
          const keyId = `k-retry-${closed}-${at}-${fault}`;
          const expiresAt = closed ? T0 - MINUTE : T0 + MINUTE;
          const d = await store.admit(budget(keyId, 0.4, { now: T0 - 2 * MINUTE, expiresAt }));
          if (closed) await store.admit(budget(keyId, 0.7)); // closes the bucket on the way
          const flaky = new DynamoLedger(
            faultyClient(conn.client, { at, fault }).client,
            conn.tableName(USAGE_TABLE),
            {
              shards: 1,
              retentionDays: 30,
              limitsTable: conn.tableName(KEYS_TABLE),
            },
          );
          const r = rec({
            keyId,
            costUsd: 0.25,
            reservation: reservationOf(d),
            time: new Date(T0).toISOString(),
          });
          // The ledger writer's retry: the same record again after a write that threw.
          await flaky.write(r).catch(() => ledger.write(r));
          const got = await spent(keyId);
          const want = { spentUsd: 0.25, committedUsd: closed ? 0.95 : 0.25 };
          if (JSON.stringify(got) !== JSON.stringify(want))
            wrong.push(`${closed ? 'closed' : 'open'}, call ${at} ${fault}: ${JSON.stringify(got)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('settles a batch of records once, however often the batch is written', async () => {
    const ds = await Promise.all(Array.from({ length: 6 }, () => store.admit(budget('k-batch', 0.1))));
    const records = ds.map((d) =>
      rec({
        keyId: 'k-batch',
        costUsd: 0.05,
        reservation: reservationOf(d),
        time: new Date(T0).toISOString(),
      }),
    );
    await ledger.writeBatch(records);
    await ledger.writeBatch(records);
    for (const r of records) await ledger.write(r);
    expect(await spent('k-batch')).toEqual({ spentUsd: 0.3, committedUsd: 0.3 });
  });
});
