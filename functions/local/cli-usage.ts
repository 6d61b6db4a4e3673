/**
 * `switchyard usage [--since --until --by] [--requests] [--json]` reads the ledger (aggregates, or one row
 * per request); `switchyard usage replay <file>` re-ingests spooled records idempotently.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DynamoLedger } from '../aws/stores/dynamo-ledger.ts';
import { usageRecordSchema } from '../core/usage/record-schema.ts';
import {
  DEFAULT_USAGE_RETENTION_DAYS,
  DEFAULT_USAGE_SHARDS,
  type UsageAggregate,
  type UsageRecord,
} from '../core/usage/types.ts';
import { openCliStore, STORE_OPTIONS } from './cli-store.ts';
import { textTable } from './text-table.ts';

const DAY_MS = 86_400_000;

const envSchema = z.object({
  SWITCHYARD_USAGE_SHARDS: z.coerce.number().int().min(1).max(256).default(DEFAULT_USAGE_SHARDS),
});

/** `YYYY-MM-DD` (a whole UTC day) or an ISO time → epoch ms; `end` makes a date mean the end of its day. */
function instant(flag: string, value: string, end: boolean): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return Date.parse(`${value}T00:00:00Z`) + (end ? DAY_MS : 0);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new Error(`usage: ${flag} must be YYYY-MM-DD or an ISO time, got "${value}"`);
  return t;
}

const BY = { key: 'keyId', model: 'model', provider: 'provider' } as const;

function summarise(aggs: readonly UsageAggregate[], by: keyof typeof BY) {
  const groups = new Map<string, Omit<UsageAggregate, 'day' | 'keyId' | 'provider' | 'model'>>();
  for (const a of aggs) {
    const k = a[BY[by]];
    const g = groups.get(k) ?? {
      requests: 0,
      errors: 0,
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      reasoningTokens: 0,
      costUsd: 0,
      unpricedRequests: 0,
      estimatedRequests: 0,
    };
    groups.set(k, {
      requests: g.requests + a.requests,
      errors: g.errors + a.errors,
      inputTokens: g.inputTokens + a.inputTokens,
      outputTokens: g.outputTokens + a.outputTokens,
      cachedInputTokens: g.cachedInputTokens + a.cachedInputTokens,
      reasoningTokens: g.reasoningTokens + a.reasoningTokens,
      costUsd: Math.round((g.costUsd + a.costUsd) * 1e10) / 1e10,
      unpricedRequests: g.unpricedRequests + a.unpricedRequests,
      estimatedRequests: g.estimatedRequests + a.estimatedRequests,
    });
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([group, g]) => ({ group, ...g }));
}

/** The records of a spool file or an exported log: every line holding a `usageRecord`. */
export function spooledRecords(text: string): { records: UsageRecord[]; invalid: number[] } {
  const records: UsageRecord[] = [];
  const invalid: number[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || !line.includes('"usageRecord"')) {
      if (line.trim() !== '') invalid.push(i + 1);
      return;
    }
    try {
      const json: unknown = JSON.parse(line.slice(line.indexOf('{')));
      const r = usageRecordSchema.safeParse((json as { usageRecord?: unknown }).usageRecord);
      if (r.success) records.push(r.data);
      else invalid.push(i + 1);
    } catch {
      invalid.push(i + 1);
    }
  });
  return { records, invalid };
}

export async function usage(args: string[], dataDir: string): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      since: { type: 'string' },
      until: { type: 'string' },
      by: { type: 'string' },
      requests: { type: 'boolean' },
      json: { type: 'boolean' },
      ...STORE_OPTIONS,
    },
  });
  const env = envSchema.parse(process.env);
  const [sub, file] = positionals;
  if (sub !== undefined && sub !== 'replay') throw new Error(`usage: unknown subcommand "${sub}"`);
  if (sub === 'replay' && file === undefined) throw new Error('usage: switchyard usage replay <file>');
  const by = values.by ?? 'key';
  if (!(by in BY)) throw new Error('usage: --by must be key, model or provider');
  const now = Date.now();
  const since =
    values.since === undefined
      ? Date.parse(`${new Date(now).toISOString().slice(0, 7)}-01T00:00:00Z`)
      : instant('--since', values.since, false);
  const until = values.until === undefined ? now + 1 : instant('--until', values.until, true);
  const spool = file === undefined ? undefined : spooledRecords(await readFile(file, 'utf8'));

  const store = await openCliStore(values, dataDir);
  try {
    const ledger = new DynamoLedger(store.client, store.tableName('usage'), {
      shards: env.SWITCHYARD_USAGE_SHARDS,
      retentionDays: DEFAULT_USAGE_RETENTION_DAYS,
    });
    if (spool !== undefined) {
      let written = 0;
      let already = 0;
      for (const r of spool.records) {
        if ((await ledger.write(r)) === 'written') written++;
        else already++;
      }
      const bad = spool.invalid.length === 0 ? '' : ` (lines ${spool.invalid.slice(0, 20).join(', ')})`;
      process.stdout.write(
        `${written} written, ${already} already there, ${spool.invalid.length} invalid${bad}\n`,
      );
      return;
    }
    const sinceIso = new Date(since).toISOString();
    const untilIso = new Date(until).toISOString();
    if (values.requests === true) {
      const records = await ledger.records(sinceIso, untilIso);
      if (values.json === true) {
        process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
        return;
      }
      const rows = records.map((r) => [
        r.time.slice(0, 19).replace('T', ' '),
        r.requestId,
        r.keyId,
        r.route ?? '-',
        `${r.provider ?? '-'}/${r.model ?? '-'}`,
        r.status,
        r.inputTokens,
        r.outputTokens,
        r.costUsd === null ? 'unpriced' : r.costUsd.toFixed(6),
        r.usageSource,
      ]);
      process.stdout.write(
        textTable(
          [
            'time (UTC)',
            'request id',
            'key',
            'route',
            'provider/model',
            'status',
            'in',
            'out',
            'cost $',
            'usage',
          ],
          rows,
        ),
      );
      return;
    }
    const lastDay = new Date(until - 1).toISOString().slice(0, 10);
    const rows = summarise(await ledger.aggregates(sinceIso.slice(0, 10), lastDay), by as keyof typeof BY);
    if (values.json === true) {
      const out = rows.map(({ group, ...r }) => ({ [by]: group, ...r }));
      process.stdout.write(
        `${JSON.stringify({ since: sinceIso, until: untilIso, by, rows: out }, null, 2)}\n`,
      );
      return;
    }
    process.stdout.write(`usage ${sinceIso.slice(0, 10)} … ${lastDay} (UTC days), by ${by}\n`);
    process.stdout.write(
      textTable(
        [by, 'requests', 'errors', 'input tokens', 'output tokens', 'cost $', 'unpriced', 'estimated'],
        rows.map((r) => [
          r.group,
          r.requests,
          r.errors,
          r.inputTokens,
          r.outputTokens,
          r.costUsd.toFixed(6),
          r.unpricedRequests,
          r.estimatedRequests,
        ]),
      ),
    );
  } finally {
    await store.close();
  }
}
