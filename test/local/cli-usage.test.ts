/** `switchyard usage` and `usage replay` as a user runs them, on a temp data dir (the embedded store on disk). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../functions/aws/stores/dynamo-ledger.ts';
import { LogUsageSpool } from '../../functions/aws/usage-spool.ts';
import { USAGE_TABLE } from '../../functions/core/stores/tables.ts';
import type { UsageRecord } from '../../functions/core/usage/types.ts';
import { openStore } from '../../functions/local/embedded-store.ts';
import { FileUsageSpool } from '../../functions/local/usage-spool.ts';
import { runCli } from '../support/cli-runner.ts';

let dir: string;
const run = (args: string[]) => runCli(args, { SWITCHYARD_DATA_DIR: join(dir, 'data') });
const day = new Date().toISOString().slice(0, 10);

function rec(i: number, over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    requestId: `req-${i}`,
    recordId: `0190-rec-${i}`,
    time: `${day}T00:00:0${i}.000Z`,
    keyId: i % 2 === 0 ? 'key_even' : 'key_odd',
    route: 'gpt-4o-mini',
    provider: 'relay',
    model: 'gpt-4o-mini',
    status: 200,
    errorCode: null,
    inputTokens: 100 * i,
    outputTokens: 10 * i,
    cachedInputTokens: 0,
    reasoningTokens: 0,
    costUsd: 0.001 * i,
    priceVersion: 'v1',
    latencyMs: 50,
    ttftMs: null,
    attempts: 1,
    stream: false,
    usageSource: 'provider',
    upstreamId: `chatcmpl-${i}`,
    ...over,
  };
}

async function withLedger<T>(fn: (l: DynamoLedger) => Promise<T>): Promise<T> {
  const conn = await openStore(join(dir, 'data'));
  try {
    return await fn(
      new DynamoLedger(conn.client, conn.tableName(USAGE_TABLE), { shards: 8, retentionDays: 1 }),
    );
  } finally {
    await conn.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-usage-'));
  await withLedger(async (l) => {
    for (const i of [1, 2, 3]) await l.write(rec(i));
    await l.write(
      rec(4, {
        status: 502,
        errorCode: 'upstream_server_error',
        costUsd: null,
        inputTokens: 0,
        outputTokens: 0,
        usageSource: 'none',
      }),
    );
    await l.write(rec(5, { costUsd: null, priceVersion: null }));
  });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('switchyard usage', () => {
  it('sums requests, errors, tokens and cost by key from the aggregates', async () => {
    const r = await run(['usage', '--json']);
    expect(r.err).toBe('');
    const { rows } = JSON.parse(r.out) as { rows: Record<string, number | string>[] };
    expect(rows.find((x) => x.key === 'key_odd')).toMatchObject({
      requests: 3,
      errors: 0,
      inputTokens: 900,
      outputTokens: 90,
      costUsd: 0.004,
      unpricedRequests: 1,
    });
    expect(rows.find((x) => x.key === 'key_even')).toMatchObject({
      requests: 2,
      errors: 1,
      costUsd: 0.002,
      unpricedRequests: 0,
    });
  });

  it('prints a table grouped by model', async () => {
    const r = await run(['usage', '--by', 'model']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/gpt-4o-mini\s+5\s+1\s+1100\s+110\s+0\.006000\s+1\s+0/);
  });

  it('lists one record per request with the ledger field names (--requests --json)', async () => {
    const r = await run(['usage', '--requests', '--json']);
    const records = JSON.parse(r.out) as UsageRecord[];
    expect(records.map((x) => x.requestId)).toEqual(['req-1', 'req-2', 'req-3', 'req-4', 'req-5']);
    expect(records[0]).toEqual(rec(1));
    expect(records[4]?.costUsd).toBeNull();
  });

  it('rejects a bad --since with the flag named', async () => {
    const r = await run(['usage', '--since', 'last tuesday']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--since');
  });
});

describe('switchyard usage replay', () => {
  it('re-ingests a local spool idempotently and counts what it could not read', async () => {
    const spool = new FileUsageSpool(join(dir, 'spool'));
    for (const i of [6, 7, 8]) spool.spool(rec(i), new Error('store down'));
    await writeFile(spool.path, 'this is not a record\n', { flag: 'a' });
    const first = await run(['usage', 'replay', spool.path]);
    expect(first.out).toBe('3 written, 0 already there, 1 invalid (lines 4)\n');
    const again = await run(['usage', 'replay', spool.path]);
    expect(again.out).toBe('0 written, 3 already there, 1 invalid (lines 4)\n');
    const totals = await withLedger((l) => l.aggregates(day, day));
    expect(totals.reduce((n, a) => n + a.requests, 0)).toBe(8);
  });

  it('reads records out of exported Lambda log lines (text before the JSON)', async () => {
    const lines: string[] = [];
    const spool = new LogUsageSpool((l) => lines.push(`2026-11-24T10:00:00.000Z\tabc-123\tINFO\t${l}`));
    spool.spool(rec(9), new Error('throttled'));
    await writeFile(join(dir, 'export.log'), lines.join(''));
    const r = await run(['usage', 'replay', join(dir, 'export.log')]);
    expect(r.out).toBe('1 written, 0 already there, 0 invalid\n');
  });
});
