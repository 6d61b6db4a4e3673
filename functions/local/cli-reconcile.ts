/**
 * `switchyard reconcile [--date YYYY-MM-DD] [--provider id] [--json | --csv] [--stack name]`: the scheduled
 * reconciler's own function (core/billing/reconcile.ts) run by hand, locally against the embedded store or
 * against a deployed stack's tables and secret. A progress line per provider goes to stderr while the
 * billing APIs are called; the report goes to stdout. Exit code 3 when a provider drifted or its API failed.
 */
import * as z from 'zod';
import { SecretKeys } from '../aws/secret-keys.ts';
import { openStackOutputs } from '../aws/stack-store.ts';
import { DynamoLedger } from '../aws/stores/dynamo-ledger.ts';
import { DynamoReportStore } from '../aws/stores/dynamo-report-store.ts';
import { DynamoRouteStore } from '../aws/stores/dynamo-route-store.ts';
import { type BillingKeySource, reconcile, shiftDay } from '../core/billing/reconcile.ts';
import type { Report } from '../core/billing/report.ts';
import { csv } from '../core/csv.ts';
import { own } from '../core/json.ts';
import { createUndiciClient } from '../core/upstream/undici-client.ts';
import { DEFAULT_USAGE_RETENTION_DAYS } from '../core/usage/types.ts';
import { type FlagValues, parseFlags, usageError } from './cli-help.ts';
import { ledgerShards, openCliStore } from './cli-store.ts';
import { billingEnvSchema, localReconcileDeps, staticBillingKeys } from './local-reconcile.ts';
import { parseEnv, staticProviderKeys } from './settings.ts';
import { textTable } from './text-table.ts';

const envSchema = billingEnvSchema.extend({
  SWITCHYARD_USAGE_SHARDS: z.coerce.number().int().min(1).max(256).optional(),
});

const money = (usd: number | undefined): string => (usd === undefined ? '-' : `$${usd.toFixed(4)}`);

function providerCell(r: Report): string {
  const f = r.providerFigures;
  if (f === undefined) return '-';
  if (f.cost.currency === 'USD') return money(f.cost.amount);
  return `${f.cost.amount.toFixed(2)} ${f.cost.currency}${f.costUsd === undefined ? '' : ` (${money(f.costUsd)})`}`;
}

function driftCell(r: Report): string {
  if (r.driftPercent === undefined || r.driftUsd === undefined) return '-';
  return `${r.driftPercent > 0 ? '+' : ''}${r.driftPercent}% (${money(r.driftUsd)})`;
}

const COLUMNS = ['provider', 'day', 'ledger', 'provider bill', 'drift', 'verdict', 'reason'] as const;

function rowOf(r: Report): string[] {
  return [r.provider, r.day, money(r.ledger.costUsd), providerCell(r), driftCell(r), r.verdict, r.reason];
}

/**
 * `--csv` for spreadsheets: the amounts as plain numbers in their own columns (the bill's amount and
 * currency, and its USD value when known), named like the report's JSON fields.
 */
const CSV_COLUMNS = [
  'provider',
  'day',
  'ledgerCostUsd',
  'billAmount',
  'billCurrency',
  'billCostUsd',
  'driftUsd',
  'driftPercent',
  'verdict',
  'reason',
] as const;

function csvRowOf(r: Report): (string | number | undefined)[] {
  const f = r.providerFigures;
  return [
    r.provider,
    r.day,
    r.ledger.costUsd,
    f?.cost.amount,
    f?.cost.currency,
    f?.costUsd,
    r.driftUsd,
    r.driftPercent,
    r.verdict,
    r.reason,
  ];
}

const flagsSchema = z
  .object({
    date: z.string().optional(),
    provider: z.array(z.string()).optional(),
    json: z.boolean().optional(),
    csv: z.boolean().optional(),
    stack: z.string().optional(),
    region: z.string().optional(),
  })
  .refine((f) => !(f.json === true && f.csv === true), '--json or --csv, not both');

/** `reconcile` with flags checked by cli-help.ts. */
export async function reconcileCommand(given: FlagValues): Promise<void> {
  const values = parseFlags('reconcile', flagsSchema, given);
  const today = new Date().toISOString().slice(0, 10);
  const day = values.date ?? shiftDay(today, -1);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(day))) {
    throw usageError('reconcile', `--date must be YYYY-MM-DD, got "${day}"`);
  }
  const local = parseEnv(process.env);
  const env = envSchema.parse(process.env);
  const conn = await openCliStore(values, local.SWITCHYARD_DATA_DIR);
  const http = createUndiciClient();
  try {
    let keys: { billing: BillingKeySource; provider: { keys(id: string): Promise<readonly string[]> } };
    let tolerancePercent = env.SWITCHYARD_DRIFT_TOLERANCE_PERCENT;
    if (values.stack !== undefined) {
      const outputs = await openStackOutputs(values.stack, values.region);
      const secretArn = outputs.get('SecretArn');
      if (secretArn === undefined) throw new Error(`stack ${values.stack} has no SecretArn output`);
      const secret = new SecretKeys(secretArn, 0);
      keys = { billing: secret, provider: secret };
      const stackTolerance = Number(outputs.get('DriftTolerancePercent'));
      if (Number.isFinite(stackTolerance)) tolerancePercent = stackTolerance;
    } else {
      keys = {
        billing: staticBillingKeys(env.SWITCHYARD_BILLING_KEYS),
        provider: staticProviderKeys(local.SWITCHYARD_PROVIDER_KEYS),
      };
    }
    const deps = await localReconcileDeps({
      routes: new DynamoRouteStore(conn.client, conn.tableName('config')),
      usage: new DynamoLedger(conn.client, conn.tableName('usage'), {
        // A stack's own shard count (its UsageShards output) wins: every shard written must be read.
        shards: ledgerShards(conn, values, env.SWITCHYARD_USAGE_SHARDS),
        retentionDays: DEFAULT_USAGE_RETENTION_DAYS,
      }),
      reports: new DynamoReportStore(conn.client, conn.tableName('reports')),
      billingKeys: keys.billing,
      providerKeys: keys.provider,
      http,
      tolerancePercent,
    });
    const config = deps.config;
    const providers = values.provider?.flatMap((p) => p.split(',')).filter((p) => p !== '');
    const unknown = providers?.filter((p) => own(config.providers, p) === undefined) ?? [];
    if (unknown.length > 0) {
      throw usageError(
        'reconcile',
        `no provider ${unknown.join(', ')} in the config (known: ${Object.keys(config.providers).join(', ')})`,
      );
    }
    const total = providers?.length ?? Object.keys(config.providers).length;
    let done = 0;
    const tty = process.stderr.isTTY === true;
    const reports = await reconcile(
      {
        ...deps,
        progress: (e) => {
          if (e.phase === 'start') {
            const line = `[${done + 1}/${total}] ${e.provider}: calling its billing API…`;
            process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
            return;
          }
          done++;
          const line = `[${done}/${total}] ${e.provider}: ${e.report?.verdict ?? '?'}`;
          process.stderr.write(tty ? `\r\x1b[2K${line}${done === total ? '\n' : ''}` : `${line}\n`);
        },
      },
      { day, takeSnapshots: true, ...(providers === undefined ? {} : { providers }) },
    );
    if (values.json === true) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
    else if (values.csv === true) process.stdout.write(csv([CSV_COLUMNS, ...reports.map(csvRowOf)]));
    else process.stdout.write(textTable([...COLUMNS], reports.map(rowOf)));
    if (reports.some((r) => r.verdict === 'drift' || r.verdict === 'provider-error')) process.exitCode = 3;
  } finally {
    await http.close();
    await conn.close();
  }
}
