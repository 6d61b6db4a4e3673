/**
 * The scheduled billing reconciler: hourly an incremental run (today so far, and a reading of every
 * snapshot-kind bill), daily at 01:15 UTC the full run of the previous UTC day. Both run the core's
 * `reconcile`, the same function as `switchyard reconcile`, against the stack's tables, with billing keys
 * from the secret. The gateway's admin API invokes it too, asynchronously, to run a day now
 * (./reconcile-now-event.ts). Reports go to the reports table, metrics out as EMF (namespace `Switchyard`).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { reconcile, shiftDay } from '../core/billing/reconcile.ts';
import type { Verdict } from '../core/billing/report.ts';
import { SecretMasker } from '../core/secrets.ts';
import { abortableSleep, systemClock } from '../core/system.ts';
import { createUndiciClient } from '../core/upstream/undici-client.ts';
import { DEFAULT_USAGE_RETENTION_DAYS } from '../core/usage/types.ts';
import { parseReconcilerEnv } from './env.ts';
import { powertoolsReconcileMetrics } from './observability.ts';
import { isReconcileNowEvent, reconcileNowEventSchema } from './reconcile-now-event.ts';
import { SecretKeys } from './secret-keys.ts';
import { type Published, publishStatement } from './statement-publisher.ts';
import { DynamoKeyRepo } from './stores/dynamo-key-repo.ts';
import { DynamoLedger } from './stores/dynamo-ledger.ts';
import { DynamoReportStore } from './stores/dynamo-report-store.ts';
import { DynamoRouteStore } from './stores/dynamo-route-store.ts';

const env = parseReconcilerEnv(process.env);
const logger = new Logger({ serviceName: 'switchyard-reconciler' });
// The alarms watch the service-level series of this stack's service (lib/monitoring.ts).
const metrics = powertoolsReconcileMetrics(
  new Metrics({ namespace: 'Switchyard', serviceName: env.POWERTOOLS_SERVICE_NAME }),
);
const dynamo = new DynamoDBClient({});
// Every value of the secret is masked by value in the reports' reasons (a billing API may echo its key).
const secrets = new SecretMasker();
const secret = new SecretKeys(env.SWITCHYARD_SECRET_ID, 300, secrets);
const http = createUndiciClient();
// Path-style against an S3-compatible endpoint given by URL (tests, a local S3); AWS itself virtual-hosted.
const s3 = new S3Client({ forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined });

const scheduleEvent = z
  .object({
    mode: z.enum(['incremental', 'daily']).default('incremental'),
    /** Optional override for a re-run by hand: the UTC day to reconcile. */
    day: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .optional(),
  })
  .passthrough();

export interface ReconcileResult {
  /** `now`: the admin API's run-now (./reconcile-now-event.ts): its day, one or every provider, no statement. */
  readonly mode: 'incremental' | 'daily' | 'now';
  readonly day: string;
  /** The statement the daily run wrote to the statements bucket, on a month's first days. */
  readonly statement?: Published;
  readonly reports: readonly { provider: string; verdict: Verdict; reason: string; driftPercent?: number }[];
}

/** What an event asks for: a schedule's run, or the admin API's run-now of a day (one provider or every one). */
function runOf(event: unknown): { mode: ReconcileResult['mode']; day: string; providers?: string[] } {
  if (isReconcileNowEvent(event)) {
    const now = reconcileNowEventSchema.parse(event);
    return {
      mode: 'now',
      day: now.day,
      ...(now.provider === undefined ? {} : { providers: [now.provider] }),
    };
  }
  const { mode, day } = scheduleEvent.parse(event ?? {});
  const today = new Date(systemClock.epochMs()).toISOString().slice(0, 10);
  return { mode, day: day ?? (mode === 'daily' ? shiftDay(today, -1) : today) };
}

export async function handler(event: unknown): Promise<ReconcileResult> {
  const { mode, day, providers } = runOf(event);
  const config = await new DynamoRouteStore(dynamo, env.SWITCHYARD_CONFIG_TABLE).load();
  const usage = new DynamoLedger(dynamo, env.SWITCHYARD_USAGE_TABLE, {
    shards: env.SWITCHYARD_USAGE_SHARDS,
    retentionDays: DEFAULT_USAGE_RETENTION_DAYS,
  });
  const reportStore = new DynamoReportStore(dynamo, env.SWITCHYARD_REPORTS_TABLE);
  const reports = await reconcile(
    {
      config,
      usage,
      reports: reportStore,
      billingKeys: secret,
      providerKeys: secret,
      secrets,
      http,
      clock: systemClock,
      sleep: abortableSleep,
      metrics,
      timeoutMs: env.SWITCHYARD_BILLING_TIMEOUT_MS,
      tolerancePercent: env.SWITCHYARD_DRIFT_TOLERANCE_PERCENT,
    },
    { day, takeSnapshots: true, ...(providers === undefined ? {} : { providers }) },
  );
  metrics.flush();
  for (const r of reports) {
    const level = r.verdict === 'ok' ? 'info' : r.verdict === 'unverifiable' ? 'warn' : 'error';
    logger[level]('reconciliation report', { ...r });
  }
  // The daily run (for day D−1, on day D) writes the previous month's statement on a month's first days.
  let statement: Published | undefined;
  if (
    mode === 'daily' &&
    env.SWITCHYARD_STATEMENTS_BUCKET !== undefined &&
    env.SWITCHYARD_KEYS_TABLE !== undefined
  ) {
    statement = await publishStatement(
      {
        usage,
        keys: new DynamoKeyRepo(dynamo, env.SWITCHYARD_KEYS_TABLE),
        reports: reportStore,
        s3,
        bucket: env.SWITCHYARD_STATEMENTS_BUCKET,
        issuer: env.SWITCHYARD_ORG_NAME,
      },
      shiftDay(day, 1),
    ).catch((err: unknown) => {
      logger.error('statement not written', { error: err instanceof Error ? err.message : String(err) });
      return undefined;
    });
    if (statement !== undefined) logger.info('statement written', { ...statement });
  }
  return {
    mode,
    day,
    ...(statement === undefined ? {} : { statement }),
    reports: reports.map((r) => ({
      provider: r.provider,
      verdict: r.verdict,
      reason: r.reason,
      ...(r.driftPercent === undefined ? {} : { driftPercent: r.driftPercent }),
    })),
  };
}
