/**
 * The admin API (issue 17, first part): JSON under `/admin/v1/…` for the master key and client keys made with
 * `keys create --admin`, the same bearer header as every request (no cookies). Each call is an ordinary
 * request of the gateway: its log line carries the path and the key id. Read-only so far:
 * - `GET /admin/v1/health`: every target of every route, its breaker state and moving averages, as the fleet
 *   sees it (the shared health is re-read first, off the request path of the proxied API);
 * - `GET /admin/v1/keys`: the client keys with their limits (never a key, never its hash).
 */
import type { GatewayConfig, TargetConfig } from '../config/schema.ts';
import { NotFoundError, PermissionDeniedError } from '../errors.ts';
import { healthIdsOf } from '../gateway/target-health.ts';
import { keyView } from '../keys/client-keys.ts';
import type { ClientKeyRepo } from '../keys/types.ts';
import type { Principal } from '../ports.ts';
import { type HealthBoard, targetId } from '../routing/health.ts';

export const ADMIN_PREFIX = '/admin/v1/';

/** How long a health read waits for the fleet's view before answering with this instance's. */
const HEALTH_READ_CAP_MS = 2_000;

export interface AdminDeps {
  readonly board: HealthBoard;
  /** The client keys; without it `/admin/v1/keys` is a 404. */
  readonly keys?: ClientKeyRepo;
  readonly loadConfig: () => Promise<GatewayConfig>;
}

/** The admin paths and the methods they take. */
export const ADMIN_PATHS: ReadonlyMap<string, string> = new Map([
  ['health', 'GET'],
  ['keys', 'GET'],
]);

/** 403 unless the principal may use the admin API. */
export function requireAdmin(principal: Principal): void {
  if (principal.admin === true) return;
  throw new PermissionDeniedError({
    code: 'admin_required',
    message:
      'This key may not use the admin API: use the master key or a key made with `keys create --admin`.',
  });
}

/** The JSON answer of an admin path (`health`, `keys`). */
export async function adminAnswer(d: AdminDeps, path: string): Promise<unknown> {
  if (path === 'health') return health(d);
  if (path === 'keys' && d.keys !== undefined) {
    const keys = await d.keys.list();
    return { object: 'list', data: keys.map(keyView) };
  }
  throw new NotFoundError({ code: 'unknown_url', message: `Unknown admin path: ${path.slice(0, 64)}.` });
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
