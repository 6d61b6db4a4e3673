/**
 * Orders a route's targets by its strategy — the order the attempt loop tries them in, before health moves open
 * targets out (./health.ts):
 * - `fallback`: as written;
 * - `weighted`: a weighted random draw without replacement;
 * - `latency`: the fastest first by the shared moving average (time to first content for streams, time to
 *   the whole answer otherwise); a target not yet measured counts as fastest, so it gets measured. With
 *   `explorePercent` chance another target goes first instead, so a target that recovered is noticed;
 * - `cost`: the cheapest first by its price of 1M input + 1M output tokens; unpriced targets last, as written.
 * Every strategy keeps all targets, the rest being fallbacks in that order.
 */
import type { GatewayConfig, RouteConfig, TargetConfig } from '../config/schema.ts';
import { priceOf } from '../usage/pricing.ts';

export interface Speeds {
  speed(id: string): { readonly latencyMs?: number; readonly ttftMs?: number };
}

export interface OrderContext {
  readonly random: () => number;
  readonly config: GatewayConfig;
  readonly stream: boolean;
  readonly speeds?: Speeds;
  /** `latency`: the share of requests (percent) that put another target first. */
  readonly explorePercent?: number;
}

const idOf = (t: TargetConfig): string => `${t.provider}/${t.model}`;

function byKey(targets: readonly TargetConfig[], key: (t: TargetConfig) => number): TargetConfig[] {
  // Stable: equal keys keep the route's own order.
  return targets
    .map((t, i) => ({ t, i, k: key(t) }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.t);
}

export function orderTargets(route: RouteConfig, ctx: OrderContext): readonly TargetConfig[] {
  const targets = route.targets;
  if (targets.length === 1) return targets;
  switch (route.strategy) {
    case 'fallback':
      return targets;
    case 'weighted':
      // Efraimidis–Spirakis: key = u^(1/w), highest first. The first pick is proportional to weight, and the
      // rest stay available as fallbacks in weighted order.
      return targets
        .map((t) => ({ t, key: ctx.random() ** (1 / (t.weight ?? 1)) }))
        .sort((a, b) => b.key - a.key)
        .map((x) => x.t);
    case 'latency': {
      const speeds = ctx.speeds;
      const ordered = byKey(targets, (t) => {
        const s = speeds?.speed(idOf(t));
        const ms = ctx.stream ? (s?.ttftMs ?? s?.latencyMs) : (s?.latencyMs ?? s?.ttftMs);
        return ms ?? 0;
      });
      if (ctx.random() * 100 < (ctx.explorePercent ?? 0)) {
        const i = 1 + Math.floor(ctx.random() * (ordered.length - 1));
        const [picked] = ordered.splice(i, 1);
        if (picked !== undefined) ordered.unshift(picked);
      }
      return ordered;
    }
    case 'cost':
      return byKey(targets, (t) => {
        const p = priceOf(ctx.config, t.provider, t.model)?.price;
        return p === undefined ? Number.POSITIVE_INFINITY : p.input + p.output;
      });
  }
}
