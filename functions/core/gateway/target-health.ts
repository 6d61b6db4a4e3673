/**
 * What the attempt loop (./execute.ts) asks of target health: which targets count as the last one standing,
 * and the answer when every target is skipped.
 */
import { baseUrlsOf, type GatewayConfig, type RouteConfig, type TargetConfig } from '../config/schema.ts';
import { RateLimitError, type SwitchyardError, UpstreamError } from '../errors.ts';
import { own } from '../json.ts';
import { type HealthBoard, type PlannedTarget, targetId, urlHealthId } from '../routing/health.ts';

/** Ids by target object: a target belongs to one parsed config, which lives as long as its cache holds it. */
const idsByTarget = new WeakMap<TargetConfig, readonly string[]>();

/**
 * The breakers of a target: its own, or one per base URL when its provider has several. Made once per
 * target of a config, not per request (the attempt loop asks several times per request).
 */
export function healthIdsOf(config: GatewayConfig, t: TargetConfig): readonly string[] {
  let ids = idsByTarget.get(t);
  if (ids === undefined) {
    const p = own(config.providers, t.provider);
    const urls = p === undefined ? [] : baseUrlsOf(p);
    ids = urls.length > 1 ? urls.map((u) => urlHealthId(targetId(t), u)) : [targetId(t)];
    idsByTarget.set(t, ids);
  }
  return ids;
}

const idsByRoute = new WeakMap<RouteConfig, readonly string[]>();

/** Every breaker id of a route's targets (made once per route of a config). */
export function routeHealthIdsOf(config: GatewayConfig, route: RouteConfig): readonly string[] {
  let ids = idsByRoute.get(route);
  if (ids === undefined) {
    ids = route.targets.flatMap((t) => healthIdsOf(config, t));
    idsByRoute.set(route, ids);
  }
  return ids;
}

/**
 * Served by the route's last target standing: every other one was skipped for its health or is down now (its
 * breaker open, or cooling down). A target that merely failed once (its breaker still closed) does not count.
 */
export function lastStanding(
  planned: readonly PlannedTarget[],
  skipped: readonly PlannedTarget[],
  winner: number,
  down: (p: PlannedTarget) => boolean,
): boolean {
  if (planned.length < 2) return false;
  for (const [j, p] of planned.entries())
    if (j !== winner && !skipped.some((k) => k.target === p.target) && !down(p)) return false;
  return true;
}

export const openUntilOf = (board: HealthBoard | undefined, id: string): number =>
  board?.view(id).openUntil ?? 0;

/**
 * Every target of the route is cooling down (none was tried): 429 when each was rate limited, else 502
 * `upstream_unavailable`; both with Retry-After at the soonest end of a cool-down, so the SDK waits it out.
 */
export function allSkipped(
  board: HealthBoard,
  skipped: readonly PlannedTarget[],
  now: number,
): SwitchyardError {
  const views = skipped.map((p) => board.view(p.id));
  const soonest = Math.min(...views.map((v) => v.openUntil));
  const retryAfterSeconds = Math.max(1, Math.ceil((soonest - now) / 1000));
  const names = views.map((v) => `${v.id} until ${new Date(v.openUntil).toISOString()}`).join(', ');
  if (views.every((v) => v.reason === 'rate_limited')) {
    return new RateLimitError({
      code: 'upstream_rate_limited',
      message: `Every target is cooling down after a rate limit (${names}).`,
      retryAfterSeconds,
    });
  }
  return new UpstreamError({
    code: 'upstream_unavailable',
    message: `Every target is skipped while its circuit breaker is open (${names}).`,
    retryAfterSeconds,
  });
}
