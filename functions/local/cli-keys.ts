/** `switchyard keys create|list|edit|revoke`: client keys in the keys table (local store or a stack's). */
import * as z from 'zod';
import type { StackTables } from '../aws/stack-store.ts';
import { DynamoKeyRepo } from '../aws/stores/dynamo-key-repo.ts';
import { DynamoLimitStore } from '../aws/stores/dynamo-limit-store.ts';
import { DynamoRouteStore } from '../aws/stores/dynamo-route-store.ts';
import { own } from '../core/json.ts';
import { budgetWindow, keyView, MAX_LIMIT_SHARDS, newClientKey } from '../core/keys/client-keys.ts';
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

const editFlags = z.object({
  team: team.optional(),
  'no-team': z.boolean().optional(),
  ...storeFlags,
});

const createFlags = z.object({
  name: z.string({ error: '--name is required' }).min(1, '--name is required').max(100),
  team: team.optional(),
  models: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const names = v
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean);
      // An empty list would make a key that may call nothing: surely not what was meant.
      if (names.length === 0) ctx.addIssue({ code: 'custom', message: '--models needs route names' });
      return names;
    }),
  rpm: z.coerce
    .number({ error: '--rpm must be a whole number ≥ 1' })
    .int('--rpm must be a whole number ≥ 1')
    .min(1, '--rpm must be ≥ 1')
    .optional(),
  'budget-usd': z.coerce
    .number({ error: '--budget-usd must be a number' })
    .positive('--budget-usd must be > 0')
    .optional(),
  period: z.enum(['day', 'month', 'total'], { error: '--period must be day, month or total' }).optional(),
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

const listFlags = z.object({ json: z.boolean().optional(), ...storeFlags });

function parseCreate(flags: FlagValues) {
  const parsed = parseFlags('keys create', createFlags, flags);
  if (parsed.period !== undefined && parsed['budget-usd'] === undefined) {
    throw usageError('keys create', '--period needs --budget-usd');
  }
  const shards = parsed['limit-shards'];
  if (shards !== undefined && parsed.rpm !== undefined && parsed.rpm < shards) {
    // Each shard takes rpm / shards requests a minute: a share of 0 would refuse every request on it.
    throw usageError(
      'keys create',
      `--rpm ${parsed.rpm} is less than --limit-shards ${shards}: each shard needs ≥ 1 request a minute`,
    );
  }
  return parsed;
}

/**
 * `--models` names routes, and a key's allow-list is matched exactly: a name that is no route (a typo, a
 * provider's model id instead of the route's name) would make a key that fails with 403 on a model the user
 * thinks they allowed. So the names are checked against the routes of the store the key goes to, and a key
 * naming an unknown route is refused (exit 2), the unknown names and the known routes said. Sync the routes
 * first (`switchyard routes sync`), then make the key.
 */
async function checkModels(models: readonly string[], store: StackTables): Promise<void> {
  const { routes } = await new DynamoRouteStore(store.client, store.tableName('config')).load();
  const unknown = models.filter((m) => own(routes, m) === undefined);
  if (unknown.length === 0) return;
  const known = Object.keys(routes).sort();
  throw usageError(
    'keys create',
    `--models: no route named ${unknown.map((m) => `"${m}"`).join(', ')} in this store ` +
      `(its routes: ${known.length === 0 ? 'none yet — run switchyard routes sync <file> first' : known.join(', ')})`,
  );
}

/** `keys create|list|revoke` with flags checked by cli-help.ts; `args` is `[id]` for revoke. */
export async function keys(
  command: 'keys create' | 'keys list' | 'keys edit' | 'keys revoke',
  given: FlagValues,
  args: readonly string[],
  dataDir: string,
): Promise<void> {
  const flags = command === 'keys create' ? parseCreate(given) : undefined;
  const edit = command === 'keys edit' ? parseFlags(command, editFlags, given) : undefined;
  if (edit !== undefined && (edit.team === undefined) === (edit['no-team'] !== true))
    throw usageError('keys edit', 'give exactly one of --team T or --no-team');
  const values = flags ?? edit ?? parseFlags(command, listFlags, given);
  const id = args[0];
  const store = await openCliStore(values, dataDir);
  try {
    const repo = new DynamoKeyRepo(store.client, store.tableName('keys'));
    if (flags !== undefined) {
      if (flags.models !== undefined) await checkModels(flags.models, store);
      const made = newClientKey({
        name: flags.name,
        ...(flags.team === undefined ? {} : { team: flags.team }),
        ...(flags.models === undefined ? {} : { models: flags.models }),
        ...(flags.rpm === undefined ? {} : { rpm: flags.rpm }),
        ...(flags['budget-usd'] === undefined
          ? {}
          : { budgetUsd: flags['budget-usd'], period: flags.period ?? 'month' }),
        ...(flags['limit-shards'] === undefined ? {} : { limitShards: flags['limit-shards'] }),
        ...(flags.admin === true ? { admin: true } : {}),
      });
      await repo.put(made.record);
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify({ id: made.record.id, key: made.key })}\n`);
      } else {
        process.stdout.write(
          `created ${made.record.id} (${made.record.name})\n\n  ${made.key}\n\n` +
            'This is the only time the key is shown: only its SHA-256 is stored.\n',
        );
      }
      return;
    }
    if (edit !== undefined && id !== undefined) {
      if (!(await repo.setTeam(id, edit.team))) throw new Error(`keys edit: no key with id ${id}`);
      process.stdout.write(`${id}: ${edit.team === undefined ? 'no team' : `team ${edit.team}`}\n`);
      return;
    }
    if (command === 'keys revoke' && id !== undefined) {
      if (!(await repo.revoke(id, new Date().toISOString())))
        throw new Error(`keys revoke: no key with id ${id}`);
      process.stdout.write(`revoked ${id}: gateways stop accepting it within 10 seconds\n`);
      return;
    }
    const limits = new DynamoLimitStore(store.client, store.tableName('keys'));
    const now = Date.now();
    const list = await Promise.all(
      (await repo.list()).map(async (k) => {
        const window = k.budgetUsd === undefined ? undefined : budgetWindow(k.period ?? 'month', now);
        const spent =
          window === undefined ? undefined : (await limits.spent(k.id, window, k.limitShards ?? 1)).spentUsd;
        return { k, window, spent };
      }),
    );
    if ('json' in values && values.json === true) {
      const out = list.map(({ k, window, spent }) => ({
        ...keyView(k),
        window: window ?? null,
        spentUsd: spent ?? null,
      }));
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return;
    }
    const rows = list.map(({ k, window, spent }) => [
      k.id,
      k.name,
      k.models?.join(',') ?? '*',
      k.rpm === undefined ? '-' : String(k.rpm),
      k.budgetUsd === undefined ? '-' : `$${k.budgetUsd}/${k.period ?? 'month'}`,
      spent === undefined ? '-' : `$${spent.toFixed(4)} (${window})`,
      k.createdAt.slice(0, 19).replace('T', ' '),
      k.revokedAt === undefined ? (k.admin === true ? 'active, admin' : 'active') : 'revoked',
      k.team ?? '-',
    ]);
    process.stdout.write(
      textTable(['id', 'name', 'models', 'rpm', 'budget', 'spent', 'created (UTC)', 'status', 'team'], rows),
    );
  } finally {
    await store.close();
  }
}
