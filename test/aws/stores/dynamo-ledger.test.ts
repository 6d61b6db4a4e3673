/** The usage ledger against dynalite: written once, aggregated once, read back exactly, by time. */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../../functions/aws/stores/dynamo-ledger.ts';
import { aggregateKey, recordItem } from '../../../functions/aws/stores/ledger-items.ts';
import { USAGE_TABLE } from '../../../functions/core/stores/tables.ts';
import type { UsageRecord } from '../../../functions/core/usage/types.ts';
import { type StoreConnection, startEmbeddedStore } from '../../../functions/local/embedded-store.ts';
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

  it('keeps an implausible record as reported with its flag, counts it, and keeps old records unflagged', async () => {
    const at = '2026-10-07T10:00:00.000Z';
    const flagged = rec({
      keyId: 'key_flag',
      time: at,
      outputTokens: 1e15,
      costUsd: 0.000044,
      implausible: 'output 1000000000000000 tokens > 10 allowed (cap 10 × 1)',
    });
    const plain = rec({ keyId: 'key_flag', time: at });
    await ledger.write(flagged);
    await ledger.write(plain);
    const back = await ledger.records(at, '2026-10-07T10:00:01.000Z');
    expect(back.find((r) => r.recordId === flagged.recordId)).toEqual(flagged);
    // A record without the flag (every record written before it existed) reads back without the field.
    expect(Object.keys(back.find((r) => r.recordId === plain.recordId) ?? {})).not.toContain('implausible');
    const [a] = await aggOf('2026-10-07', 'key_flag');
    expect(a).toMatchObject({ requests: 2, implausibleRequests: 1, outputTokens: 1e15 + 5 });
  });

  it("keeps each record's endpoint and prompt-cache writes, and sums the writes into the aggregate", async () => {
    const at = '2026-10-20T10:00:00.000Z';
    const messages = rec({ keyId: 'key_ep', time: at, endpoint: 'messages', cacheWriteTokens: 2000 });
    const responses = rec({ keyId: 'key_ep', time: at, endpoint: 'responses', cacheWriteTokens: 48 });
    await ledger.write(messages);
    await ledger.writeBatch([responses]);
    const back = await ledger.records(at, '2026-10-20T10:00:01.000Z');
    expect(back.find((r) => r.recordId === messages.recordId)).toEqual(messages);
    expect(back.find((r) => r.recordId === responses.recordId)).toEqual(responses);
    const [a] = await aggOf('2026-10-20', 'key_ep');
    expect(a).toMatchObject({ requests: 2, cacheWriteTokens: 2048 });
  });

  it('reads an item written before the endpoint and cache-write fields as a chat request with 0 writes', async () => {
    const r = rec({ keyId: 'key_before', time: '2026-10-21T10:00:00.000Z' });
    const { endpoint: _e, cacheWriteTokens: _c, ...before } = r;
    const item = { ...recordItem(r, SHARDS, 30, true), doc: { S: JSON.stringify(before) } };
    await conn.client.send(new PutItemCommand({ TableName: conn.tableName(USAGE_TABLE), Item: item }));
    const [back] = await ledger.records(r.time, '2026-10-21T10:00:01.000Z');
    expect(back).toEqual({ ...before, endpoint: 'chat', cacheWriteTokens: 0 });
  });

  it('sums token counters as exact integers, however large (only USD is rounded)', async () => {
    const at = '2026-10-08T10:00:00.000Z';
    await ledger.write(rec({ keyId: 'key_big', time: at, outputTokens: 1e15 }));
    await ledger.write(rec({ keyId: 'key_big', time: at, outputTokens: 1_000_000_000_007 }));
    const [a] = await aggOf('2026-10-08', 'key_big');
    expect(a?.outputTokens).toBe(1e15 + 1_000_000_000_007);
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

describe('DynamoLedger readers that hold no whole day', () => {
  const day = '2026-10-20';
  const at = (s: number) => new Date(Date.parse(`${day}T00:00:00.000Z`) + s * 1000).toISOString();
  let all: UsageRecord[];
  beforeAll(async () => {
    const made = Array.from({ length: 1200 }, (_, i) =>
      rec({ keyId: 'key_pages', time: at(i), provider: i % 50 === 7 ? 'rare' : 'common' }),
    );
    await ledger.writeBatch(made);
    all = await ledger.records(`${day}T00:00:00.000Z`, `${day}T23:59:59.999Z`);
  });

  it('visits every record of a window once, page by page', async () => {
    const seen: string[] = [];
    await ledger.eachRecord(`${day}T00:00:00.000Z`, `${day}T23:59:59.999Z`, (r) => seen.push(r.recordId));
    expect(seen.sort()).toEqual(all.map((r) => r.recordId).sort());
  });

  it('finds the oldest n matching records reading only as far as each shard needs', async () => {
    let items = 0;
    const counting = new DynamoLedger(
      {
        send: async (c: Parameters<typeof conn.client.send>[0]) => {
          const out = (await conn.client.send(c)) as { Items?: unknown[] };
          items += out.Items?.length ?? 0;
          return out;
        },
      } as unknown as typeof conn.client,
      conn.tableName(USAGE_TABLE),
      { shards: SHARDS, retentionDays: 30 },
    );
    const match = (r: UsageRecord) => r.provider === 'common' && r.keyId === 'key_pages';
    const got = await counting.firstRecords(`${day}T00:00:00.000Z`, `${day}T23:59:59.999Z`, 3, match);
    expect(got.map((r) => r.recordId)).toEqual(
      all
        .filter(match)
        .slice(0, 3)
        .map((r) => r.recordId),
    );
    // Each shard's first page (200 records) holds its three: one page per shard (800), not the day's 1,200+.
    expect(items).toBeLessThanOrEqual(4 * 200);
    const isRare = (r: UsageRecord) => r.provider === 'rare' && r.keyId === 'key_pages';
    const rare = await ledger.firstRecords(`${day}T00:00:00.000Z`, `${day}T23:59:59.999Z`, 10, isRare);
    expect(rare.map((r) => r.recordId)).toEqual(
      all
        .filter(isRare)
        .slice(0, 10)
        .map((r) => r.recordId),
    );
  });
});
