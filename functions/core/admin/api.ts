/**
 * The admin API (issue 17, first part): JSON under `/admin/v1/…` for the master key and client keys made with
 * `keys create --admin`, the same bearer header as every request (no cookies). Each call is an ordinary
 * request of the gateway: its log line carries the path and the key id.
 * - `GET /admin/v1/health`: every target of every route, its breaker state and moving averages, as the fleet
 *   sees it (the shared health is re-read first, off the request path of the proxied API);
 * - `GET /admin/v1/keys`: the client keys with their limits and spend (never a key, never its hash);
 * - `POST /admin/v1/keys`, `PATCH` and `DELETE /admin/v1/keys/{id}`: create, edit, revoke (./keys.ts).
 */

import type { ReportStore } from '../billing/reconcile.ts';
import type { GatewayConfig, TargetConfig } from '../config/schema.ts';
import { InvalidRequestError, NotFoundError, PermissionDeniedError } from '../errors.ts';
import { readJsonBody } from '../gateway/body.ts';
import { healthIdsOf } from '../gateway/target-health.ts';
import type { GatewayRequest } from '../http.ts';
import { isRecord } from '../json.ts';
import type { ClientKeyRepo, LimitStore } from '../keys/types.ts';
import type { Principal } from '../ports.ts';
import { type HealthBoard, targetId } from '../routing/health.ts';
import type { UsageReader } from '../usage/types.ts';
import { billingAnswer } from './billing.ts';
import { createKey, editKey, KEY_ID, listKeys, revokeKey } from './keys.ts';
import { overview } from './overview.ts';
import type { ReconcileNow } from './reconcile-now.ts';
import { listRequests, REQUEST_ID, requestDetail } from './requests.ts';
import { checkYaml, type RouteSink, routesYaml, saveYaml } from './routes.ts';

export const ADMIN_PREFIX = '/admin/v1/';

/** How long a health read waits for the fleet's view before answering with this instance's. */
const HEALTH_READ_CAP_MS = 2_000;

export interface AdminDeps {
  readonly board: HealthBoard;
  /** The client keys; without it `/admin/v1/keys` is a 404. */
  readonly keys?: ClientKeyRepo;
  /** The keys' spend, for the key list; without it each key's `spentUsd` is null. */
  readonly limits?: Pick<LimitStore, 'spent'>;
  /** Where saved routes go (`PUT /admin/v1/routes`); without it that is a 404. */
  readonly routes?: RouteSink;
  /** The reconciliation reports, for the billing page; without it that is a 404. */
  readonly reports?: Pick<ReportStore, 'list'>;
  /** Runs a reconciliation now (`POST /admin/v1/billing/reconcile`, ./reconcile-now.ts); without it a 404. */
  readonly reconcileNow?: ReconcileNow;
  /** The ledger, for the request pages; without it they are 404s. */
  readonly usage?: UsageReader;
  readonly loadConfig: () => Promise<GatewayConfig>;
  readonly nowMs: () => number;
}

/** Largest admin request body. */
const ADMIN_MAX_BODY = 64 * 1024;

/** An admin path and the methods it takes. */
export interface AdminRoute {
  readonly path:
    | 'health'
    | 'keys'
    | 'key'
    | 'requests'
    | 'request'
    | 'routes'
    | 'routes/check'
    | 'overview'
    | 'billing/reports'
    | 'billing/reconcile';
  /** `key`, `request`: the id the path names. */
  readonly id?: string;
  readonly methods: readonly string[];
}

/** The admin route of a path under {@link ADMIN_PREFIX}, or undefined (404). */
export function adminRouteOf(sub: string): AdminRoute | undefined {
  if (sub === 'health') return { path: 'health', methods: ['GET'] };
  if (sub === 'keys') return { path: 'keys', methods: ['GET', 'POST'] };
  const id = sub.startsWith('keys/') ? sub.slice('keys/'.length) : undefined;
  if (id !== undefined && KEY_ID.test(id)) return { path: 'key', id, methods: ['PATCH', 'DELETE'] };
  if (sub === 'requests') return { path: 'requests', methods: ['GET'] };
  if (sub === 'overview') return { path: 'overview', methods: ['GET'] };
  if (sub === 'billing/reports') return { path: 'billing/reports', methods: ['GET'] };
  if (sub === 'billing/reconcile') return { path: 'billing/reconcile', methods: ['POST'] };
  if (sub === 'routes') return { path: 'routes', methods: ['GET', 'PUT'] };
  if (sub === 'routes/check') return { path: 'routes/check', methods: ['POST'] };
  const rid = sub.startsWith('requests/') ? sub.slice('requests/'.length) : undefined;
  if (rid !== undefined && REQUEST_ID.test(rid)) return { path: 'request', id: rid, methods: ['GET'] };
  return undefined;
}

/** 403 unless the principal may use the admin API. */
export function requireAdmin(principal: Principal): void {
  if (principal.admin === true) return;
  throw new PermissionDeniedError({
    code: 'admin_required',
    message:
      'This key may not use the admin API: use the master key or a key made with `keys create --admin`.',
  });
}

/** The status and JSON answer of an admin request (its route and method already checked). */
export async function adminAnswer(
  d: AdminDeps,
  route: AdminRoute,
  req: GatewayRequest,
): Promise<{ readonly status: number; readonly value: unknown }> {
  if (route.path === 'health') return { status: 200, value: await health(d) };
  if (route.path === 'routes' || route.path === 'routes/check') return routesAnswer(d, route, req);
  if (route.path === 'billing/reports' || route.path === 'billing/reconcile')
    return billingAnswer(d, route.path, req);
  if (route.path === 'requests' || route.path === 'request' || route.path === 'overview') {
    if (d.usage === undefined)
      throw new NotFoundError({ code: 'unknown_url', message: 'This gateway keeps no ledger.' });
    const query = req.query ?? '';
    const value =
      route.path === 'overview'
        ? await overview(d.usage, query, d.nowMs(), Math.random)
        : route.path === 'requests'
          ? await listRequests(d.usage, query, d.nowMs())
          : await requestDetail(d.usage, route.id as string);
    return { status: 200, value };
  }
  const repo = d.keys;
  if (repo === undefined)
    throw new NotFoundError({ code: 'unknown_url', message: 'This gateway keeps no keys.' });
  const body = async () => (await readJsonBody(req, ADMIN_MAX_BODY)).json;
  if (route.path === 'keys') {
    if (req.method === 'POST')
      return { status: 201, value: await createKey(repo, await d.loadConfig(), await body()) };
    return { status: 200, value: await listKeys(repo, d.limits, d.nowMs()) };
  }
  const id = route.id as string;
  if (req.method === 'DELETE')
    return { status: 200, value: await revokeKey(repo, id, new Date(d.nowMs()).toISOString()) };
  return { status: 200, value: await editKey(repo, await d.loadConfig(), id, await body()) };
}

/** Largest routes body (a YAML config inside JSON). */
const ROUTES_MAX_BODY = 1024 * 1024;

async function routesAnswer(
  d: AdminDeps,
  route: AdminRoute,
  req: GatewayRequest,
): Promise<{ readonly status: number; readonly value: unknown }> {
  const current = await d.loadConfig();
  if (req.method === 'GET') return { status: 200, value: { object: 'routes', yaml: routesYaml(current) } };
  const { json } = await readJsonBody(req, ROUTES_MAX_BODY);
  const yaml = isRecord(json) && typeof json.yaml === 'string' ? json.yaml : undefined;
  if (yaml === undefined)
    throw new InvalidRequestError({ code: 'invalid_request', message: 'Send {"yaml": "…"}.', param: 'yaml' });
  if (route.path === 'routes/check') {
    const { ok, problems, diff } = checkYaml(yaml, current);
    return { status: 200, value: { object: 'routes.check', ok, problems, diff } };
  }
  if (d.routes === undefined)
    throw new NotFoundError({ code: 'unknown_url', message: 'This gateway cannot save routes.' });
  return { status: 200, value: { object: 'routes.saved', ...(await saveYaml(d.routes, yaml, current)) } };
}

async function health(d: AdminDeps): Promise<unknown> {
  const config = await d.loadConfig();
  const idsOf = (t: TargetConfig) => healthIdsOf(config, t);
  const routes = Object.entries(config.routes);
  const ids = [...new Set(routes.flatMap(([, r]) => r.targets.flatMap(idsOf)))];
  await d.board.ready(ids, HEALTH_READ_CAP_MS, true);
  return {
    object: 'list',
    data: routes.map(([name, r]) => ({
      route: name,
      strategy: r.strategy,
      targets: r.targets.map((t) => ({
        target: targetId(t),
        breakers: idsOf(t).map((id) => d.board.view(id)),
      })),
    })),
  };
}
