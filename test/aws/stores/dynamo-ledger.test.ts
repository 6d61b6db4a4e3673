/** The usage ledger against dynalite: written once, aggregated once, read back exactly, by time. */
import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../../functions/aws/stores/dynamo-ledger.ts';
import { aggregateKey, recordItem } from '../../../functions/aws/stores/ledger-items.ts';
import { Background } from '../../../functions/core/background.ts';
import { USAGE_TABLE } from '../../../functions/core/stores/tables.ts';
import { LedgerWriter } from '../../../functions/core/usage/ledger-writer.ts';
import type { LedgerStore, UsageRecord } from '../../../functions/core/usage/types.ts';
import { type StoreConnection, startEmbeddedStore } from '../../../functions/local/embedded-store.ts';
import { FAULTS, type FaultPlan, faultyClient } from '../support/faulty-dynamo.ts';

let conn: StoreConnection;
let ledger: DynamoLedger;
const SHARDS = 4;

beforeAll(async () => {
  conn = await startEmbeddedStore(undefined);
  ledger = new DynamoLedger(conn.client, conn.tableName(USAGE_TABLE), { shards: SHARDS, retentionDays: 30 });
});
afterAll(async () => conn.close());

let seq = 0;
function rec(over: Partial<UsageRecord> = {}): UsageRecord {
  const i = seq++;
  return {
    requestId: `req-${i}`,
    recordId: `rec-${String(i).padStart(5, '0')}`,
    time: '2026-10-01T12:00:00.000Z',
    keyId: 'key_a',
    route: 'r',
    provider: 'p',
    model: 'm',
    status: 200,
    errorCode: null,
    inputTokens: 10 + i,
    outputTokens: 5,
    cachedInputTokens: 1,
    reasoningTokens: 2,
    costUsd: 0.0001,
    priceVersion: 'v',
    latencyMs: 12.5,
    ttftMs: null,
    attempts: 1,
    stream: false,
    usageSource: 'provider',
    upstreamId: null,
    ...over,
  };
}

const aggOf = async (day: string, keyId: string) =>
  (await ledger.aggregates(day, day)).filter((a) => a.keyId === keyId);

describe('DynamoLedger.write', () => {
  it('writes a record once and aggregates it once, however often it is written', async () => {
    const r = rec({ keyId: 'key_dup', time: '2026-10-02T00:00:00.000Z' });
    expect(await ledger.write(r)).toBe('written');
    expect(await ledger.write(r)).toBe('duplicate');
    const [a] = await aggOf('2026-10-02', 'key_dup');
    expect(a).toMatchObject({ requests: 1, inputTokens: r.inputTokens, costUsd: 0.0001 });
  });

  it('finishes the aggregation of a record a crashed writer left unmarked', async () => {
    const r = rec({ keyId: 'key_crash', time: '2026-10-03T00:00:00.000Z' });
    const table = conn.tableName(USAGE_TABLE);
    await conn.client.send(new PutItemCommand({ TableName: table, Item: recordItem(r, SHARDS, 30, false) }));
    expect(await ledger.write(r)).toBe('duplicate');
    expect(await ledger.write(r)).toBe('duplicate');
    const [a] = await aggOf('2026-10-03', 'key_crash');
    expect(a?.requests).toBe(1);
  });

  it('counts errors, unpriced and estimated requests, and files provider-less records under "-"', async () => {
    const day = '2026-10-04';
    const at = `${day}T01:00:00.000Z`;
    await ledger.write(
      rec({
        keyId: 'key_kinds',
        time: at,
        status: 502,
        errorCode: 'upstream_server_error',
        provider: null,
        model: null,
        costUsd: null,
        usageSource: 'none',
        inputTokens: 0,
        outputTokens: 0,
      }),
    );
    await ledger.write(rec({ keyId: 'key_kinds', time: at, costUsd: null, usageSource: 'provider' }));
    await ledger.write(rec({ keyId: 'key_kinds', time: at, usageSource: 'estimated' }));
    const aggs = await aggOf(day, 'key_kinds');
    expect(aggs.find((a) => a.provider === '-')).toMatchObject({
      model: '-',
      requests: 1,
      errors: 1,
      unpricedRequests: 0,
    });
    expect(aggs.find((a) => a.provider === 'p')).toMatchObject({
      requests: 2,
      errors: 0,
      unpricedRequests: 1,
      estimatedRequests: 1,
      costUsd: 0.0001,
    });
  });

  it('gives a record an expiry at the end of the retention, and its aggregate none', async () => {
    const r = rec({ time: '2026-10-05T00:00:00.000Z' });
    await ledger.write(r);
    const item = await conn.client.send(
      new GetItemCommand({
        TableName: conn.tableName(USAGE_TABLE),
        Key: { pk: { S: `req#${r.requestId}` }, sk: { S: r.recordId } },
      }),
    );
    expect(Number(item.Item?.expiresAt?.N)).toBe(Date.parse(r.time) / 1000 + 30 * 86_400);
    expect(item.Item?.aggregated?.BOOL).toBe(true);
    const { key } = aggregateKey(r, SHARDS);
    const agg = await conn.client.send(
      new GetItemCommand({ TableName: conn.tableName(USAGE_TABLE), Key: key }),
    );
    expect(agg.Item?.expiresAt).toBeUndefined();
  });
});

describe('DynamoLedger.writeBatch', () => {
  it('marks a finished batch once, so writing one of its records again adds nothing', async () => {
    const batch = [1, 2, 3].map(() => rec({ keyId: 'key_batch', time: '2026-10-06T00:00:00.000Z' }));
    await ledger.writeBatch(batch);
    expect(await ledger.write(batch[1] as UsageRecord)).toBe('duplicate');
    const [a] = await aggOf('2026-10-06', 'key_batch');
    expect(a?.requests).toBe(3);
  });

  it('finishes the records of a batch that crashed before its aggregate (no marker)', async () => {
    const r = rec({ keyId: 'key_batch_crash', time: '2026-10-07T00:00:00.000Z' });
    const item = { ...recordItem(r, SHARDS, 30, false), batch: { S: 'batch-that-never-finished' } };
    await conn.client.send(new PutItemCommand({ TableName: conn.tableName(USAGE_TABLE), Item: item }));
    expect(await ledger.write(r)).toBe('duplicate');
    const [a] = await aggOf('2026-10-07', 'key_batch_crash');
    expect(a?.requests).toBe(1);
  });
});

describe('DynamoLedger.writeBatch and the readers', () => {
  const days = ['2026-10-10', '2026-10-11', '2026-10-12'];
  const inputs: UsageRecord[] = [];

  it('reads back every record exactly, over days and shards, oldest first', async () => {
    for (let i = 0; i < 300; i++) {
      const day = days[i % 3] as string;
      const sec = String(i % 60).padStart(2, '0');
      inputs.push(
        rec({
          keyId: `key_${i % 4}`,
          provider: i % 2 === 0 ? 'p1' : 'p2',
          model: i % 5 === 0 ? 'big' : 'small',
          time: `${day}T0${i % 10}:00:${sec}.000Z`,
          costUsd: i % 7 === 0 ? null : 0.0000123 * i,
          ttftMs: i % 2 === 0 ? 5.5 : null,
          stream: i % 2 === 0,
          upstreamId: `gen-${i}`,
        }),
      );
    }
    // Half one by one, half in batches of 25, 50 at a time.
    const single = inputs.slice(0, 150);
    for (let i = 0; i < single.length; i += 50)
      await Promise.all(single.slice(i, i + 50).map((r) => ledger.write(r)));
    const batched = inputs.slice(150);
    for (let i = 0; i < batched.length; i += 25) await ledger.writeBatch(batched.slice(i, i + 25));
    const got = await ledger.records('2026-10-10T00:00:00.000Z', '2026-10-13T00:00:00.000Z');
    const sorted = [...inputs].sort(
      (a, b) => a.time.localeCompare(b.time) || a.recordId.localeCompare(b.recordId),
    );
    expect(got).toEqual(sorted);
  });

  it('sums the shards of each day into aggregates equal to the records', async () => {
    const aggs = await ledger.aggregates(days[0] as string, days[2] as string);
    const want = new Map<
      string,
      { requests: number; inputTokens: number; costUsd: number; unpriced: number }
    >();
    for (const r of inputs) {
      const k = `${r.time.slice(0, 10)}|${r.keyId}|${r.provider}|${r.model}`;
      const w = want.get(k) ?? { requests: 0, inputTokens: 0, costUsd: 0, unpriced: 0 };
      want.set(k, {
        requests: w.requests + 1,
        inputTokens: w.inputTokens + r.inputTokens,
        costUsd: w.costUsd + (r.costUsd ?? 0),
        unpriced: w.unpriced + (r.costUsd === null ? 1 : 0),
      });
    }
    expect(aggs).toHaveLength(want.size);
    for (const a of aggs) {
      const w = want.get(`${a.day}|${a.keyId}|${a.provider}|${a.model}`);
      expect(a.requests).toBe(w?.requests);
      expect(a.inputTokens).toBe(w?.inputTokens);
      expect(a.unpricedRequests).toBe(w?.unpriced);
      expect(a.costUsd).toBeCloseTo(w?.costUsd ?? -1, 10);
    }
  });

  it('reads a half-open time range: since included, until excluded', async () => {
    const since = '2026-10-11T01:00:00.000Z';
    const until = '2026-10-11T03:00:00.000Z';
    const got = await ledger.records(since, until);
    const want = inputs.filter((r) => r.time >= since && r.time < until);
    expect(got.map((r) => r.recordId).sort()).toEqual(want.map((r) => r.recordId).sort());
    expect(got.some((r) => r.time === since)).toBe(want.some((r) => r.time === since));
    expect(got.every((r) => r.time < until)).toBe(true);
  });
});

type Path = 'one by one' | 'batched';

/**
 * Writes the records through a LedgerWriter (fake time) whose ledger talks through `client`: what the
 * gateway does. Batched, in two flushes, so the second one's ADDs also remove the first one's marks.
 */
async function writeThrough(client: DynamoDBClient, records: readonly UsageRecord[], path: Path) {
  const store = new DynamoLedger(client, conn.tableName(USAGE_TABLE), { shards: SHARDS, retentionDays: 30 });
  const background = new Background();
  const spooled: UsageRecord[] = [];
  const one: LedgerStore = { write: (r) => store.write(r) };
  const w = new LedgerWriter({
    store: path === 'batched' ? store : one,
    spool: { spool: (r) => spooled.push(r) },
    background,
    sleep: async () => {},
    logger: { log: () => {} },
    flushDelayMs: 0,
  });
  const half = path === 'batched' ? Math.ceil(records.length / 2) : records.length;
  for (const part of [records.slice(0, half), records.slice(half)]) {
    for (const r of part) w.record(r);
    await background.idle();
  }
  return spooled;
}

/** requests and input tokens the aggregates hold for a key, all its shards summed. */
async function counted(day: string, keyId: string): Promise<{ requests: number; inputTokens: number }> {
  const aggs = await aggOf(day, keyId);
  return {
    requests: aggs.reduce((n, a) => n + a.requests, 0),
    inputTokens: aggs.reduce((n, a) => n + a.inputTokens, 0),
  };
}
const expected = (records: readonly UsageRecord[]) => ({
  requests: records.length,
  inputTokens: records.reduce((n, r) => n + r.inputTokens, 0),
});

const FAULT_DAY = '2026-10-20';
let faultCase = 0;
const faultRecords = (n: number, tag: string): UsageRecord[] => {
  const keyId = `key_fault_${tag}_${faultCase++}`;
  return Array.from({ length: n }, () => rec({ keyId, time: `${FAULT_DAY}T08:00:00.000Z` }));
};

const isRecordMark = (c: unknown) =>
  c instanceof UpdateItemCommand && (c.input.Key?.pk?.S ?? '').startsWith('req#');
const isBatchMarker = (c: unknown) =>
  c instanceof PutItemCommand && (c.input.Item?.pk?.S ?? '').startsWith('batch#');

describe('DynamoLedger when a store call fails', () => {
  it('counts a record once when marking it fails and the writer writes it again', async () => {
    const records = faultRecords(1, 'mark');
    const { client } = faultyClient(conn.client, { only: isRecordMark, at: 0, fault: 'lost' });
    expect(await writeThrough(client, records, 'one by one')).toEqual([]);
    expect(await counted(FAULT_DAY, records[0]?.keyId ?? '')).toEqual(expected(records));
  });

  it('counts a batch once when its marker put fails and the writer writes it again', async () => {
    const records = faultRecords(10, 'marker');
    const { client } = faultyClient(conn.client, { only: isBatchMarker, at: 0, fault: 'lost' });
    expect(await writeThrough(client, records, 'batched')).toEqual([]);
    expect(await counted(FAULT_DAY, records[0]?.keyId ?? '')).toEqual(expected(records));
  });

  for (const [path, size] of [
    ['one by one', 2],
    ['batched', 10],
  ] as const) {
    it(`counts every record exactly once whichever single call fails, lost, landed or sent twice (${path})`, async () => {
      const clean = faultyClient(conn.client);
      const cleanRecords = faultRecords(size, 'clean');
      await writeThrough(clean.client, cleanRecords, path);
      expect(await counted(FAULT_DAY, cleanRecords[0]?.keyId ?? '')).toEqual(expected(cleanRecords));
      const wrong: string[] = [];
      for (let at = 0; at < clean.calls(); at++) {
        for (const fault of FAULTS) {
          const records = faultRecords(size, 'sweep');
          const plan: FaultPlan = { at, fault };
          const spooled = await writeThrough(faultyClient(conn.client, plan).client, records, path);
          const got = await counted(FAULT_DAY, records[0]?.keyId ?? '');
          if (
            spooled.length > 0 ||
            got.requests !== size ||
            got.inputTokens !== expected(records).inputTokens
          )
            wrong.push(`call ${at} ${fault}: ${JSON.stringify(got)}, ${spooled.length} spooled`);
        }
      }
      expect(wrong).toEqual([]);
    });

    it(`counts every record exactly once when a replay follows a crash at any call (${path})`, async () => {
      const probe = faultyClient(conn.client);
      const probeStore = new DynamoLedger(probe.client, conn.tableName(USAGE_TABLE), {
        shards: SHARDS,
        retentionDays: 30,
      });
      const probeRecords = faultRecords(size, 'probe');
      if (path === 'batched') await probeStore.writeBatch(probeRecords);
      else for (const r of probeRecords) await probeStore.write(r);
      const wrong: string[] = [];
      for (let dieAt = 0; dieAt <= probe.calls(); dieAt++) {
        const records = faultRecords(size, 'crash');
        const dying = new DynamoLedger(
          faultyClient(conn.client, { dieAt }).client,
          conn.tableName(USAGE_TABLE),
          { shards: SHARDS, retentionDays: 30 },
        );
        try {
          if (path === 'batched') await dying.writeBatch(records);
          else for (const r of records) await dying.write(r);
        } catch {
          // The process died here; the spool (or the log line) has the records.
        }
        for (const r of records) await ledger.write(r);
        const got = await counted(FAULT_DAY, records[0]?.keyId ?? '');
        if (got.requests !== size || got.inputTokens !== expected(records).inputTokens)
          wrong.push(`crash at call ${dieAt}: ${JSON.stringify(got)}`);
      }
      expect(wrong).toEqual([]);
    });
  }

  it("keeps no record's id on its aggregate once it is counted, and a batch's only until the next batch", async () => {
    const single = faultRecords(3, 'tidy');
    for (const r of single) await ledger.write(r);
    const singles = await extraAttributes(single[0]?.keyId ?? '');
    expect(singles.length).toBeGreaterThan(0);
    expect(singles.flat()).toEqual([]);
    const keyId = `key_tidy_batches_${faultCase++}`;
    // Records of one shard, so both batches land in the same aggregate.
    const sameShard = (n: number): UsageRecord[] => {
      const out: UsageRecord[] = [];
      while (out.length < n) {
        const r = rec({ keyId, time: `${FAULT_DAY}T08:00:00.000Z` });
        if (aggregateKey(r, SHARDS).key.pk?.S === `agg#${FAULT_DAY}#0`) out.push(r);
      }
      return out;
    };
    const first = sameShard(5);
    const second = sameShard(5);
    await ledger.writeBatch(first);
    expect(await extraAttributes(keyId)).toEqual([[`applied#b#${first[0]?.recordId}`]]);
    await ledger.writeBatch(second);
    expect(await extraAttributes(keyId)).toEqual([[`applied#b#${second[0]?.recordId}`]]);
    expect(await counted(FAULT_DAY, keyId)).toEqual(expected([...first, ...second]));
  });
});

/** Per aggregate item of the key: the attributes beyond its keys, dimensions and counters. */
async function extraAttributes(keyId: string): Promise<string[][]> {
  const out: string[][] = [];
  for (let shard = 0; shard < SHARDS; shard++) {
    const page = await conn.client.send(
      new QueryCommand({
        TableName: conn.tableName(USAGE_TABLE),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `agg#${FAULT_DAY}#${shard}` } },
      }),
    );
    for (const item of page.Items ?? [])
      if (item.keyId?.S === keyId)
        out.push(Object.keys(item).filter((a) => !AGGREGATE_ATTRIBUTES.includes(a)));
  }
  return out;
}

const AGGREGATE_ATTRIBUTES = [
  'cachedInputTokens',
  'costUsd',
  'day',
  'errors',
  'estimatedRequests',
  'inputTokens',
  'keyId',
  'model',
  'outputTokens',
  'pk',
  'provider',
  'reasoningTokens',
  'requests',
  'sk',
  'unpricedRequests',
];
