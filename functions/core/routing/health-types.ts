/**
 * Target health, its settings and shapes: what a breaker transition is, what the store keeps per target, and
 * how a route's and a provider's `health` settings merge. The board that uses them is ./health.ts.
 */
import type { HealthSettings, TargetConfig } from '../config/schema.ts';

export interface HealthConfig {
  readonly enabled: boolean;
  readonly failureThreshold: number;
  readonly failureRatePercent: number;
  readonly minRequests: number;
  readonly windowMs: number;
  readonly cooldownMs: number;
  readonly quotaCooldownMs: number;
  readonly maxRetryAfterMs: number;
  readonly explorePercent: number;
}

export const DEFAULT_HEALTH: HealthConfig = {
  enabled: true,
  failureThreshold: 5,
  failureRatePercent: 50,
  minRequests: 10,
  windowMs: 10_000,
  cooldownMs: 30_000,
  quotaCooldownMs: 600_000,
  maxRetryAfterMs: 600_000,
  explorePercent: 5,
};

type HealthLayer = { readonly health?: HealthSettings | undefined };
const NO_PROVIDER: HealthLayer = {};
/** Merged settings by route, then provider object: config objects live as long as their cached config. */
const merged = new WeakMap<HealthLayer, WeakMap<HealthLayer, HealthConfig>>();

/** The settings of a target on a route: the defaults, then its provider's `health`, then the route's. */
export function healthConfigOf(route: HealthLayer, provider: HealthLayer | undefined): HealthConfig {
  let byProvider = merged.get(route);
  if (byProvider === undefined) {
    byProvider = new WeakMap();
    merged.set(route, byProvider);
  }
  const p = provider ?? NO_PROVIDER;
  let cfg = byProvider.get(p);
  if (cfg === undefined) {
    cfg = mergeHealth(route, p);
    byProvider.set(p, cfg);
  }
  return cfg;
}

function mergeHealth(route: HealthLayer, provider: HealthLayer): HealthConfig {
  const out: Record<string, unknown> = { ...DEFAULT_HEALTH };
  for (const layer of [provider.health, route.health]) {
    if (layer === undefined) continue;
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) out[k] = v;
  }
  return out as unknown as HealthConfig;
}

export type HealthReason = 'closed' | 'breaker' | 'rate_limited' | 'quota';

/** A breaker transition: open until `openUntil` (epoch ms; 0 = closed), written at `at`. */
export interface Transition {
  readonly openUntil: number;
  readonly reason: HealthReason;
  readonly at: number;
}

/** What the store keeps per target: the last transition and the last moving averages any instance wrote. */
export interface SharedHealth extends Partial<Transition> {
  readonly latencyMs?: number;
  readonly ttftMs?: number;
}

/** One small item per target, with an expiry. Implementations: functions/aws/stores/dynamo-health-store.ts. */
export interface HealthStore {
  read(ids: readonly string[]): Promise<ReadonlyMap<string, SharedHealth>>;
  /** Writes a transition unless the item already holds a later one. */
  transition(id: string, t: Transition): Promise<void>;
  /** Writes the moving averages (last writer wins). */
  speeds(id: string, s: { readonly latencyMs?: number; readonly ttftMs?: number }): Promise<void>;
  /**
   * Claims the probe of a breaker whose transition was written at `openedAt`, for `holdMs`: true for one
   * caller until then (a later claim after `holdMs` may take it again: the first probe hung or died).
   */
  claimProbe(id: string, openedAt: number, holdMs: number): Promise<boolean>;
}

/** What a breaker transition looks like to the log and the metrics. */
export interface HealthEvent {
  readonly target: string;
  readonly provider: string;
  readonly state: 'open' | 'closed';
  readonly reason: HealthReason;
  /** Open: until when (ISO). */
  readonly until?: string;
  /** What opened it: consecutive failures, a failure rate, a status. */
  readonly cause?: string;
}

export type TargetStatus = 'healthy' | 'open' | 'half-open';

export interface PlannedTarget {
  readonly target: TargetConfig;
  readonly id: string;
  readonly status: TargetStatus;
}

export interface HealthView {
  readonly id: string;
  readonly status: TargetStatus;
  readonly reason: HealthReason;
  readonly openUntil: number;
  readonly latencyMs?: number;
  readonly ttftMs?: number;
}

export const targetId = (t: Pick<TargetConfig, 'provider' | 'model'>): string => `${t.provider}/${t.model}`;
