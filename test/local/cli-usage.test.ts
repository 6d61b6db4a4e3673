/**
 * `switchyard usage` and `usage replay` as a user runs them, on a temp data dir (the embedded store on disk),
 * and against a deployed stack's tables (CloudFormation mocked by a fake endpoint, DynamoDB as dynalite
 * behind a proxy that counts the calls in flight).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { DynamoLedger } from '../../functions/aws/stores/dynamo-ledger.ts';
import { LedgerStreamFold, streamEntries } from '../../functions/aws/stores/ledger-stream-fold.ts';
import { LogUsageSpool } from '../../functions/aws/usage-spool.ts';
import { shiftDay } from '../../functions/core/days.ts';
import { SecretMasker } from '../../functions/core/secrets.ts';
import { KEYS_TABLE, USAGE_TABLE } from '../../functions/core/stores/tables.ts';
import type { UsageRecord } from '../../functions/core/usage/types.ts';
import { openStore } from '../../functions/local/embedded-store.ts';
import { FileUsageSpool } from '../../functions/local/usage-spool.ts';
import { awsEnv, runCli } from '../support/cli-runner.ts';
import { type CountingProxy, startCountingProxy } from '../support/counting-proxy.ts';
import { type DynamoEndpoint, startDynamoEndpoint } from '../support/dynamo-endpoint.ts';
import { type FakeCloudFormation, startFakeCloudFormation } from '../support/fake-cloudformation.ts';
import { startUsageStream } from '../support/usage-stream.ts';

let dir: string;
const run = (args: string[]) => runCli(args, { SWITCHYARD_DATA_DIR: join(dir, 'data') });
const day = new Date().toISOString().slice(0, 10);

function rec(i: number, over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    requestId: `req-${i}`,
    recordId: `0190-rec-${i}`,
    time: `${day}T00:00:0${i}.000Z`,
    keyId: i % 2 === 0 ? 'key_even' : 'key_odd',
    endpoint: 'chat',
    route: 'gpt-4o-mini',
    provider: 'relay',
    model: 'gpt-4o-mini',
    status: 200,
    errorCode: null,
    inputTokens: 100 * i,
    outputTokens: 10 * i,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
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
      // One shard, as the local server writes the ledger.
      new DynamoLedger(conn.client, conn.tableName(USAGE_TABLE), { shards: 1, retentionDays: 1 }),
    );
  } finally {
    await conn.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-usage-'));
  await withLedger(async (l) => {
    for (const i of [1, 2]) await l.write(rec(i));
    await l.write(rec(3, { endpoint: 'messages', cacheWriteTokens: 30 }));
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
  const conn = await openStore(join(dir, 'data'));
  try {
    await new DynamoKeyRepo(conn.client, conn.tableName(KEYS_TABLE)).put({
      id: 'key_odd',
      name: 'odd, the team',
      hash: 'e'.repeat(64),
      createdAt: `${day}T00:00:00.000Z`,
    });
  } finally {
    await conn.close();
  }
}, 30_000);
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

  it('names each key beside its id (a key no longer in the keys table gets an empty name)', async () => {
    const table = await run(['usage']);
    expect(table.out).toMatch(/key\s+name\s+requests/);
    expect(table.out).toMatch(/key_odd\s+odd, the team\s+3\s+0\s+900/);
    const { rows } = JSON.parse((await run(['usage', '--json'])).out) as { rows: Record<string, unknown>[] };
    expect(rows.map((x) => [x.key, x.name])).toEqual([
      ['key_even', ''],
      ['key_odd', 'odd, the team'],
    ]);
    const requests = await run(['usage', '--requests']);
    expect(requests.out).toMatch(/req-1\s+key_odd\s+odd, the team\s+chat\s+gpt-4o-mini/);
  });

  it('prints CSV whose amounts a spreadsheet reads as numbers (no $, no separators)', async () => {
    const totals = (await run(['usage', '--csv'])).out.trim().split('\n');
    expect(totals).toEqual([
      'key,name,requests,errors,inputTokens,outputTokens,cachedInputTokens,cacheWriteTokens,reasoningTokens,costUsd,unpricedRequests,estimatedRequests,implausibleRequests,estimatedInputTokens,estimatedOutputTokens,estimatedCostUsd',
      'key_even,,2,1,200,20,0,0,0,0.002,0,0,0,0,0,0',
      'key_odd,"odd, the team",3,0,900,90,0,30,0,0.004,1,0,0,0,0,0',
    ]);
    const byModel = (await run(['usage', '--csv', '--by', 'model'])).out.trim().split('\n');
    expect(byModel[1]).toBe('gpt-4o-mini,5,1,1100,110,0,30,0,0.006,1,0,0,0,0,0');
    const perRequest = (await run(['usage', '--requests', '--csv'])).out.trim().split('\n');
    expect(perRequest[0]).toBe(
      'time,requestId,recordId,keyId,keyName,endpoint,route,provider,model,status,errorCode,inputTokens,outputTokens,cachedInputTokens,cacheWriteTokens,reasoningTokens,costUsd,priceVersion,latencyMs,ttftMs,attempts,stream,usageSource,upstreamId',
    );
    expect(perRequest[1]).toBe(
      `${day}T00:00:01.000Z,req-1,0190-rec-1,key_odd,"odd, the team",chat,gpt-4o-mini,relay,gpt-4o-mini,200,,100,10,0,0,0,0.001,v1,50,,1,false,provider,chatcmpl-1`,
    );
    expect(perRequest[3]).toContain(
      ',"odd, the team",messages,gpt-4o-mini,relay,gpt-4o-mini,200,,300,30,0,30,0,',
    );
    expect(perRequest[5]).toContain(',500,50,0,0,0,,,50,'); // unpriced: an empty cost, never 0
    const both = await run(['usage', '--csv', '--json']);
    expect([both.code, both.err.split('\n')[0]]).toEqual([2, 'usage: --json or --csv, not both']);
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

  it('lists the requests of one endpoint (--endpoint), and says the totals cannot be split by it', async () => {
    const only = await run(['usage', '--requests', '--json', '--endpoint', 'messages']);
    expect((JSON.parse(only.out) as UsageRecord[]).map((x) => x.requestId)).toEqual(['req-3']);
    const table = await run(['usage', '--requests', '--endpoint', 'chat']);
    expect(table.out).toMatch(/name\s+endpoint\s+route/);
    expect(table.out).toMatch(/req-1\s+key_odd\s+odd, the team\s+chat\s+gpt-4o-mini/);
    expect(table.out).not.toContain('req-3');
    const totals = await run(['usage', '--endpoint', 'chat']);
    expect([totals.code, totals.err.split('\n')[0]]).toEqual([
      2,
      'usage: --endpoint needs --requests (the daily totals are by key, provider and model)',
    ]);
    const bad = await run(['usage', '--requests', '--endpoint', 'completions']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--endpoint must be chat, embeddings, responses or messages');
  });

  it('rejects a bad --since with the flag named', async () => {
    const r = await run(['usage', '--since', 'last tuesday']);
    expect(r.code).toBe(2);
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

  it('masks every key the gateway holds in the spooled lines (local file and Lambda log)', async () => {
    const key = 'prov-7f3a9c2e41d8b6a05e9f';
    const secrets = new SecretMasker();
    secrets.add([key]);
    const record = rec(6, { upstreamId: `echo ${key}`, requestId: 'masked-6' });
    const error = new Error(`store said: bad token "${key}"`);

    const file = new FileUsageSpool(join(dir, 'masked-spool'), secrets);
    file.spool(record, error);
    const lines: string[] = [];
    new LogUsageSpool((l) => lines.push(l), secrets).spool(record, error);

    for (const text of [await readFile(file.path, 'utf8'), lines.join('')]) {
      expect(text).not.toContain(key);
      expect(text).not.toContain('7f3a9c2e41d8b6a05e9f');
      const line = JSON.parse(text) as { usageRecord: UsageRecord; error: string };
      expect(line.error).toBe('store said: bad token "…5e9f"');
      expect(line.usageRecord.upstreamId).toBe('echo …5e9f');
      expect(line.usageRecord.requestId).toBe('masked-6');
    }
  });
});

describe('switchyard usage replay --stack on a stack whose stream folds the ledger', () => {
  it('only puts the records (UsageFold output): the stream adds each into the aggregates once', async () => {
    const dynamo = await startDynamoEndpoint();
    const table = dynamo.tableName(USAGE_TABLE);
    const stream = await startUsageStream(dynamo.endpoint, table);
    const cfn = await startFakeCloudFormation({
      Prod: { UsageTableName: table, KeysTableName: dynamo.tableName(KEYS_TABLE), UsageFold: 'stream' },
    });
    try {
      const spool = new FileUsageSpool(join(dir, 'stack-spool'));
      for (const i of [4, 5])
        spool.spool(rec(i, { keyId: 'key_replayed', requestId: `stack-${i}` }), new Error('throttled'));
      const env = { SWITCHYARD_DATA_DIR: join(dir, 'unused'), ...awsEnv(cfn.url, stream.url) };
      expect((await runCli(['usage', 'replay', spool.path, '--stack', 'Prod'], env)).out).toBe(
        '2 written, 0 already there, 0 invalid\n',
      );
      expect((await runCli(['usage', 'replay', spool.path, '--stack', 'Prod'], env)).out).toBe(
        '0 written, 2 already there, 0 invalid\n',
      );
      const reader = new DynamoLedger(dynamo.client, table, { shards: 8, retentionDays: 1 });
      const requests = async () =>
        (await reader.aggregates(day, day))
          .filter((a) => a.keyId === 'key_replayed')
          .reduce((n, a) => n + a.requests, 0);
      expect(await requests()).toBe(0);
      const events = stream.take();
      expect(events).toHaveLength(2);
      await new LedgerStreamFold(dynamo.client, table, { shards: 8 }).fold(streamEntries(events));
      expect(await requests()).toBe(2);
    } finally {
      await cfn.close();
      await stream.close();
      await dynamo.close();
    }
  }, 60_000);
});

describe('switchyard usage --stack over a long range', () => {
  let dynamo: DynamoEndpoint;
  let cfn: FakeCloudFormation;
  let proxy: CountingProxy;
  const longAgo = shiftDay(day, -150);
  beforeAll(async () => {
    dynamo = await startDynamoEndpoint();
    const ledger = new DynamoLedger(dynamo.client, dynamo.tableName(USAGE_TABLE), {
      shards: 8,
      retentionDays: 1,
    });
    await ledger.write(rec(1, { time: `${shiftDay(day, -100)}T12:00:00.000Z`, keyId: 'key_old' }));
    await ledger.write(rec(2, { keyId: 'key_old' }));
    await ledger.write(rec(3, { keyId: 'master' }));
    await new DynamoKeyRepo(dynamo.client, dynamo.tableName(KEYS_TABLE)).put({
      id: 'key_old',
      name: 'billing-service',
      hash: 'f'.repeat(64),
      createdAt: `${longAgo}T00:00:00.000Z`,
    });
    proxy = await startCountingProxy(dynamo.endpoint);
    cfn = await startFakeCloudFormation({
      Prod: { UsageTableName: dynamo.tableName(USAGE_TABLE), KeysTableName: dynamo.tableName(KEYS_TABLE) },
    });
  });
  afterAll(async () => {
    await cfn.close();
    await proxy.close();
    await dynamo.close();
  });

  it('reads 150 days × 8 shards with at most 16 store calls in flight, and names the keys', async () => {
    // Each day is one query per shard: a long range is thousands of queries. Launched all at once they
    // crashed the CLI's store (78,000 for --since 2000-01-01); now at most 16 are in flight.
    const r = await runCli(['usage', '--since', longAgo, '--json', '--stack', 'Prod'], {
      SWITCHYARD_DATA_DIR: join(dir, 'unused'),
      ...awsEnv(cfn.url, proxy.url),
    });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const { rows } = JSON.parse(r.out) as { rows: Record<string, number | string>[] };
    expect(rows.map((x) => [x.key, x.name, x.requests])).toEqual([
      ['key_old', 'billing-service', 2],
      ['master', 'master key', 1],
    ]);
    expect(proxy.calls()).toBeGreaterThan(151 * 8);
    expect(proxy.maxInFlight()).toBeLessThanOrEqual(16);
    expect(proxy.maxInFlight()).toBeGreaterThan(1);
  }, 60_000);
});

describe('switchyard usage --stack on a stack deployed with more shards', () => {
  it("reads every shard the stack writes (its UsageShards output), whatever this machine's env says", async () => {
    const dynamo = await startDynamoEndpoint();
    const ledger = new DynamoLedger(dynamo.client, dynamo.tableName(USAGE_TABLE), {
      shards: 32,
      retentionDays: 1,
    });
    for (let i = 0; i < 40; i++) {
      const time = `${day}T00:01:${String(i).padStart(2, '0')}.000Z`;
      await ledger.write(rec(100 + i, { keyId: 'key_sharded', time }));
    }
    const cfn = await startFakeCloudFormation({
      Prod: {
        UsageTableName: dynamo.tableName(USAGE_TABLE),
        KeysTableName: dynamo.tableName(KEYS_TABLE),
        UsageShards: '32',
      },
    });
    try {
      const r = await runCli(['usage', '--json', '--stack', 'Prod'], {
        SWITCHYARD_DATA_DIR: join(dir, 'unused'),
        ...awsEnv(cfn.url, dynamo.endpoint),
      });
      expect(r.code).toBe(0);
      const { rows } = JSON.parse(r.out) as { rows: Record<string, number | string>[] };
      expect(rows.find((x) => x.key === 'key_sharded')?.requests).toBe(40);
    } finally {
      await cfn.close();
      await dynamo.close();
    }
  }, 60_000);
});
