/**
 * The admin API's key actions (./api.ts): list the keys with their spend, create a key (shown once), edit its
 * team, allow-list and limits, revoke it — with the CLI's rules, the same function (../keys/key-rules.ts): a
 * name, `models` only naming routes of the current config, a budget period only with a budget, an rpm of at
 * least one request a minute per limit shard.
 */
import * as z from 'zod';
import type { GatewayConfig } from '../config/schema.ts';
import { InvalidRequestError, NotFoundError } from '../errors.ts';
import { keyView, listedView, MAX_LIMIT_SHARDS, newClientKey, withSpend } from '../keys/client-keys.ts';
import { editWithDefaults, type KeyLimits, keyProblem } from '../keys/key-rules.ts';
import type { ClientKey, ClientKeyRepo, KeyChanges, LimitStore } from '../keys/types.ts';

/** A key id as `keys create` makes them: the only ids a path may name. */
export const KEY_ID = /^key_[0-9a-f]{12}$/;

const team = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');
const models = z.array(z.string().min(1).max(256)).min(1).max(256);
const rpm = z.number().int().min(1).max(10_000_000);
const budgetUsd = z.number().positive().max(1e9);
const period = z.enum(['day', 'month', 'total']);

const createBody = z.strictObject({
  name: z.string().min(1).max(100),
  team: team.optional(),
  models: models.optional(),
  rpm: rpm.optional(),
  budgetUsd: budgetUsd.optional(),
  period: period.optional(),
  limitShards: z.number().int().min(1).max(MAX_LIMIT_SHARDS).optional(),
  admin: z.boolean().optional(),
});

/** Each field set to a value, or removed with null; the limit shards and the admin scope are fixed. */
const editBody = z.strictObject({
  team: team.nullable().optional(),
  models: models.nullable().optional(),
  rpm: rpm.nullable().optional(),
  budgetUsd: budgetUsd.nullable().optional(),
  period: period.nullable().optional(),
});

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
  checkRules(b, undefined, config);
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

/** The rules of ../keys/key-rules.ts, broken: a 400 naming the field. */
function checkRules(given: KeyLimits, key: ClientKey | undefined, config: GatewayConfig): void {
  const problem = keyProblem(given, key, Object.keys(config.routes), (field) => field);
  if (problem !== undefined) throw invalid(problem.message, problem.field);
}

async function keyById(repo: ClientKeyRepo, id: string): Promise<ClientKey> {
  const key = (await repo.list()).find((k) => k.id === id);
  if (key === undefined) throw noKey(id);
  return key;
}

/** GET /admin/v1/keys: each key's view, its budget window and its spend there. */
export async function listKeys(
  repo: ClientKeyRepo,
  limits: Pick<LimitStore, 'spent'> | undefined,
  nowMs: number,
): Promise<Record<string, unknown>> {
  return { object: 'list', data: (await withSpend(await repo.list(), limits, nowMs)).map(listedView) };
}

/**
 * PATCH /admin/v1/keys/{id}: `{"team", "models", "rpm", "budgetUsd", "period"}`, at least one, each a value or
 * null (removed; a budget removed takes its period with it). Answers the key's view after the edit.
 */
export async function editKey(
  repo: ClientKeyRepo,
  config: GatewayConfig,
  id: string,
  json: unknown,
): Promise<Record<string, unknown>> {
  const changes: KeyChanges = parsed(editBody, json);
  if (Object.values(changes).every((v) => v === undefined))
    throw invalid('nothing to change: send one or more of team, models, rpm, budgetUsd, period', null);
  const key = await keyById(repo, id);
  checkRules(changes, key, config);
  if (!(await repo.edit(id, editWithDefaults(changes, key)))) throw noKey(id);
  return keyView(await keyById(repo, id));
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
