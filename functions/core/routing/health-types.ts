/**
 * Target health, its settings and shapes: what a breaker transition is, what the store keeps per target, and
 * how a route's and a provider's `health` settings merge. The board that uses them is ./health.ts.
 */
import type { HealthSettings, TargetConfig } from '../config/schema.ts';
import type { Clock, Logger } from '../ports.ts';

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
  /** Active probes: a target untouched this long is probed (undefined: never). */
  readonly probeEveryMs?: number;
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

/**
 * What the store keeps per target: the last transition, the last moving averages any instance wrote, and the
 * fleet's count of failures since the last success it heard of (or the last transition).
 */
export interface SharedHealth extends Partial<Transition> {
  readonly latencyMs?: number;
  readonly ttftMs?: number;
  readonly fails?: number;
  /** When an instance last wrote its moving averages: a request answered then (epoch ms). */
  readonly seenAt?: number;
}

/** One small item per target, with an expiry. Implementations: functions/aws/stores/dynamo-health-store.ts. */
export interface HealthStore {
  read(ids: readonly string[]): Promise<ReadonlyMap<string, SharedHealth>>;
  /** Writes a transition unless the item already holds a later one; it zeroes the failure count. */
  transition(id: string, t: Transition): Promise<void>;
  /** Adds one to the shared failure count; resolves to the count after it. */
  failed(id: string): Promise<number>;
  /** Zeroes the shared failure count (a success). */
  resetFailures(id: string): Promise<void>;
  /** Writes the moving averages and when they were measured (last writer wins). */
  speeds(
    id: string,
    s: { readonly latencyMs?: number; readonly ttftMs?: number; readonly seenAt?: number },
  ): Promise<void>;
  /**
   * Claims the probe of a breaker whose transition was written at `openedAt`, for `holdMs`: true for one
   * caller until then (a later claim after `holdMs` may take it again: the first probe hung or died).
   */
  claimProbe(id: string, openedAt: number, holdMs: number): Promise<boolean>;
  /** Frees a claim taken for the transition written at `openedAt` (its probe ended without a verdict). */
  releaseProbe(id: string, openedAt: number): Promise<void>;
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
  /** When this instance last saw an attempt on it end (epoch ms). */
  readonly seenAt?: number;
}

export const targetId = (t: Pick<TargetConfig, 'provider' | 'model'>): string => `${t.provider}/${t.model}`;

/**
 * The breaker of one base URL of a target whose provider has several (`provider/model@url`): each URL has its
 * own, and the target is skipped only when every one of them is open.
 */
export const urlHealthId = (target: string, baseUrl: string): string => `${target}@${baseUrl}`;

export interface HealthBoardDeps {
  readonly store?: HealthStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Tracks the background writes and reads (the Lambda host waits for them). */
  readonly track?: (task: Promise<unknown>) => void;
  /** Breaker transitions, for the metrics. */
  readonly onTransition?: (event: HealthEvent) => void;
  /** How old a shared view may be before it is re-read (default 1 s). */
  readonly refreshMs?: number;
}

/** What an attempt's outcome reports: its target, provider, settings, and when it started (epoch ms). */
export interface Outcome {
  readonly id: string;
  readonly provider: string;
  readonly cfg: HealthConfig;
  readonly startedAt: number;
  /** To its answer (a stream: to the answer's start), or to its failure. */
  readonly ms: number;
  readonly stream: boolean;
  /** This request claimed the target's half-open probe: its outcome is the verdict, or frees the claim. */
  readonly probe?: boolean;
  /**
   * Where speed and last use are kept when they differ from the breaker's id: the target, for an attempt that
   * counts toward one of its base URLs' breakers (`latency` and the probes look targets up by target id).
   */
  readonly speedId?: string;
}
