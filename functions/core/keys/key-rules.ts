/**
 * The rules a client key's limits obey, when it is made and at each edit. One function for every surface —
 * the admin API (functions/core/admin/keys.ts) and the CLI (functions/local/cli-keys.ts) — so both refuse
 * the same things; each names the fields its own way (`rpm` in JSON, `--rpm` on the command line).
 */
import type { ClientKey, KeyChanges } from './types.ts';

/** The fields a rule's message may name. */
export type KeyField = 'models' | 'rpm' | 'budgetUsd' | 'period' | 'limitShards';

/** A broken rule: the field to blame and why. */
export interface KeyProblem {
  readonly field: 'models' | 'rpm' | 'period';
  readonly message: string;
}

/** What is being set: a new key's limits (with its limit shards), or an edit's changes. */
export interface KeyLimits extends KeyChanges {
  /** Only at creation: the shards are fixed once the key exists. */
  readonly limitShards?: number | undefined;
}

/** What an edit checks against: the key as it is. */
export type KeyAsIs = Pick<ClientKey, 'budgetUsd' | 'period' | 'limitShards'>;

/**
 * The first rule `given` breaks, or undefined. `key` is the key being edited (undefined: a new key);
 * `routes`, the route names of the config the key is used with.
 * - A period only with a budget, given now or already on the key.
 * - An rpm of at least one request a minute per limit shard: each shard takes rpm / shards, and a share of 0
 *   would refuse every request on it.
 * - `models` naming routes only: an allow-list is matched exactly, and a name that is no route (a typo, a
 *   provider's model id instead of the route's name) would make a key refused (403) on a model its owner
 *   thinks they allowed. Sync the routes first, then make or edit the key.
 */
export function keyProblem(
  given: KeyLimits,
  key: KeyAsIs | undefined,
  routes: readonly string[],
  label: (field: KeyField) => string,
): KeyProblem | undefined {
  const budget = given.budgetUsd === undefined ? key?.budgetUsd : given.budgetUsd;
  if (typeof given.period === 'string' && (budget === undefined || budget === null))
    return { field: 'period', message: `${label('period')} needs ${label('budgetUsd')}` };
  if (typeof given.rpm === 'number') {
    const shards = given.limitShards ?? key?.limitShards ?? 1;
    if (given.rpm < shards) {
      const whose = key === undefined ? '' : "the key's ";
      return {
        field: 'rpm',
        message: `${label('rpm')} ${given.rpm} is less than ${whose}${label('limitShards')} ${shards}: each shard needs ≥ 1 request a minute`,
      };
    }
  }
  if (given.models !== undefined && given.models !== null) {
    const known = new Set(routes);
    const unknown = given.models.filter((m) => !known.has(m));
    if (unknown.length > 0) {
      const names = unknown.map((m) => `"${m.slice(0, 64)}"`).join(', ');
      const list = routes.length === 0 ? 'none yet — sync a config first' : [...routes].sort().join(', ');
      return {
        field: 'models',
        message: `${label('models')}: no route named ${names} in this store (its routes: ${list})`,
      };
    }
  }
  return undefined;
}

/**
 * An edit's changes as they are written: a key that has a budget after the edit has a period too (a budget
 * given to a key without one, or a period removed while the budget stays, takes the default: month).
 */
export function editWithDefaults(changes: KeyChanges, key: KeyAsIs): KeyChanges {
  const budget = changes.budgetUsd === undefined ? key.budgetUsd : changes.budgetUsd;
  if (budget === undefined || budget === null) return changes;
  const period = changes.period === undefined ? key.period : changes.period;
  return period === undefined || period === null ? { ...changes, period: 'month' } : changes;
}
