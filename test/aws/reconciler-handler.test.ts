/**
 * The scheduled reconciler as Lambda runs it: the real handler bundle (built with the stack's esbuild
 * options) loaded under the runtime's reserved environment, against dynalite (config, ledger, reports), a fake
 * Secrets Manager (provider and `_billing` keys) and fake billing APIs on loopback; invoked with the events
 * the EventBridge rules send. Its EMF output is read from what it writes to stdout, as CloudWatch would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../functions/aws/stores/dynamo-ledger.ts';
import { DynamoReportStore } from '../../functions/aws/stores/dynamo-report-store.ts';
import { DynamoRouteStore } from '../../functions/aws/stores/dynamo-route-store.ts';
import type { Statement } from '../../functions/core/billing/statement.ts';
import { parseConfig } from '../../functions/core/config/schema.ts';
import { CONFIG_TABLE, KEYS_TABLE, REPORTS_TABLE, USAGE_TABLE } from '../../functions/core/stores/tables.ts';
import type { UsageRecord } from '../../functions/core/usage/types.ts';
import { esbuildOptions, RECONCILER_HANDLER_ENTRY } from '../../lib/handler-bundling.ts';
import { type DynamoEndpoint, startDynamoEndpoint } from '../support/dynamo-endpoint.ts';
import { type OneapiBillingFake, startOneapiBillingFake } from '../support/fake-billing-oneapi.ts';
import { type FakeOpenAIBilling, startOpenAIBillingFake } from '../support/fake-billing-openai.ts';
import { type FakeS3, startFakeS3 } from '../support/fake-s3.ts';
import { type FakeSecretsManager, startFakeSecretsManager } from './support/fake-secrets-manager.ts';
import { DEFAULT_FUNCTION, FunctionLogs, lambdaRuntimeEnv } from './support/function-env.ts';

const SECRET_ID = 'switchyard/keys';
const ADMIN_KEY = 'sk-admin-reconciler-harness';
const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);

let dir: string;
let conn: DynamoEndpoint;
let secrets: FakeSecretsManager;
let openaiBill: FakeOpenAIBilling;
let relayBill: OneapiBillingFake;
let s3: FakeS3;
const BUCKET = 'switchyard-statements';
let handler: (event: unknown) => Promise<{
  mode: string;
  day: string;
  statement?: { month: string; issued: boolean; number: string };
  reports: { provider: string; verdict: string }[];
}>;
const logs = new FunctionLogs();
const envBefore = { ...process.env };

function record(i: number, provider: string, costUsd: number): UsageRecord {
  return {
    requestId: `req-${provider}-${i}`,
    recordId: `0192f0c0-0000-7000-8000-${String(i).padStart(6, '0')}${provider === 'oai' ? '000000' : '111111'}`,
    time: `${day}T10:00:0${i}.000Z`,
    keyId: 'master',
    endpoint: 'chat',
    route: 'r',
    provider,
    model: 'gpt-4o-mini',
    status: 200,
    errorCode: null,
    inputTokens: 200_000,
    outputTokens: 100_000,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    costUsd,
    priceVersion: 'v1',
    latencyMs: 100,
    ttftMs: null,
    attempts: 1,
    stream: false,
    usageSource: 'provider',
    upstreamId: `chatcmpl-${i}`,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sy-reconciler-'));
  const outfile = join(dir, 'node_modules', 'reconciler-task', 'index.mjs');
  [conn, secrets, openaiBill, relayBill, s3] = await Promise.all([
    startDynamoEndpoint(),
    startFakeSecretsManager({ region: DEFAULT_FUNCTION.region }),
    startOpenAIBillingFake({ adminKey: ADMIN_KEY }),
    startOneapiBillingFake({ key: 'sk-relay' }),
    startFakeS3(BUCKET),
    build({ ...esbuildOptions, entryPoints: [RECONCILER_HANDLER_ENTRY], outfile }),
  ]);
  await new DynamoRouteStore(conn.client, conn.tableName(CONFIG_TABLE)).sync(
    parseConfig({
      providers: {
        oai: {
          type: 'openai',
          baseUrls: ['https://unused.example/v1'],
          billing: { type: 'openai-costs', baseUrl: openaiBill.url },
        },
        relay: {
          type: 'openai',
          baseUrls: ['https://unused.example/v1'],
          billing: { type: 'oneapi', baseUrl: relayBill.url, lowBalance: 100 },
        },
      },
      routes: { r: { targets: [{ provider: 'oai', model: 'gpt-4o-mini' }] } },
    }),
  );
  const ledger = new DynamoLedger(conn.client, conn.tableName(USAGE_TABLE), { shards: 8, retentionDays: 90 });
  for (let i = 0; i < 3; i++) await ledger.write(record(i, 'oai', 0.4));
  // October's traffic, for the statement its daily runs of 1-3 November write.
  await ledger.write({
    ...record(7, 'oai', 0.25),
    requestId: 'req-october',
    recordId: '0192-october',
    time: '2026-10-15T10:00:00.000Z',
  });
  // The provider billed $1.236 for $1.20 in the ledger: +3%.
  openaiBill.setDay(day, {
    costs: [{ value: 1.236 }],
    usage: [{ model: 'gpt-4o-mini', inputTokens: 600_000, outputTokens: 300_000, requests: 3 }],
  });
  relayBill.setQuotaUsd(60);
  relayBill.setUsedUsd(20);
  secrets.putSecret(SECRET_ID, {
    _master: 'sk-sy-master-x',
    relay: 'sk-relay',
    _billing: { oai: ADMIN_KEY },
  });

  for (const key of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'POWERTOOLS_DEV', 'AWS_ENDPOINT_URL'])
    delete process.env[key];
  Object.assign(
    process.env,
    lambdaRuntimeEnv({ ...DEFAULT_FUNCTION, functionName: 'switchyard-reconciler' }, dir),
    {
      AWS_ACCESS_KEY_ID: 'AKIDRECONCILERHARNESS',
      AWS_SECRET_ACCESS_KEY: 'reconciler-harness-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: conn.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      SWITCHYARD_CONFIG_TABLE: conn.tableName(CONFIG_TABLE),
      SWITCHYARD_USAGE_TABLE: conn.tableName(USAGE_TABLE),
      SWITCHYARD_REPORTS_TABLE: conn.tableName(REPORTS_TABLE),
      SWITCHYARD_SECRET_ID: SECRET_ID,
      SWITCHYARD_BILLING_TIMEOUT_MS: '2000',
      SWITCHYARD_KEYS_TABLE: conn.tableName(KEYS_TABLE),
      SWITCHYARD_STATEMENTS_BUCKET: BUCKET,
      SWITCHYARD_ORG_NAME: 'Acme Corp',
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      // The stack sets its own name: the `service` its drift and balance alarms watch.
      POWERTOOLS_SERVICE_NAME: 'ReconcilerStack',
    },
  );
  logs.start();
  const mod: unknown = await import(pathToFileURL(outfile).href);
  handler = Reflect.get(mod as object, 'handler') as typeof handler;
});

afterAll(async () => {
  logs.stop();
  await Promise.all([conn?.close(), secrets?.close(), openaiBill?.close(), relayBill?.close(), s3?.close()]);
  for (const key of Object.keys(process.env)) if (!(key in envBefore)) delete process.env[key];
  Object.assign(process.env, envBefore);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const emf = () => logs.json().filter((l) => '_aws' in l);

describe('the reconciler handler bundle (Lambda runtime environment, dynalite, fake billing APIs)', () => {
  it('reads nothing at import: the secret is read by the first run', () => {
    expect(secrets.calls).toHaveLength(0);
  });

  it('runs the daily schedule for the previous UTC day and stores its reports', async () => {
    const r = await handler({ mode: 'daily', source: 'aws.events' });
    expect(r.mode).toBe('daily');
    expect(r.day).toBe(day);
    expect(r.reports).toEqual([
      expect.objectContaining({ provider: 'oai', verdict: 'drift', driftPercent: 3 }),
      expect.objectContaining({ provider: 'relay', verdict: 'unverifiable' }),
    ]);
    // The admin key from the secret's _billing, not an inference key.
    expect(openaiBill.requests[0]?.headers.authorization).toBe(`Bearer ${ADMIN_KEY}`);
    const stored = await new DynamoReportStore(conn.client, conn.tableName(REPORTS_TABLE)).get('oai', day);
    expect(stored).toMatchObject({ verdict: 'drift', driftUsd: 0.036, partial: false });
  });

  it('emits BillingDriftPercent per provider and per run, and the balance metrics, as EMF', () => {
    const docs = emf();
    const perProvider = docs.find((d) => d.Provider === 'oai' && 'BillingDriftPercent' in d);
    expect(perProvider?.BillingDriftPercent).toBe(3);
    const run = docs.find((d) => !('Provider' in d) && 'BillingDrifts' in d);
    expect(run).toMatchObject({
      BillingDriftPercent: 3,
      BillingDrifts: 1,
      LowBalanceProviders: 1,
      service: 'ReconcilerStack',
    });
    const balance = docs.find((d) => d.Provider === 'relay' && 'ProviderBalance' in d);
    expect(balance?.ProviderBalance).toBe(40);
    const namespaces = docs.map(
      (d) => (d._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0]?.Namespace,
    );
    expect(new Set(namespaces)).toEqual(new Set(['Switchyard']));
  });

  it("writes the previous month's statement to S3 on a month's first days, and issues it on the third", async () => {
    const base = 'statements/2026-10/statement-2026-10';
    const first = await handler({ mode: 'daily', day: '2026-10-31' });
    expect(first.statement).toMatchObject({ month: '2026-10', issued: false });
    expect([...s3.objects.keys()].filter((k) => k.startsWith('statements/2026-10/')).sort()).toEqual([
      `${base}.csv`,
      `${base}.html`,
      `${base}.json`,
    ]);
    const json = JSON.parse(s3.objects.get(`${base}.json`)?.body.toString('utf8') ?? '{}') as Statement;
    expect(json).toMatchObject({
      month: '2026-10',
      issuer: 'Acme Corp',
      total: { requests: 1, costUsd: 0.25 },
    });
    expect(s3.objects.get(`${base}.csv`)?.contentType).toBe('text/csv; charset=utf-8');
    expect(s3.objects.get(`${base}.html`)?.body.toString('utf8')).toContain(`Statement ${json.number}`);
    const third = await handler({ mode: 'daily', day: '2026-11-02' });
    expect(third.statement).toMatchObject({ month: '2026-10', issued: true, number: json.number });
    const issued = await new DynamoReportStore(conn.client, conn.tableName(REPORTS_TABLE)).issuedStatement(
      '2026-10|team|*',
    );
    expect(issued?.number).toBe(json.number);
    // Past the third day, nothing more is written.
    expect((await handler({ mode: 'daily', day: '2026-11-09' })).statement).toBeUndefined();
  });

  it('treats a bare scheduled event as an incremental run of today and rejects an unknown mode', async () => {
    const r = await handler({ source: 'aws.events' });
    expect(r.mode).toBe('incremental');
    expect(r.day).toBe(new Date().toISOString().slice(0, 10));
    await expect(handler({ mode: 'weekly' })).rejects.toThrow();
  });

  it("runs the admin API's run-now event: its day, only its provider, and no statement", async () => {
    const calls = openaiBill.requests.length;
    const r = await handler({ switchyard: 'reconcile-now', day, provider: 'relay' });
    expect(r).toMatchObject({ mode: 'now', day, reports: [expect.objectContaining({ provider: 'relay' })] });
    expect(r.reports).toHaveLength(1);
    expect(r.statement).toBeUndefined();
    // The OpenAI bill was not read: only the provider asked for ran.
    expect(openaiBill.requests.length).toBe(calls);
    const all = await handler({ switchyard: 'reconcile-now', day });
    expect(all.reports.map((x) => x.provider)).toEqual(['oai', 'relay']);
    // A run-now event is checked as one: no unknown field, no bad day, no falling back to a schedule's run.
    await expect(handler({ switchyard: 'reconcile-now', day, mode: 'daily' })).rejects.toThrow();
    await expect(handler({ switchyard: 'reconcile-now', day: 'yesterday' })).rejects.toThrow();
    await expect(handler({ switchyard: 'reconcile-later', day })).rejects.toThrow();
  });
});
