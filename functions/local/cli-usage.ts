/**
 * `switchyard usage [--since --until --by] [--requests [--endpoint]] [--json | --csv]` reads the ledger
 * (aggregates, or one row per request), keys named beside their ids; `switchyard usage replay <file>`
 * re-ingests spooled records idempotently.
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import type { StackTables } from '../aws/stack-store.ts';
import { DynamoKeyRepo } from '../aws/stores/dynamo-key-repo.ts';
import { DynamoLedger } from '../aws/stores/dynamo-ledger.ts';
import { COUNTERS } from '../aws/stores/ledger-items.ts';
import { csv } from '../core/csv.ts';
import { DAY_MS, dayStart, daysBetween } from '../core/days.ts';
import { ENDPOINT_IDS, usageRecordSchema } from '../core/usage/record-schema.ts';
import { DEFAULT_USAGE_RETENTION_DAYS, type UsageAggregate, type UsageRecord } from '../core/usage/types.ts';
import { type FlagValues, parseFlags, usageError } from './cli-help.ts';
import { ledgerShards, openCliStore } from './cli-store.ts';
import { textTable } from './text-table.ts';

/**
 * Pending ledger queries at most: a ledger read queries every shard of every day of its range at once, so a
 * long range is read in windows of days. The store client runs 16 of them at a time (cli-store.ts); the
 * windows keep the rest from waiting in memory (78,000 pending queries held about 600 MB).
 */
const PENDING_QUERIES = 64;

/** `[from, to]` ISO bounds of consecutive windows of whole UTC days covering `[since, until)`. */
export function dayWindows(sinceIso: string, untilIso: string, days: number): [string, string][] {
  const all = daysBetween(sinceIso, untilIso);
  const out: [string, string][] = [];
  for (let i = 0; i < all.length; i += days) {
    const next = all[i + days];
    const from = i === 0 ? sinceIso : dayStart(all[i] as string);
    const to = next === undefined || dayStart(next) > untilIso ? untilIso : dayStart(next);
    if (from < to) out.push([from, to]);
  }
  return out;
}

/** Reads a range window by window (see {@link PENDING_QUERIES}), in order. */
async function inWindows<T>(
  sinceIso: string,
  untilIso: string,
  shards: number,
  read: (fromIso: string, toIso: string) => Promise<T[]>,
): Promise<T[]> {
  const out: T[] = [];
  for (const [from, to] of dayWindows(sinceIso, untilIso, Math.max(1, Math.floor(PENDING_QUERIES / shards))))
    out.push(...(await read(from, to)));
  return out;
}

const envSchema = z.object({
  SWITCHYARD_USAGE_SHARDS: z.coerce.number().int().min(1).max(256).optional(),
});

/** `YYYY-MM-DD` (a whole UTC day) or an ISO time → epoch ms; `end` makes a date mean the end of its day. */
function instant(flag: string, value: string, end: boolean): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return Date.parse(dayStart(value)) + (end ? DAY_MS : 0);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw usageError('usage', `${flag} must be YYYY-MM-DD or an ISO time, got "${value}"`);
  return t;
}

const BY = { key: 'keyId', model: 'model', provider: 'provider' } as const;

/**
 * `--endpoint` filters request records only: the daily aggregates are by key, provider and model, and
 * splitting them by endpoint as well would change every aggregate's key (and the items already written).
 */
const endpointFlag = z.enum(ENDPOINT_IDS, {
  error: `--endpoint must be ${ENDPOINT_IDS.slice(0, -1).join(', ')} or ${ENDPOINT_IDS.at(-1)}`,
});

const flagsSchema = z
  .object({
    since: z.string().optional(),
    until: z.string().optional(),
    by: z.enum(['key', 'model', 'provider'], { error: '--by must be key, model or provider' }).default('key'),
    requests: z.boolean().optional(),
    endpoint: endpointFlag.optional(),
    json: z.boolean().optional(),
    csv: z.boolean().optional(),
    stack: z.string().optional(),
    region: z.string().optional(),
  })
  .refine((f) => !(f.json === true && f.csv === true), '--json or --csv, not both')
  .refine(
    (f) => f.endpoint === undefined || f.requests === true,
    '--endpoint needs --requests (the daily totals are by key, provider and model)',
  );

/** The columns of `--requests --csv`: the record's own field names (as `--json` prints them), and the key's name. */
const RECORD_COLUMNS = [
  'time',
  'requestId',
  'recordId',
  'keyId',
  'keyName',
  'endpoint',
  'route',
  'provider',
  'model',
  'status',
  'errorCode',
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'cacheWriteTokens',
  'reasoningTokens',
  'costUsd',
  'priceVersion',
  'latencyMs',
  'ttftMs',
  'attempts',
  'stream',
  'usageSource',
  'upstreamId',
] as const satisfies readonly (keyof UsageRecord | 'keyName')[];

/** The master key is no item of the keys table: its records carry the id `master`. */
const MASTER_NAME = 'master key';

/** Key id → name, from the keys table (revoked keys too: their usage stays in the ledger). */
async function keyNames(store: StackTables): Promise<(id: string) => string> {
  const names = new Map(
    (await new DynamoKeyRepo(store.client, store.tableName('keys')).list()).map((k) => [k.id, k.name]),
  );
  return (id) => names.get(id) ?? (id === 'master' ? MASTER_NAME : '');
}

type Counters = Record<(typeof COUNTERS)[number], number>;

/** The aggregates' counters summed per group (the `--csv` columns are these, named as in `--json`). */
function summarise(aggs: readonly UsageAggregate[], by: keyof typeof BY) {
  const groups = new Map<string, Counters>();
  for (const a of aggs) {
    const k = a[BY[by]];
    const g = groups.get(k) ?? (Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Counters);
    // Aggregates written before a counter existed (implausibleRequests) have none.
    for (const c of COUNTERS) g[c] += a[c] ?? 0;
    g.costUsd = Math.round(g.costUsd * 1e10) / 1e10;
    groups.set(k, g);
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

/** `usage` and `usage replay <file>` with flags checked by cli-help.ts. */
export async function usage(
  command: 'usage' | 'usage replay',
  given: FlagValues,
  args: readonly string[],
  dataDir: string,
): Promise<void> {
  const flags = parseFlags(command, flagsSchema, given);
  const env = envSchema.parse(process.env);
  const now = Date.now();
  const since =
    flags.since === undefined
      ? Date.parse(`${new Date(now).toISOString().slice(0, 7)}-01T00:00:00Z`)
      : instant('--since', flags.since, false);
  const until = flags.until === undefined ? now + 1 : instant('--until', flags.until, true);
  if (command === 'usage' && until <= since) throw usageError('usage', '--until must be after --since');
  const file = command === 'usage replay' ? args[0] : undefined;
  const spool = file === undefined ? undefined : spooledRecords(await readFile(file, 'utf8'));

  const store = await openCliStore(flags, dataDir);
  // A stack's own shard count (its UsageShards output) wins: a reader must query every shard written.
  const shards = ledgerShards(store, flags, env.SWITCHYARD_USAGE_SHARDS);
  try {
    const ledger = new DynamoLedger(store.client, store.tableName('usage'), {
      shards,
      retentionDays: DEFAULT_USAGE_RETENTION_DAYS,
      // A stack's stream folds what a replay puts: adding it here as well would count it twice.
      ...(store.usageFold === undefined ? {} : { fold: store.usageFold }),
      // A replayed record settles its budget reservation (inline) or the stack's fold does.
      limitsTable: store.tableName('keys'),
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
    if (flags.requests === true) {
      const all = await inWindows(sinceIso, untilIso, shards, (from, to) => ledger.records(from, to));
      const records = flags.endpoint === undefined ? all : all.filter((r) => r.endpoint === flags.endpoint);
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
        return;
      }
      const nameOf = await keyNames(store);
      if (flags.csv === true) {
        const rows = records.map((r) =>
          RECORD_COLUMNS.map((c) => {
            const v = c === 'keyName' ? nameOf(r.keyId) : r[c];
            return typeof v === 'boolean' ? String(v) : v;
          }),
        );
        process.stdout.write(csv([RECORD_COLUMNS, ...rows]));
        return;
      }
      const rows = records.map((r) => [
        r.time.slice(0, 19).replace('T', ' '),
        r.requestId,
        r.keyId,
        nameOf(r.keyId),
        r.endpoint,
        r.route ?? '-',
        `${r.provider ?? '-'}/${r.model ?? '-'}`,
        r.status,
        r.inputTokens,
        r.outputTokens,
        r.costUsd === null ? 'unpriced' : r.costUsd.toFixed(6),
        r.usageSource,
      ]);
      const header = [
        'time (UTC)',
        'request id',
        'key',
        'name',
        'endpoint',
        'route',
        'provider/model',
        'status',
      ];
      process.stdout.write(textTable([...header, 'in', 'out', 'cost $', 'usage'], rows));
      return;
    }
    const { by } = flags;
    const lastDay = new Date(until - 1).toISOString().slice(0, 10);
    // Aggregates are per whole day: the window [from, to) reads the days from…the day before `to`'s.
    const aggregates = await inWindows(sinceIso, untilIso, shards, (from, to) =>
      ledger.aggregates(from.slice(0, 10), new Date(Date.parse(to) - 1).toISOString().slice(0, 10)),
    );
    const groups = summarise(aggregates, by);
    // Grouped by key, each row names its key (the id alone says nothing to finance).
    const nameOf = by === 'key' ? await keyNames(store) : undefined;
    const rows = groups.map(({ group, ...r }) => ({
      [by]: group,
      ...(nameOf === undefined ? {} : { name: nameOf(group) }),
      ...r,
    }));
    if (flags.json === true) {
      process.stdout.write(`${JSON.stringify({ since: sinceIso, until: untilIso, by, rows }, null, 2)}\n`);
      return;
    }
    if (flags.csv === true) {
      const named = nameOf === undefined ? [] : ['name'];
      const body = groups.map((g) => [
        g.group,
        ...(nameOf === undefined ? [] : [nameOf(g.group)]),
        ...COUNTERS.map((c) => g[c]),
      ]);
      process.stdout.write(csv([[by, ...named, ...COUNTERS], ...body]));
      return;
    }
    process.stdout.write(`usage ${sinceIso.slice(0, 10)} … ${lastDay} (UTC days), by ${by}\n`);
    const named = nameOf === undefined ? [] : ['name'];
    process.stdout.write(
      textTable(
        [
          by,
          ...named,
          'requests',
          'errors',
          'input tokens',
          'output tokens',
          'cost $',
          'unpriced',
          'estimated',
          'implausible',
        ],
        groups.map((g) => [
          g.group,
          ...(nameOf === undefined ? [] : [nameOf(g.group)]),
          g.requests,
          g.errors,
          g.inputTokens,
          g.outputTokens,
          g.costUsd.toFixed(6),
          g.unpricedRequests,
          g.estimatedRequests,
          g.implausibleRequests ?? 0,
        ]),
      ),
    );
  } finally {
    await store.close();
  }
}
