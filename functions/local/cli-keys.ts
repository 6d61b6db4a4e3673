/** `switchyard keys create|list|revoke`: client keys in the keys table (local store or a stack's). */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DynamoKeyRepo } from '../aws/stores/dynamo-key-repo.ts';
import { DynamoLimitStore } from '../aws/stores/dynamo-limit-store.ts';
import { budgetWindow, newClientKey } from '../core/keys/client-keys.ts';
import { openCliStore, STORE_OPTIONS } from './cli-store.ts';
import { textTable } from './text-table.ts';

const createFlags = z.strictObject({
  name: z.string({ error: '--name is required' }).min(1, '--name is required').max(100),
  models: z
    .string()
    .optional()
    .transform((v) =>
      v === undefined
        ? undefined
        : v
            .split(',')
            .map((m) => m.trim())
            .filter(Boolean),
    ),
  rpm: z.coerce
    .number({ error: '--rpm must be a whole number ≥ 1' })
    .int()
    .min(1, '--rpm must be ≥ 1')
    .optional(),
  'budget-usd': z.coerce
    .number({ error: '--budget-usd must be a number' })
    .positive('--budget-usd must be > 0')
    .optional(),
  period: z.enum(['day', 'month', 'total'], { error: '--period must be day, month or total' }).optional(),
  json: z.boolean().optional(),
  stack: z.string().optional(),
  region: z.string().optional(),
});

function parseCreate(values: Record<string, unknown>) {
  const r = createFlags.safeParse(values);
  if (!r.success) throw new Error(`keys create: ${r.error.issues.map((i) => i.message).join('; ')}`);
  if (r.data.period !== undefined && r.data['budget-usd'] === undefined) {
    throw new Error('keys create: --period needs --budget-usd');
  }
  return r.data;
}

export async function keys(args: string[], dataDir: string): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      models: { type: 'string' },
      rpm: { type: 'string' },
      'budget-usd': { type: 'string' },
      period: { type: 'string' },
      json: { type: 'boolean' },
      ...STORE_OPTIONS,
    },
  });
  const [sub, id] = positionals;
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') {
    throw new Error('usage: switchyard keys create|list|revoke (see switchyard help)');
  }
  const flags = sub === 'create' ? parseCreate(values) : undefined;
  if (sub === 'revoke' && id === undefined) throw new Error('usage: switchyard keys revoke <id>');
  const store = await openCliStore(values, dataDir);
  try {
    const repo = new DynamoKeyRepo(store.client, store.tableName('keys'));
    if (flags !== undefined) {
      const made = newClientKey({
        name: flags.name,
        ...(flags.models === undefined ? {} : { models: flags.models }),
        ...(flags.rpm === undefined ? {} : { rpm: flags.rpm }),
        ...(flags['budget-usd'] === undefined
          ? {}
          : { budgetUsd: flags['budget-usd'], period: flags.period ?? 'month' }),
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
    if (sub === 'revoke' && id !== undefined) {
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
        const spent = window === undefined ? undefined : (await limits.spent(k.id, window)).spentUsd;
        return { k, window, spent };
      }),
    );
    if (values.json === true) {
      const out = list.map(({ k, window, spent }) => ({
        id: k.id,
        name: k.name,
        models: k.models ?? null,
        rpm: k.rpm ?? null,
        budgetUsd: k.budgetUsd ?? null,
        period: k.period ?? null,
        window: window ?? null,
        spentUsd: spent ?? null,
        createdAt: k.createdAt,
        revokedAt: k.revokedAt ?? null,
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
      k.revokedAt === undefined ? 'active' : 'revoked',
    ]);
    process.stdout.write(
      textTable(['id', 'name', 'models', 'rpm', 'budget', 'spent', 'created (UTC)', 'status'], rows),
    );
  } finally {
    await store.close();
  }
}
