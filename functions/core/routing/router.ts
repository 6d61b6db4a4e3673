/** Orders a route's targets: as written (fallback) or by a weighted random draw without replacement (weighted). */
import type { RouteConfig, TargetConfig } from '../config/schema.ts';

export function orderTargets(route: RouteConfig, random: () => number): readonly TargetConfig[] {
  if (route.strategy === 'fallback' || route.targets.length === 1) return route.targets;
  // Efraimidis–Spirakis: key = u^(1/w), highest first. The first pick is proportional to weight, and the
  // rest stay available as fallbacks in weighted order.
  return route.targets
    .map((t) => ({ t, key: random() ** (1 / (t.weight ?? 1)) }))
    .sort((a, b) => b.key - a.key)
    .map((x) => x.t);
}
