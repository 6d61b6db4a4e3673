/**
 * The usage ledger against dynalite when a store call fails (lost, landed but unanswered, sent twice) or the
 * writer dies at any call: every record is still counted exactly once, and the aggregates stay tidy.
 */
import {
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../../functions/aws/stores/dynamo-ledger.ts';
import { aggregateKey } from '../../../functions/aws/stores/ledger-items.ts';
import { Background } from '../../../functions/core/background.ts';
import { USAGE_TABLE } from '../../../functions/core/stores/tables.ts';
import { LedgerWriter } from '../../../functions/core/usage/ledger-writer.ts';
import type { LedgerStore, UsageRecord } from '../../../functions/core/usage/types.ts';
import { type StoreConnection, startEmbeddedStore } from '../../../functions/local/embedded-store.ts';
import { FAULTS, type FaultPlan, faultyClient } from '../support/faulty-dynamo.ts';
import { rec, SHARDS } from '../support/ledger-records.ts';

let conn: StoreConnection;
let ledger: DynamoLedger;

beforeAll(async () => {
  conn = await startEmbeddedStore(undefined);
  ledger = new DynamoLedger(conn.client, conn.tableName(USAGE_TABLE), { shards: SHARDS, retentionDays: 30 });
});
afterAll(async () => conn.close());

const aggOf = async (day: string, keyId: string) =>
  (await ledger.aggregates(day, day)).filter((a) => a.keyId === keyId);

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
  'cacheWriteTokens',
  'cachedInputTokens',
  'costUsd',
  'day',
  'errors',
  'estimatedCostUsd',
  'estimatedInputTokens',
  'estimatedOutputTokens',
  'estimatedRequests',
  'implausibleRequests',
  'priceVersions',
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
