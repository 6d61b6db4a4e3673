/** `switchyard keys create|list|edit|revoke`: client keys in the keys table (local store or a stack's). */
import * as z from 'zod';
import type { StackTables } from '../aws/stack-store.ts';
import { DynamoKeyRepo } from '../aws/stores/dynamo-key-repo.ts';
import { DynamoLimitStore } from '../aws/stores/dynamo-limit-store.ts';
import { DynamoRouteStore } from '../aws/stores/dynamo-route-store.ts';
import { listedView, MAX_LIMIT_SHARDS, newClientKey, withSpend } from '../core/keys/client-keys.ts';
import { editWithDefaults, type KeyField, type KeyLimits, keyProblem } from '../core/keys/key-rules.ts';
import type { ClientKey, KeyChanges } from '../core/keys/types.ts';
import { type FlagValues, parseFlags, usageError } from './cli-help.ts';
import { openCliStore } from './cli-store.ts';
import { textTable } from './text-table.ts';

const storeFlags = {
  stack: z.string().optional(),
  region: z.string().optional(),
};

/** A team name: what a statement groups by, shown to finance. */
const team = z
  .string()
  .trim()
  .min(1, '--team needs a name')
  .max(64, '--team is at most 64 characters')
  .regex(/^[^\p{Cc}]+$/u, '--team must not contain control characters');

/** `--models a,b`: route names, at least one (an empty list would make a key that may call nothing). */
const modelsFlag = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined) return undefined;
    const names = v
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    if (names.length === 0) ctx.addIssue({ code: 'custom', message: '--models needs route names' });
    return names;
  });
const rpmFlag = z.coerce
  .number({ error: '--rpm must be a whole number ≥ 1' })
  .int('--rpm must be a whole number ≥ 1')
  .min(1, '--rpm must be ≥ 1')
  .optional();
const budgetFlag = z.coerce
  .number({ error: '--budget-usd must be a number' })
  .positive('--budget-usd must be > 0')
  .optional();
const periodFlag = z
  .enum(['day', 'month', 'total'], { error: '--period must be day, month or total' })
  .optional();

const createFlags = z.object({
  name: z.string({ error: '--name is required' }).min(1, '--name is required').max(100),
  team: team.optional(),
  models: modelsFlag,
  rpm: rpmFlag,
  'budget-usd': budgetFlag,
  period: periodFlag,
  'limit-shards': z.coerce
    .number({ error: '--limit-shards must be a whole number from 1 to 64' })
    .int('--limit-shards must be a whole number from 1 to 64')
    .min(1, '--limit-shards must be ≥ 1')
    .max(MAX_LIMIT_SHARDS, `--limit-shards must be ≤ ${MAX_LIMIT_SHARDS}`)
    .optional(),
  admin: z.boolean().optional(),
  json: z.boolean().optional(),
  ...storeFlags,
});

const editFlags = z.object({
  team: team.optional(),
  'no-team': z.boolean().optional(),
  models: modelsFlag,
  'all-models': z.boolean().optional(),
  rpm: rpmFlag,
  'no-rpm': z.boolean().optional(),
  'budget-usd': budgetFlag,
  period: periodFlag,
  'no-budget': z.boolean().optional(),
  ...storeFlags,
});

const listFlags = z.object({ json: z.boolean().optional(), ...storeFlags });

/** The CLI's names of the fields the key rules speak of. */
const FLAG_OF: Readonly<Record<KeyField, string>> = {
  models: '--models',
  rpm: '--rpm',
  budgetUsd: '--budget-usd',
  period: '--period',
  limitShards: '--limit-shards',
};

/** A flag that sets a field, and the one that removes it: not both. */
const PAIRS = [
  ['team', 'no-team'],
  ['models', 'all-models'],
  ['rpm', 'no-rpm'],
  ['budget-usd', 'no-budget'],
  ['period', 'no-budget'],
] as const;

type EditFlags = z.output<typeof editFlags>;

/** `keys edit`'s flags as the changes they make (a value sets, null removes): at least one. */
function parseEdit(given: FlagValues): { readonly flags: EditFlags; readonly changes: KeyChanges } {
  const f = parseFlags('keys edit', editFlags, given);
  for (const [set, unset] of PAIRS)
    if (f[set] !== undefined && f[unset] === true)
      throw usageError('keys edit', `--${set} and --${unset} contradict each other: give one of them`);
  const pick = <T>(value: T | undefined, remove: boolean | undefined): T | null | undefined =>
    value !== undefined ? value : remove === true ? null : undefined;
  const changes: KeyChanges = {
    team: pick(f.team, f['no-team']),
    models: pick(f.models, f['all-models']),
    rpm: pick(f.rpm, f['no-rpm']),
    budgetUsd: pick(f['budget-usd'], f['no-budget']),
    period: f.period,
  };
  if (Object.values(changes).every((v) => v === undefined))
    throw usageError(
      'keys edit',
      'nothing to change: give --team T, --no-team, --models a,b, --all-models, --rpm N, --no-rpm, ' +
        '--budget-usd X, --period P or --no-budget',
    );
  return { flags: f, changes };
}

/**
 * The key rules (functions/core/keys/key-rules.ts; the admin API's too) against the routes of the store the
 * key is in: a broken one is a usage error (exit 2) naming the flag. `key`: the key being edited.
 */
async function checkRules(
  command: 'keys create' | 'keys edit',
  given: KeyLimits,
  key: ClientKey | undefined,
  store: StackTables,
): Promise<void> {
  const routes =
    given.models === undefined || given.models === null
      ? []
      : Object.keys((await new DynamoRouteStore(store.client, store.tableName('config')).load()).routes);
  const problem = keyProblem(given, key, routes, (field) => FLAG_OF[field]);
  if (problem !== undefined) throw usageError(command, problem.message);
}

/** What an edit set, in the words of `keys list`: `team growth, rpm 60, budget $5/day`. */
function editedText(c: KeyChanges, key: ClientKey): string {
  const period = c.period ?? key.period ?? 'month';
  const budget =
    c.budgetUsd === null
      ? 'no budget'
      : c.budgetUsd !== undefined
        ? `budget $${c.budgetUsd}/${period}`
        : c.period === undefined
          ? undefined
          : `period ${period}`;
  return [
    c.team === undefined ? undefined : c.team === null ? 'no team' : `team ${c.team}`,
    c.models === undefined ? undefined : c.models === null ? 'every model' : `models ${c.models.join(',')}`,
    c.rpm === undefined ? undefined : c.rpm === null ? 'no rpm' : `rpm ${c.rpm}`,
    budget,
  ]
    .filter((p) => p !== undefined)
    .join(', ');
}

type CreateFlags = z.output<typeof createFlags>;

async function create(f: CreateFlags, repo: DynamoKeyRepo, store: StackTables): Promise<void> {
  const limits: KeyLimits = {
    models: f.models,
    rpm: f.rpm,
    budgetUsd: f['budget-usd'],
    period: f.period,
    limitShards: f['limit-shards'],
  };
  await checkRules('keys create', limits, undefined, store);
  const made = newClientKey({
    name: f.name,
    ...(f.team === undefined ? {} : { team: f.team }),
    ...(f.models === undefined ? {} : { models: f.models }),
    ...(f.rpm === undefined ? {} : { rpm: f.rpm }),
    ...(f['budget-usd'] === undefined ? {} : { budgetUsd: f['budget-usd'], period: f.period ?? 'month' }),
    ...(f['limit-shards'] === undefined ? {} : { limitShards: f['limit-shards'] }),
    ...(f.admin === true ? { admin: true } : {}),
  });
  await repo.put(made.record);
  if (f.json === true) {
    process.stdout.write(`${JSON.stringify({ id: made.record.id, key: made.key })}\n`);
  } else {
    process.stdout.write(
      `created ${made.record.id} (${made.record.name})\n\n  ${made.key}\n\n` +
        'This is the only time the key is shown: only its SHA-256 is stored.\n',
    );
  }
}

async function edit(id: string, changes: KeyChanges, repo: DynamoKeyRepo, store: StackTables) {
  const key = (await repo.list()).find((k) => k.id === id);
  if (key === undefined) throw new Error(`keys edit: no key with id ${id}`);
  await checkRules('keys edit', changes, key, store);
  const written = editWithDefaults(changes, key);
  if (!(await repo.edit(id, written))) throw new Error(`keys edit: no key with id ${id}`);
  process.stdout.write(`${id}: ${editedText(written, key)}\n`);
}

async function list(json: boolean, repo: DynamoKeyRepo, store: StackTables): Promise<void> {
  const limits = new DynamoLimitStore(store.client, store.tableName('keys'));
  const listed = await withSpend(await repo.list(), limits, Date.now());
  if (json) {
    process.stdout.write(`${JSON.stringify(listed.map(listedView), null, 2)}\n`);
    return;
  }
  const rows = listed.map(({ key: k, window, spentUsd }) => [
    k.id,
    k.name,
    k.models?.join(',') ?? '*',
    k.rpm === undefined ? '-' : String(k.rpm),
    k.budgetUsd === undefined ? '-' : `$${k.budgetUsd}/${k.period ?? 'month'}`,
    spentUsd === null ? '-' : `$${spentUsd.toFixed(4)} (${window})`,
    k.createdAt.slice(0, 19).replace('T', ' '),
    k.revokedAt === undefined ? (k.admin === true ? 'active, admin' : 'active') : 'revoked',
    k.team ?? '-',
  ]);
  process.stdout.write(
    textTable(['id', 'name', 'models', 'rpm', 'budget', 'spent', 'created (UTC)', 'status', 'team'], rows),
  );
}

/** `keys create|list|edit|revoke` with flags checked by cli-help.ts; `args` is `[id]` for edit and revoke. */
export async function keys(
  command: 'keys create' | 'keys list' | 'keys edit' | 'keys revoke',
  given: FlagValues,
  args: readonly string[],
  dataDir: string,
): Promise<void> {
  const created = command === 'keys create' ? parseFlags(command, createFlags, given) : undefined;
  const edited = command === 'keys edit' ? parseEdit(given) : undefined;
  const listed =
    created === undefined && edited === undefined ? parseFlags(command, listFlags, given) : undefined;
  const id = args[0];
  const store = await openCliStore(created ?? edited?.flags ?? listed ?? {}, dataDir);
  try {
    const repo = new DynamoKeyRepo(store.client, store.tableName('keys'));
    if (created !== undefined) return await create(created, repo, store);
    if (edited !== undefined && id !== undefined) return await edit(id, edited.changes, repo, store);
    if (command === 'keys revoke' && id !== undefined) {
      if (!(await repo.revoke(id, new Date().toISOString())))
        throw new Error(`keys revoke: no key with id ${id}`);
      process.stdout.write(`revoked ${id}: gateways stop accepting it within 10 seconds\n`);
      return;
    }
    await list(listed?.json === true, repo, store);
  } finally {
    await store.close();
  }
}
