/**
 * `switchyard reconcile` as a user runs it: a data dir whose ledger holds a day of records, routes synced
 * from a YAML file, billing keys in the environment, and fake billing APIs on loopback.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../functions/aws/stores/dynamo-ledger.ts';
import { USAGE_TABLE } from '../../functions/core/stores/tables.ts';
import type { UsageRecord } from '../../functions/core/usage/types.ts';
import { openStore } from '../../functions/local/embedded-store.ts';
import { runCli } from '../support/cli-runner.ts';
import { type OneapiBillingFake, startOneapiBillingFake } from '../support/fake-billing-oneapi.ts';
import { type FakeOpenAIBilling, startOpenAIBillingFake } from '../support/fake-billing-openai.ts';

let dir: string;
let openaiBill: FakeOpenAIBilling;
let relayBill: OneapiBillingFake;
const day = '2026-11-20';

function rec(i: number): UsageRecord {
  return {
    requestId: `req-${i}`,
    recordId: `0190-rec-${i}`,
    time: `${day}T08:00:0${i}.000Z`,
    keyId: 'master',
    endpoint: 'chat',
    route: 'r',
    provider: 'oai',
    model: 'gpt-4o-mini',
    status: 200,
    errorCode: null,
    inputTokens: 1000,
    outputTokens: 500,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    costUsd: 0.25,
    priceVersion: 'v1',
    latencyMs: 50,
    ttftMs: null,
    attempts: 1,
    stream: false,
    usageSource: 'provider',
    upstreamId: `chatcmpl-${i}`,
  };
}

const run = (args: string[]) =>
  runCli(args, {
    SWITCHYARD_DATA_DIR: join(dir, 'data'),
    SWITCHYARD_BILLING_KEYS: JSON.stringify({ oai: openaiBill.adminKey }),
    SWITCHYARD_PROVIDER_KEYS: JSON.stringify({ relay: 'sk-relay' }),
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-reconcile-'));
  [openaiBill, relayBill] = await Promise.all([
    startOpenAIBillingFake(),
    startOneapiBillingFake({ key: 'sk-relay' }),
  ]);
  const yaml = [
    'providers:',
    '  oai:',
    '    preset: openai',
    `    billing: { type: openai-costs, baseUrl: "${openaiBill.url}" }`,
    '  relay:',
    '    type: openai',
    '    baseUrls: [https://relay.example/v1]',
    `    billing: { type: oneapi, baseUrl: "${relayBill.url}" }`,
    'routes:',
    '  r: { targets: [{ provider: oai, model: gpt-4o-mini }] }',
  ].join('\n');
  await writeFile(join(dir, 'switchyard.yaml'), yaml);
  const synced = await run(['routes', 'sync', join(dir, 'switchyard.yaml')]);
  expect(synced.code).toBe(0);
  const conn = await openStore(join(dir, 'data'));
  try {
    // One shard, as the local server writes the ledger.
    const ledger = new DynamoLedger(conn.client, conn.tableName(USAGE_TABLE), {
      shards: 1,
      retentionDays: 90,
    });
    for (const i of [1, 2, 3, 4]) await ledger.write(rec(i));
  } finally {
    await conn.close();
  }
  relayBill.setQuotaUsd(10);
  relayBill.setUsedUsd(1);
}, 60_000);

afterAll(async () => {
  await Promise.all([openaiBill.close(), relayBill.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('switchyard reconcile', () => {
  it('prints a table of provider, day, ledger, bill, drift and verdict, with progress on stderr', async () => {
    openaiBill.setDay(day, {
      costs: [{ value: 1 }],
      usage: [{ model: 'gpt-4o-mini', inputTokens: 4000, outputTokens: 2000, requests: 4 }],
    });
    const r = await run(['reconcile', '--date', day]);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^provider\s+day\s+ledger\s+provider bill\s+drift\s+verdict\s+reason/);
    expect(lines.find((l) => l.startsWith('oai'))).toMatch(
      /oai\s+2026-11-20\s+\$1\.0000\s+\$1\.0000\s+0% \(\$0\.0000\)\s+ok/,
    );
    expect(lines.find((l) => l.startsWith('relay'))).toMatch(/unverifiable/);
    expect(r.err).toContain('[1/2] oai');
    expect(r.err).toContain('[2/2] relay');
  });

  it('exits 3 on drift, and --json gives the reports for scripts', async () => {
    openaiBill.setDay(day, {
      costs: [{ value: 1.1 }],
      usage: [{ model: 'gpt-4o-mini', inputTokens: 4000, outputTokens: 2000, requests: 4 }],
    });
    const r = await run(['reconcile', '--date', day, '--provider', 'oai', '--json']);
    expect(r.code).toBe(3);
    const reports = JSON.parse(r.out) as {
      provider: string;
      verdict: string;
      driftPercent: number;
      driftUsd: number;
    }[];
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ provider: 'oai', verdict: 'drift', driftPercent: 10, driftUsd: 0.1 });
  });

  it('--csv gives finance a header row and one row per provider, amounts as plain numbers', async () => {
    openaiBill.setDay(day, {
      costs: [{ value: 1234.5 }],
      usage: [{ model: 'gpt-4o-mini', inputTokens: 4000, outputTokens: 2000, requests: 4 }],
    });
    const r = await run(['reconcile', '--date', day, '--csv']);
    const rows = r.out.trim().split('\n');
    expect(rows[0]).toBe(
      'provider,day,ledgerCostUsd,billAmount,billCurrency,billCostUsd,driftUsd,driftPercent,verdict,reason',
    );
    expect(rows).toHaveLength(3);
    // What a spreadsheet reads as numbers: no $, no thousands separators, no exponent.
    expect(rows[1]).toMatch(
      /^oai,2026-11-20,1,1234\.5,USD,1234\.5,1233\.5,123350,drift,provider \$1234\.5 vs/,
    );
    expect(rows[2]).toMatch(/^relay,2026-11-20,0,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,unverifiable,/);
  });

  it('names an unknown --provider instead of skipping it (a usage error: exit code 2)', async () => {
    const r = await run(['reconcile', '--date', day, '--provider', 'nope']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no provider nope in the config (known: oai, relay)');
  });

  it('rejects a malformed --date with a clear message', async () => {
    const r = await run(['reconcile', '--date', '20-11-2026']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--date must be YYYY-MM-DD');
  });
});
