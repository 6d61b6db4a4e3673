/** Making and recognising client keys, and the budget windows they are counted in. */
import { createHash, randomBytes } from 'node:crypto';
import type { BudgetPeriod, ClientKey, LimitStore } from './types.ts';

export const CLIENT_KEY_PREFIX = 'sk-sy-';

/** SHA-256 of a key, hex: what the store keeps and looks up by. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface NewClientKey {
  /** Shown once, never stored. */
  readonly key: string;
  readonly record: ClientKey;
}

export interface ClientKeyOptions {
  readonly name: string;
  readonly models?: readonly string[];
  readonly rpm?: number;
  readonly budgetUsd?: number;
  readonly period?: BudgetPeriod;
  readonly limitShards?: number;
  readonly team?: string;
  readonly admin?: boolean;
}

/** The most limit shards a key may have: 64 items take 64,000 writes a second, well past any one key's need. */
export const MAX_LIMIT_SHARDS = 64;

/** A new key: 32 random bytes (base64url) after `sk-sy-`, and its record with an id of 12 random hex digits. */
export function newClientKey(opts: ClientKeyOptions, now: Date = new Date()): NewClientKey {
  const key = `${CLIENT_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const record: ClientKey = {
    id: `key_${randomBytes(6).toString('hex')}`,
    name: opts.name,
    hash: hashKey(key),
    ...(opts.models === undefined ? {} : { models: [...opts.models] }),
    ...(opts.rpm === undefined ? {} : { rpm: opts.rpm }),
    ...(opts.budgetUsd === undefined ? {} : { budgetUsd: opts.budgetUsd, period: opts.period ?? 'month' }),
    ...(opts.limitShards === undefined || opts.limitShards <= 1 ? {} : { limitShards: opts.limitShards }),
    ...(opts.team === undefined ? {} : { team: opts.team }),
    ...(opts.admin === true ? { admin: true } : {}),
    createdAt: now.toISOString(),
  };
  return { key, record };
}

/** What a key's list shows of it (the CLI's `keys list --json`, the admin API): never its hash. */
export function keyView(k: ClientKey): Record<string, unknown> {
  return {
    id: k.id,
    name: k.name,
    models: k.models ?? null,
    rpm: k.rpm ?? null,
    budgetUsd: k.budgetUsd ?? null,
    period: k.period ?? null,
    limitShards: k.limitShards ?? 1,
    team: k.team ?? null,
    admin: k.admin === true,
    createdAt: k.createdAt,
    revokedAt: k.revokedAt ?? null,
  };
}

/** The budget window a moment falls in, in UTC: `2026-11` (month), `2026-11-24` (day) or `total`. */
export function budgetWindow(period: BudgetPeriod, epochMs: number): string {
  if (period === 'total') return 'total';
  const iso = new Date(epochMs).toISOString();
  return period === 'month' ? iso.slice(0, 7) : iso.slice(0, 10);
}

/** A key as listed: its budget's current window and what it spent there (null without a budget). */
export interface ListedKey {
  readonly key: ClientKey;
  readonly window: string | null;
  /** Null without a budget, or without a limit store to read. */
  readonly spentUsd: number | null;
}

/** Spend reads in flight at once while listing: a table of thousands of keys is read 8 keys at a time. */
const SPEND_READS = 8;

/** The keys with their current window's spend (the admin API's key list, `keys list`), in their order. */
export async function withSpend(
  keys: readonly ClientKey[],
  limits: Pick<LimitStore, 'spent'> | undefined,
  nowMs: number,
): Promise<ListedKey[]> {
  const out: ListedKey[] = [];
  let next = 0;
  const reader = async (): Promise<void> => {
    for (let i = next++; i < keys.length; i = next++) {
      const key = keys[i] as ClientKey;
      const window = key.budgetUsd === undefined ? null : budgetWindow(key.period ?? 'month', nowMs);
      const spentUsd =
        window === null || limits === undefined
          ? null
          : (await limits.spent(key.id, window, key.limitShards ?? 1)).spentUsd;
      out[i] = { key, window, spentUsd };
    }
  };
  await Promise.all(Array.from({ length: Math.min(SPEND_READS, keys.length) }, reader));
  return out;
}

/** A listed key as JSON: its view, its window and its spend. */
export function listedView(l: ListedKey): Record<string, unknown> {
  return { ...keyView(l.key), window: l.window, spentUsd: l.spentUsd };
}
