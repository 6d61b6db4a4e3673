/**
 * Shared target health against dynalite: transitions (the latest wins), moving averages, the failure count,
 * the half-open probe's claim, expiry, batched reads. Boards (gateway instances) sharing it:
 * ./health-fleet.test.ts.
 */
import { BatchGetItemCommand, type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoHealthStore,
  MAX_TARGET_ID_LENGTH,
} from '../../../functions/aws/stores/dynamo-health-store.ts';
import { KEYS_TABLE } from '../../../functions/core/stores/tables.ts';
import { type StoreConnection, startEmbeddedStore } from '../../../functions/local/embedded-store.ts';
import { T0, TestClock } from './health-rig.ts';

const DAY = 86_400_000;

let conn: StoreConnection;
let table: string;

beforeAll(async () => {
  conn = await startEmbeddedStore(undefined);
  table = conn.tableName(KEYS_TABLE);
});
afterAll(async () => conn.close());

/** The client, counting the BatchGetItem calls that pass through it. */
function counting(real: DynamoDBClient): { client: DynamoDBClient; batchGets: () => number } {
  let n = 0;
  const send = (command: Parameters<DynamoDBClient['send']>[0]) => {
    if (command instanceof BatchGetItemCommand) n++;
    return real.send(command);
  };
  return { client: { send } as unknown as DynamoDBClient, batchGets: () => n };
}

function storeAt(clock: TestClock, ttlMs?: number): DynamoHealthStore {
  return new DynamoHealthStore(conn.client, table, { clock, ...(ttlMs === undefined ? {} : { ttlMs }) });
}

async function rawItem(id: string): Promise<Record<string, unknown> | undefined> {
  const res = await conn.client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: `health#${id}` } }, ConsistentRead: true }),
  );
  return res.Item;
}

describe('DynamoHealthStore', () => {
  it('reads nothing for targets never written', async () => {
    const store = storeAt(new TestClock());
    expect((await store.read([])).size).toBe(0);
    expect((await store.read(['none/a', 'none/b', 'none/a'])).size).toBe(0);
  });

  it('reads back a transition, with an expiry a day later in epoch seconds', async () => {
    const clock = new TestClock();
    const store = storeAt(clock);
    await store.transition('p/t1', { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    const found = await store.read(['p/t1', 'p/other']);
    expect([...found.keys()]).toEqual(['p/t1']);
    expect(found.get('p/t1')).toEqual({ openUntil: T0 + 30_000, reason: 'breaker', at: T0, fails: 0 });
    expect(await rawItem('p/t1')).toMatchObject({ expiresAt: { N: String((T0 + DAY) / 1000) } });
  });

  it('keeps a later transition over an older one written after it', async () => {
    const store = storeAt(new TestClock());
    await store.transition('p/t2', { openUntil: 0, reason: 'closed', at: T0 + 5_000 });
    await store.transition('p/t2', { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    await store.transition('p/t2', { openUntil: T0 + 60_000, reason: 'quota', at: T0 + 5_000 }); // same `at`
    expect((await store.read(['p/t2'])).get('p/t2')).toEqual({
      openUntil: 0,
      reason: 'closed',
      at: T0 + 5_000,
      fails: 0,
    });
    await store.transition('p/t2', { openUntil: T0 + 90_000, reason: 'rate_limited', at: T0 + 6_000 });
    expect((await store.read(['p/t2'])).get('p/t2')).toEqual({
      openUntil: T0 + 90_000,
      reason: 'rate_limited',
      at: T0 + 6_000,
      fails: 0,
    });
  });

  it('writes moving averages (only those given, last writer wins) beside the transition', async () => {
    const clock = new TestClock();
    const store = storeAt(clock);
    await store.speeds('p/t3', {});
    expect(await rawItem('p/t3')).toBeUndefined();
    await store.speeds('p/t3', { latencyMs: 800 });
    expect((await store.read(['p/t3'])).get('p/t3')).toEqual({ latencyMs: 800 });
    await store.transition('p/t3', { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    clock.t = T0 + 10_000;
    await store.speeds('p/t3', { ttftMs: 120 });
    await store.speeds('p/t3', { latencyMs: 650 });
    expect((await store.read(['p/t3'])).get('p/t3')).toEqual({
      openUntil: T0 + 30_000,
      reason: 'breaker',
      at: T0,
      latencyMs: 650,
      ttftMs: 120,
      fails: 0,
    });
    // Every write pushes the expiry on.
    expect(await rawItem('p/t3')).toMatchObject({ expiresAt: { N: String((T0 + 10_000 + DAY) / 1000) } });
  });

  it('counts failures with ADD (concurrent ones all count), zeroes them on a reset and on a transition', async () => {
    const clock = new TestClock();
    const store = storeAt(clock);
    const counts = await Promise.all([1, 2, 3].map(() => store.failed('p/fails')));
    expect(counts.sort()).toEqual([1, 2, 3]);
    expect((await store.read(['p/fails'])).get('p/fails')?.fails).toBe(3);
    await store.resetFailures('p/fails');
    expect(await store.failed('p/fails')).toBe(1);
    await store.transition('p/fails', { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    expect((await store.read(['p/fails'])).get('p/fails')).toMatchObject({ fails: 0, reason: 'breaker' });
  });

  it('gives a probe to one caller until its hold runs out, and again for a new transition', async () => {
    const clock = new TestClock(T0 + 30_000);
    const store = storeAt(clock);
    await store.transition('p/t4', { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    const first = await Promise.all([1, 2, 3].map(() => store.claimProbe('p/t4', T0, 10_000)));
    expect(first.filter(Boolean)).toHaveLength(1);
    clock.t = T0 + 39_000;
    expect(await store.claimProbe('p/t4', T0, 10_000)).toBe(false);
    clock.t = T0 + 40_001; // the first probe hung: another may take it
    expect(await store.claimProbe('p/t4', T0, 10_000)).toBe(true);
    expect(await store.claimProbe('p/t4', T0, 10_000)).toBe(false);
    // The probe failed and opened the breaker again: its next probe is a new claim.
    expect(await store.claimProbe('p/t4', T0 + 40_500, 10_000)).toBe(true);
    expect(await store.claimProbe('p/t4', T0 + 40_500, 10_000)).toBe(false);
    // A probe that ended with no verdict frees its claim (only its own transition's).
    await store.releaseProbe('p/t4', T0);
    expect(await store.claimProbe('p/t4', T0 + 40_500, 10_000)).toBe(false);
    await store.releaseProbe('p/t4', T0 + 40_500);
    expect(await store.claimProbe('p/t4', T0 + 40_500, 10_000)).toBe(true);
    // A claim on a target with no item yet creates it.
    expect(await store.claimProbe('p/t4-new', T0, 10_000)).toBe(true);
    expect(await store.claimProbe('p/t4-new', T0, 10_000)).toBe(false);
  });

  it('ignores items past their expiry (DynamoDB deletes them late)', async () => {
    const clock = new TestClock();
    const store = storeAt(clock, 60_000);
    await store.transition('p/t5', { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    clock.t = T0 + 59_999;
    expect((await store.read(['p/t5'])).has('p/t5')).toBe(true);
    clock.t = T0 + 60_000;
    expect((await store.read(['p/t5'])).has('p/t5')).toBe(false);
    expect(await rawItem('p/t5')).toBeDefined();
  });

  it('ignores target ids over the bound: never written, never read, probed without a claim', async () => {
    const store = storeAt(new TestClock());
    const long = `p/${'m'.repeat(MAX_TARGET_ID_LENGTH)}`;
    const edge = `p/${'m'.repeat(MAX_TARGET_ID_LENGTH - 2)}`;
    await store.transition(long, { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    await store.speeds(long, { latencyMs: 5 });
    expect(await store.claimProbe(long, T0, 10_000)).toBe(true);
    expect(await store.claimProbe(long, T0, 10_000)).toBe(true);
    expect(await rawItem(long)).toBeUndefined();
    await store.transition(edge, { openUntil: T0 + 30_000, reason: 'breaker', at: T0 });
    const found = await store.read([long, edge]);
    expect([...found.keys()]).toEqual([edge]);
  });

  it('reads 150 targets in two BatchGetItem calls', async () => {
    const writer = storeAt(new TestClock());
    const ids = Array.from({ length: 150 }, (_, i) => `many/m${i}`);
    await Promise.all(ids.map((id, i) => writer.speeds(id, { latencyMs: i + 1 })));
    const { client, batchGets } = counting(conn.client);
    const reader = new DynamoHealthStore(client, table, { clock: new TestClock() });
    const found = await reader.read([...ids, ...ids.slice(0, 20), 'many/absent']);
    expect(batchGets()).toBe(2);
    expect(found.size).toBe(150);
    for (const [i, id] of ids.entries()) expect(found.get(id)).toEqual({ latencyMs: i + 1 });
  });
});
