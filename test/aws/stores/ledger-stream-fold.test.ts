/**
 * The stack's ledger fold against dynalite: the gateway's one put per request, then the usage table's stream
 * folded into the aggregates exactly once, whatever Lambda redelivers and whichever call fails. dynalite has
 * no DynamoDB Streams, so the stream is simulated (test/support/usage-stream.ts: the INSERT records DynamoDB
 * would emit for the puts the store accepted); everything else is the real store code on a real store.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../../functions/aws/stores/dynamo-ledger.ts';
import { DynamoLimitStore } from '../../../functions/aws/stores/dynamo-limit-store.ts';
import { aggregateKey } from '../../../functions/aws/stores/ledger-items.ts';
import {
  type DynamoStreamRecord,
  LedgerStreamFold,
  REDELIVERY_GRACE_MS,
  streamEntries,
} from '../../../functions/aws/stores/ledger-stream-fold.ts';
import { KEYS_TABLE, USAGE_TABLE } from '../../../functions/core/stores/tables.ts';
import type { UsageRecord } from '../../../functions/core/usage/types.ts';
import { type DynamoEndpoint, startDynamoEndpoint } from '../../support/dynamo-endpoint.ts';
import { startUsageStream, type UsageStream } from '../../support/usage-stream.ts';
import { FAULTS, faultyClient } from '../support/faulty-dynamo.ts';
import { rec, SHARDS } from '../support/ledger-records.ts';

let conn: DynamoEndpoint;
let stream: UsageStream;
let writerClient: DynamoDBClient;
let writer: DynamoLedger;
let reader: DynamoLedger;
let table: string;
let puts = 0;

beforeAll(async () => {
  conn = await startDynamoEndpoint();
  table = conn.tableName(USAGE_TABLE);
  stream = await startUsageStream(conn.endpoint, table);
  writerClient = new DynamoDBClient({
    endpoint: stream.url,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const counted = {
    send: (command: Parameters<DynamoDBClient['send']>[0]) => {
      puts++;
      return writerClient.send(command);
    },
  } as unknown as DynamoDBClient;
  writer = new DynamoLedger(counted, table, { shards: SHARDS, retentionDays: 30, fold: 'stream' });
  reader = new DynamoLedger(conn.client, table, { shards: SHARDS, retentionDays: 30 });
});
afterAll(async () => {
  writerClient?.destroy();
  await stream?.close();
  await conn?.close();
});

const aggOf = async (day: string, keyId: string) =>
  (await reader.aggregates(day, day)).filter((a) => a.keyId === keyId);

/** Writes records as the gateway does on Lambda and returns the stream records they produced. */
async function written(records: readonly UsageRecord[]): Promise<DynamoStreamRecord[]> {
  for (const r of records) await writer.write(r);
  return stream.take();
}

const fold = (client = conn.client, nowMs?: () => number) =>
  new LedgerStreamFold(client, table, { shards: SHARDS, ...(nowMs === undefined ? {} : { nowMs }) });

const sum = <T>(items: readonly T[], f: (x: T) => number) => items.reduce((a, x) => a + f(x), 0);

describe('DynamoLedger in stream mode (the gateway on Lambda)', () => {
  it('writes one item per request and leaves the aggregates to the fold; a resend is a duplicate', async () => {
    const r = rec({ keyId: 'key_one_put', time: '2026-11-01T00:00:00.000Z' });
    const before = puts;
    expect(await writer.write(r)).toBe('written');
    expect(puts - before).toBe(1);
    expect(await writer.write(r)).toBe('duplicate');
    expect(puts - before).toBe(2);
    expect(await aggOf('2026-11-01', 'key_one_put')).toEqual([]);
    const events = stream.take();
    expect(events).toHaveLength(1);
    await fold().fold(streamEntries(events));
    const [a] = await aggOf('2026-11-01', 'key_one_put');
    expect(a).toMatchObject({ requests: 1, inputTokens: r.inputTokens, costUsd: 0.0001 });
  });
});

describe('LedgerStreamFold', () => {
  it('adds a batch with one write per aggregate, and a redelivered batch adds nothing', async () => {
    const day = '2026-11-02';
    const recs = Array.from({ length: 30 }, (_, i) =>
      rec({ keyId: 'key_batch', time: `${day}T00:00:00.000Z`, model: i % 3 === 0 ? 'm1' : 'm2' }),
    );
    const events = await written(recs);
    const f = fold();
    await f.fold(streamEntries(events));
    const aggregates = new Set(recs.map((r) => JSON.stringify(aggregateKey(r, SHARDS).key))).size;
    expect(f.stats.writes).toBe(aggregates);
    await f.fold(streamEntries(events));
    await fold().fold(streamEntries(events));
    const aggs = await aggOf(day, 'key_batch');
    expect(sum(aggs, (a) => a.requests)).toBe(30);
    expect(sum(aggs, (a) => a.inputTokens)).toBe(sum(recs, (r) => r.inputTokens));
  });

  it('a retry that carries more records adds only those; one that carries fewer adds nothing', async () => {
    const day = '2026-11-03';
    const recs = Array.from({ length: 12 }, () => rec({ keyId: 'key_retry', time: `${day}T00:00:00.000Z` }));
    const events = await written(recs);
    await fold().fold(streamEntries(events.slice(0, 6)));
    // Lambda retries from the batch's first record; by then more records are in the stream.
    await fold().fold(streamEntries(events));
    await fold().fold(streamEntries(events.slice(0, 3)));
    const aggs = await aggOf(day, 'key_retry');
    expect(sum(aggs, (a) => a.requests)).toBe(12);
    expect(sum(aggs, (a) => a.inputTokens)).toBe(sum(recs, (r) => r.inputTokens));
  });

  for (const fault of FAULTS) {
    it(`a batch whose write ${fault === 'lost' ? 'is lost' : fault === 'landed' ? 'lands but its answer is lost' : 'is resent by the SDK'} is exact once retried`, async () => {
      const day = `2026-11-1${FAULTS.indexOf(fault)}`;
      // The fault hits each of the batch's four aggregate writes in turn, each time on fresh records.
      for (let at = 0; at < 4; at++) {
        const keyId = `key_fault_${fault}_${at}`;
        const recs = Array.from({ length: 16 }, (_, i) =>
          rec({ keyId, time: `${day}T00:00:00.000Z`, model: `m${i % 4}` }),
        );
        const events = await written(recs);
        const { client } = faultyClient(conn.client, {
          at,
          fault,
          only: (c) => c.constructor.name === 'UpdateItemCommand',
        });
        const failed = await fold(client)
          .fold(streamEntries(events))
          .then(
            () => false,
            () => true,
          );
        // A resent call answers with its own refusal, which the fold resolves by reading its mark.
        expect(failed).toBe(fault !== 'twice');
        // Lambda retries the batch from its first record.
        await fold().fold(streamEntries(events));
        const aggs = await aggOf(day, keyId);
        expect(sum(aggs, (a) => a.requests)).toBe(16);
        expect(sum(aggs, (a) => a.inputTokens)).toBe(sum(recs, (r) => r.inputTokens));
      }
    });
  }

  it("removes a returned batch's marks after the grace period, and marks older than the stream's retention", async () => {
    const day = '2026-11-20';
    // The simulated stream stamps records with the real time: the fold's clock starts there.
    let now = Date.now();
    const f = fold(conn.client, () => now);
    const first = rec({ keyId: 'key_tidy', time: `${day}T00:00:00.000Z` });
    // Records of one aggregate: same day, key and model, and the same record id (the shard follows it).
    const next = (i: number) => rec({ ...first, requestId: `${first.requestId}-${i}` });
    const marks = async () => {
      const got = await conn.client.send(
        new GetItemCommand({ TableName: table, Key: aggregateKey(first, SHARDS).key, ConsistentRead: true }),
      );
      return Object.keys(got.Item ?? {})
        .filter((k) => k.startsWith('applied#s#'))
        .sort();
    };
    const markOf = (events: DynamoStreamRecord[]) => `applied#s#${events[0]?.eventID}`;
    const step = async (folder: LedgerStreamFold, i: number, commit = true) => {
      const events = await written([i === 0 ? first : next(i)]);
      await folder.fold(streamEntries(events));
      if (commit) folder.committed();
      return markOf(events);
    };
    const m1 = await step(f, 0);
    const m2 = await step(f, 1);
    // Within the grace period a redelivery is still possible: both marks stay.
    expect(await marks()).toEqual([m1, m2].sort());
    now += REDELIVERY_GRACE_MS + 1;
    const m3 = await step(f, 2);
    expect(await marks()).toEqual([m3]);
    // Another instance folds a batch and is never seen again (its batch never returned, here).
    const m4 = await step(
      fold(conn.client, () => now),
      3,
      false,
    );
    expect(await marks()).toEqual([m3, m4].sort());
    now += 26 * 3600_000;
    const m5 = await step(f, 4);
    expect(await marks()).toEqual([m4, m5].sort());
    // m4's records are past the stream's 24 h retention: no redelivery can need it.
    const m6 = await step(f, 5);
    expect(await marks()).toEqual([m5, m6].sort());
    const [agg] = await aggOf(day, 'key_tidy');
    expect(agg?.requests).toBe(6);
  });

  it("settles the records' budget reservations on the keys table, once however often a batch comes", async () => {
    const keys = conn.tableName(KEYS_TABLE);
    const limits = new DynamoLimitStore(conn.client, keys);
    const now = Date.now();
    const admitted = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        limits.admit({
          keyId: 'key_budget_fold',
          shards: 2,
          requestKey: `fold-${i}`,
          nowEpochMs: now,
          budget: { window: 'total', limitUsd: 10, amountUsd: 0.5, expiresAtEpochMs: now + 120_000 },
        }),
      ),
    );
    const recs = admitted.map((d) => {
      if (!d.ok || d.reservation === undefined) throw new Error('not admitted');
      return rec({ keyId: 'key_budget_fold', costUsd: 0.125, reservation: d.reservation });
    });
    expect(await limits.spent('key_budget_fold', 'total', 2)).toEqual({ spentUsd: 0, committedUsd: 4 });
    const events = await written(recs);
    const folder = new LedgerStreamFold(conn.client, table, { shards: SHARDS, limitsTable: keys });
    await folder.fold(streamEntries(events.slice(0, 5)));
    await folder.fold(streamEntries(events));
    await fold(conn.client)
      .fold(streamEntries(events))
      .catch(() => undefined);
    await new LedgerStreamFold(conn.client, table, { shards: SHARDS, limitsTable: keys }).fold(
      streamEntries(events),
    );
    expect(await limits.spent('key_budget_fold', 'total', 2)).toEqual({ spentUsd: 1, committedUsd: 1 });
  });

  it('reads only new request records: updates, deletions and other items are not folded', () => {
    const image = { pk: { S: 'req#x' }, sk: { S: 'r' }, doc: { S: JSON.stringify(rec()) } };
    const base = { eventID: 'e', dynamodb: { SequenceNumber: '1', NewImage: image } };
    expect(streamEntries([{ ...base, eventName: 'INSERT' }])).toHaveLength(1);
    expect(streamEntries([{ ...base, eventName: 'MODIFY' }])).toHaveLength(0);
    expect(streamEntries([{ ...base, eventName: 'REMOVE', dynamodb: { SequenceNumber: '1' } }])).toHaveLength(
      0,
    );
    expect(
      streamEntries([
        {
          ...base,
          eventName: 'INSERT',
          dynamodb: { SequenceNumber: '1', NewImage: { pk: { S: 'agg#d#0' } } },
        },
      ]),
    ).toHaveLength(0);
    expect(() => streamEntries([{ eventName: 'INSERT', dynamodb: { NewImage: image } }])).toThrow(/sequence/);
  });
});
