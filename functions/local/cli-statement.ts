/**
 * `switchyard statement --month YYYY-MM [--team T] [--by team|key] [--format table|csv|json|html] [--issuer NAME]`:
 * the month's statement (core/billing/statement.ts) from the store's aggregates, keys and reconciliation
 * reports — locally or against a stack (`--stack`). Reads only the month's aggregates (one query per day and
 * shard), never its records.
 */
import * as z from 'zod';
import { DynamoKeyRepo } from '../aws/stores/dynamo-key-repo.ts';
import { DynamoLedger } from '../aws/stores/dynamo-ledger.ts';
import { DynamoReportStore } from '../aws/stores/dynamo-report-store.ts';
import {
  type Amendment,
  amendmentOf,
  loadStatement,
  type Statement,
  statementScope,
  type Totals,
} from '../core/billing/statement.ts';
import { statementCsv } from '../core/billing/statement-csv.ts';
import { renderStatementHtml } from '../core/billing/statement-html.ts';
import { DEFAULT_USAGE_RETENTION_DAYS } from '../core/usage/types.ts';
import { type FlagValues, parseFlags, usageError } from './cli-help.ts';
import { ledgerShards, openCliStore } from './cli-store.ts';
import { textTable } from './text-table.ts';

const flagsSchema = z.object({
  month: z
    .string({ error: '--month is required (YYYY-MM)' })
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, '--month must be YYYY-MM'),
  team: z.string().min(1).max(64).optional(),
  by: z.enum(['team', 'key'], { error: '--by must be team or key' }).optional(),
  format: z
    .enum(['table', 'csv', 'json', 'html'], { error: '--format must be table, csv, json or html' })
    .optional(),
  issuer: z.string().min(1).max(200).optional(),
  issue: z.boolean().optional(),
  stack: z.string().optional(),
  region: z.string().optional(),
});

const envSchema = z.object({
  SWITCHYARD_USAGE_SHARDS: z.coerce.number().int().min(1).max(256).optional(),
  /** The organisation named as the statement's issuer (`--issuer` wins). */
  SWITCHYARD_ORG_NAME: z.string().min(1).max(200).optional(),
});

export async function statementCommand(given: FlagValues, dataDir: string): Promise<void> {
  const flags = parseFlags('statement', flagsSchema, given);
  const env = envSchema.parse(process.env);
  const store = await openCliStore(flags, dataDir);
  try {
    const ledger = new DynamoLedger(store.client, store.tableName('usage'), {
      shards: ledgerShards(store, flags, env.SWITCHYARD_USAGE_SHARDS),
      retentionDays: DEFAULT_USAGE_RETENTION_DAYS,
    });
    const reportStore = new DynamoReportStore(store.client, store.tableName('reports'));
    const statement = await loadStatement(
      { usage: ledger, keys: new DynamoKeyRepo(store.client, store.tableName('keys')), reports: reportStore },
      {
        month: flags.month,
        issuer: flags.issuer ?? env.SWITCHYARD_ORG_NAME ?? 'Switchyard',
        ...(flags.by === undefined ? {} : { by: flags.by }),
        ...(flags.team === undefined ? {} : { team: flags.team }),
      },
    );
    // The clock decides only what to do (issue, warn), never what the statement says.
    const over = flags.month < new Date().toISOString().slice(0, 7);
    const scope = statementScope(statement);
    let issued = await reportStore.issuedStatement(scope);
    if (flags.issue === true) {
      if (!over)
        throw usageError('statement', `--issue: ${flags.month} is not over yet (issue a finished month)`);
      if (issued === undefined && (await reportStore.issueStatement(scope, statement))) issued = statement;
      else issued = await reportStore.issuedStatement(scope);
      process.stderr.write(`issued ${issued?.number ?? statement.number} for ${flags.month}\n`);
    } else if (!over) {
      process.stderr.write(`${flags.month} is not over: its figures may still change (nothing issued)\n`);
    }
    const shown = issued ?? statement;
    const amendment = issued === undefined ? undefined : amendmentOf(issued, statement);
    const format = flags.format ?? 'table';
    process.stdout.write(
      format === 'json'
        ? `${JSON.stringify(amendment === undefined ? shown : { ...shown, amendment }, null, 2)}\n`
        : format === 'csv'
          ? statementCsv(shown, amendment)
          : format === 'html'
            ? renderStatementHtml(shown, amendment)
            : statementTable(shown, amendment),
    );
  } finally {
    await store.close();
  }
}

const money = (v: number): string => `$${v.toFixed(4)}`;

/** The statement as text: per team and key the lines, subtotals, the total, then the proof. */
export function statementTable(s: Statement, amendment?: Amendment): string {
  const out: string[] = [
    `Statement ${s.number} — ${s.issuer}, ${s.period.from} to ${s.period.to}${s.team === undefined ? '' : ` (team ${s.team})`}`,
    '',
  ];
  const head = [
    'team',
    'key',
    'name',
    'provider',
    'model',
    'requests',
    'in',
    'out',
    'cost',
    'unpriced',
    'estimated',
    'prices',
  ];
  const rows: string[][] = [];
  const cells = (t: Totals) => [
    String(t.requests),
    String(t.inputTokens),
    String(t.outputTokens),
    money(t.costUsd),
    String(t.unpricedRequests),
    t.estimatedRequests === 0 ? '-' : `${t.estimatedRequests} req, ${money(t.estimatedCostUsd)}`,
  ];
  for (const team of s.teams) {
    const name = s.by === 'key' ? '' : (team.team ?? '(no team)');
    for (const k of team.keys) {
      for (const l of k.lines)
        rows.push([
          name,
          k.keyId,
          k.name,
          l.provider,
          l.model,
          ...cells(l),
          l.priceVersions.join(' ') || '-',
        ]);
      rows.push([name, k.keyId, 'subtotal', '', '', ...cells(k.subtotal), '']);
    }
    if (s.by === 'team') rows.push([name, '', 'team subtotal', '', '', ...cells(team.subtotal), '']);
  }
  rows.push(['total', '', '', '', '', ...cells(s.total), '']);
  out.push(textTable(head, rows).trimEnd(), '');
  const p = s.proof;
  out.push(
    `Checked against the providers' bills: ${money(p.confirmedUsd)} confirmed, ${money(p.driftedUsd)} drifted,` +
      ` ${money(p.unverifiableUsd)} unverifiable, ${money(p.notReconciledUsd)} not reconciled`,
  );
  for (const pp of p.providers) {
    out.push(
      `  ${pp.provider}: ${money(pp.confirmedUsd)} confirmed, ${money(pp.driftedUsd)} drifted` +
        `${pp.driftUsd === 0 ? '' : ` (bill − ledger ${pp.driftUsd >= 0 ? '+' : ''}${money(pp.driftUsd)})`},` +
        ` ${money(pp.unverifiableUsd)} unverifiable, ${money(pp.notReconciledUsd)} not reconciled`,
    );
    if (pp.daysWithoutReport.length > 0)
      out.push(`    days without a report: ${pp.daysWithoutReport.join(', ')}`);
    for (const r of pp.reasons) out.push(`    ${r.verdict} (${r.days.join(', ')}): ${r.reason}`);
  }
  if (amendment !== undefined) {
    const d = amendment.delta;
    out.push(
      '',
      `Amendment (today's data: ${amendment.number}) — since this statement was issued: ${d.requests >= 0 ? '+' : ''}${d.requests} requests, ${d.costUsd >= 0 ? '+' : ''}${money(d.costUsd)}`,
    );
    for (const l of amendment.lines)
      out.push(
        `  ${l.keyId} ${l.provider}/${l.model}: ${l.before.requests} → ${l.after.requests} requests, ${money(l.before.costUsd)} → ${money(l.after.costUsd)}`,
      );
  }
  return `${out.join('\n')}\n`;
}
