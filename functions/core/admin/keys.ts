/**
 * The admin API's key actions (./api.ts): create a client key (shown once), change its team, revoke it — with
 * the CLI's rules (functions/local/cli-keys.ts): a name, `models` only naming routes the store has, a budget
 * period only with a budget, an rpm of at least one request a minute per limit shard.
 */
import * as z from 'zod';
import type { GatewayConfig } from '../config/schema.ts';
import { InvalidRequestError, NotFoundError } from '../errors.ts';
import { own } from '../json.ts';
import { keyView, MAX_LIMIT_SHARDS, newClientKey } from '../keys/client-keys.ts';
import type { ClientKeyRepo } from '../keys/types.ts';

/** A key id as `keys create` makes them: the only ids a path may name. */
export const KEY_ID = /^key_[0-9a-f]{12}$/;

const team = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

const createBody = z.strictObject({
  name: z.string().min(1).max(100),
  team: team.optional(),
  models: z.array(z.string().min(1).max(256)).min(1).max(256).optional(),
  rpm: z.number().int().min(1).max(10_000_000).optional(),
  budgetUsd: z.number().positive().max(1e9).optional(),
  period: z.enum(['day', 'month', 'total']).optional(),
  limitShards: z.number().int().min(1).max(MAX_LIMIT_SHARDS).optional(),
  admin: z.boolean().optional(),
});

/** Only the team can be changed so far; anything else is a 400 naming the field. */
const editBody = z.strictObject({ team: team.nullable().optional() });

function invalid(message: string, param: string | null): InvalidRequestError {
  return new InvalidRequestError({ code: 'invalid_request', message, param });
}

function parsed<T>(schema: z.ZodType<T>, json: unknown): T {
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const param = issue === undefined || issue.path.length === 0 ? null : issue.path.join('.');
  const fields = issue?.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
  throw invalid(`${param ?? 'body'}: ${issue?.message ?? 'invalid'}${fields}`, param);
}

/** POST /admin/v1/keys: the new key (its only showing) and its view. */
export async function createKey(
  repo: ClientKeyRepo,
  config: GatewayConfig,
  json: unknown,
): Promise<Record<string, unknown>> {
  const b = parsed(createBody, json);
  if (b.period !== undefined && b.budgetUsd === undefined) throw invalid('period needs budgetUsd', 'period');
  if (b.rpm !== undefined && b.limitShards !== undefined && b.rpm < b.limitShards)
    throw invalid(
      `rpm ${b.rpm} is less than limitShards ${b.limitShards}: each shard needs ≥ 1 request a minute`,
      'rpm',
    );
  const unknown = (b.models ?? []).filter((m) => own(config.routes, m) === undefined);
  if (unknown.length > 0)
    throw invalid(
      `models: no route named ${unknown.map((m) => `"${m.slice(0, 64)}"`).join(', ')} (routes: ${Object.keys(config.routes).sort().join(', ') || 'none'})`,
      'models',
    );
  const made = newClientKey({
    name: b.name,
    ...(b.team === undefined ? {} : { team: b.team }),
    ...(b.models === undefined ? {} : { models: b.models }),
    ...(b.rpm === undefined ? {} : { rpm: b.rpm }),
    ...(b.budgetUsd === undefined ? {} : { budgetUsd: b.budgetUsd, period: b.period ?? 'month' }),
    ...(b.limitShards === undefined ? {} : { limitShards: b.limitShards }),
    ...(b.admin === true ? { admin: true } : {}),
  });
  await repo.put(made.record);
  return { ...keyView(made.record), key: made.key };
}

const noKey = (id: string) =>
  new NotFoundError({ code: 'key_not_found', message: `No key with id ${id}.`, param: 'id' });

/** PATCH /admin/v1/keys/{id}: `{"team": "…" | null}`. */
export async function editKey(
  repo: ClientKeyRepo,
  id: string,
  json: unknown,
): Promise<Record<string, unknown>> {
  const b = parsed(editBody, json);
  if (b.team === undefined) throw invalid('nothing to change: only "team" can be edited so far', null);
  if (!(await repo.setTeam(id, b.team ?? undefined))) throw noKey(id);
  const key = (await repo.list()).find((k) => k.id === id);
  if (key === undefined) throw noKey(id);
  return keyView(key);
}

/** DELETE /admin/v1/keys/{id}: revoked (it stops working on every instance within the key cache's TTL). */
export async function revokeKey(
  repo: ClientKeyRepo,
  id: string,
  nowIso: string,
): Promise<Record<string, unknown>> {
  if (!(await repo.revoke(id, nowIso))) throw noKey(id);
  return { id, object: 'key', revoked: true };
}
