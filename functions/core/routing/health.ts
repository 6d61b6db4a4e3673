/**
 * Shared target health: circuit breakers, cool-downs and moving averages of speed, per target
 * (`provider/model`), for every instance of the gateway.
 *
 * - **Counting is per instance, transitions are shared.** Each instance counts its own attempts (consecutive
 *   failures, and failures over a short window of 1 s buckets); when they cross a threshold it opens the
 *   breaker and writes the transition — `{openUntil, reason, at}` — to the store, one small item per target.
 *   Counting every failure in the store would put an outage's whole request rate on one item; a transition is
 *   a write per cool-down.
 * - **Reads never wait.** {@link HealthBoard.plan} answers from memory; a view older than `refreshMs` is
 *   re-read in the background (one batched read per route per second per instance at most), so a breaker
 *   opened by one instance is honoured by all within about a second, and the request path gains no store
 *   round trip. The latest transition (by `at`) wins, whichever instance wrote it.
 * - **Half-open.** Once `openUntil` passes, one request probes the target: it claims the probe with one
 *   conditional write (so one instance probes, not all) and its outcome closes the breaker or opens it
 *   again. The others keep skipping it meanwhile.
 * - **Cool-downs.** A 429 with Retry-After cools the target down for that long (capped), a no-balance,
 *   `insufficient_quota` answer for `quotaCooldownMs`: the same shared transition.
 * - **A store failure never blocks traffic**: the instance keeps its own view (its own transitions, the last
 *   shared one it read) and logs the failure once a minute.
 * - **Never refuse for health alone.** Open targets are tried last, after every healthy one: when all are
 *   open a request still gets an answer if any of them gives one.
 */

import type { TargetConfig } from '../config/schema.ts';
import type { Clock, Logger } from '../ports.ts';
import type { FailureKind } from './failure.ts';
import { Ring } from './failure-window.ts';
import {
  DEFAULT_HEALTH,
  type HealthConfig,
  type HealthEvent,
  type HealthStore,
  type HealthView,
  type PlannedTarget,
  type SharedHealth,
  type TargetStatus,
  type Transition,
  targetId,
} from './health-types.ts';

export * from './health-types.ts';

/** Weight of a new sample in the moving averages. */
const ALPHA = 0.2;
/** An instance writes a target's moving averages at most this often. */
const SPEED_WRITE_MS = 5_000;

class TargetState {
  consecutive = 0;
  ring: Ring | undefined;
  /** The latest transition this instance knows of (its own or read). */
  transition: Transition = { openUntil: 0, reason: 'closed', at: 0 };
  readAt = Number.NEGATIVE_INFINITY;
  /** A probe of the half-open target is in flight here until then (epoch ms). */
  probingUntil = 0;
  latencyMs: number | undefined;
  ttftMs: number | undefined;
  sharedLatencyMs: number | undefined;
  sharedTtftMs: number | undefined;
  speedWrittenAt = Number.NEGATIVE_INFINITY;
  constructor(readonly id: string) {}
}

function ringOf(s: TargetState, cfg: HealthConfig): Ring {
  if (s.ring === undefined) s.ring = new Ring(Math.max(1, Math.round(cfg.windowMs / 1000)));
  return s.ring;
}

/** Failure kinds that count against a target's breaker (the client's own 4xx never do). */
const BREAKER_KINDS: ReadonlySet<FailureKind> = new Set(['unreachable', 'timeout', 'server']);

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

export class HealthBoard {
  private readonly targets = new Map<string, TargetState>();
  private readonly refreshMs: number;
  private storeFailedLoggedAt = Number.NEGATIVE_INFINITY;
  private readonly refreshing = new Set<string>();

  constructor(private readonly deps: HealthBoardDeps) {
    this.refreshMs = deps.refreshMs ?? 1_000;
  }

  private state(id: string): TargetState {
    let s = this.targets.get(id);
    if (s === undefined) {
      s = new TargetState(id);
      this.targets.set(id, s);
    }
    return s;
  }

  private statusOf(s: TargetState, now: number): TargetStatus {
    const t = s.transition;
    if (t.openUntil === 0) return 'healthy';
    return now < t.openUntil ? 'open' : 'half-open';
  }

  /** The view of a target now (for the console, the tests and the log). */
  view(id: string): HealthView {
    const s = this.state(id);
    const now = this.deps.clock.epochMs();
    return {
      id,
      status: this.statusOf(s, now),
      reason: s.transition.reason,
      openUntil: s.transition.openUntil,
      ...((s.latencyMs ?? s.sharedLatencyMs) === undefined
        ? {}
        : { latencyMs: Math.round((s.latencyMs ?? s.sharedLatencyMs) as number) }),
      ...((s.ttftMs ?? s.sharedTtftMs) === undefined
        ? {}
        : { ttftMs: Math.round((s.ttftMs ?? s.sharedTtftMs) as number) }),
    };
  }

  /** Every target this instance has seen. */
  views(): HealthView[] {
    return [...this.targets.keys()].sort().map((id) => this.view(id));
  }

  /**
   * The targets in the order to try them: `ordered` (the strategy's order) with open targets moved last
   * (soonest to recover first) — from memory; stale shared views are re-read in the background.
   */
  plan(ordered: readonly TargetConfig[], cfg: (t: TargetConfig) => HealthConfig): PlannedTarget[] {
    const now = this.deps.clock.epochMs();
    this.refresh(ordered.map(targetId), now);
    const usable: PlannedTarget[] = [];
    const open: (PlannedTarget & { until: number })[] = [];
    for (const target of ordered) {
      const id = targetId(target);
      const s = this.state(id);
      const status = cfg(target).enabled ? this.statusOf(s, now) : 'healthy';
      if (status === 'healthy' || (status === 'half-open' && now >= s.probingUntil))
        usable.push({ target, id, status });
      else open.push({ target, id, status: 'open', until: s.transition.openUntil });
    }
    open.sort((a, b) => a.until - b.until);
    return [...usable, ...open.map(({ until: _u, ...p }) => p)];
  }

  /** Moving averages of a target (this instance's, else the shared ones). */
  speed(id: string): { latencyMs?: number; ttftMs?: number } {
    const s = this.state(id);
    const latencyMs = s.latencyMs ?? s.sharedLatencyMs;
    const ttftMs = s.ttftMs ?? s.sharedTtftMs;
    return {
      ...(latencyMs === undefined ? {} : { latencyMs }),
      ...(ttftMs === undefined ? {} : { ttftMs }),
    };
  }

  /**
   * Before a half-open target is tried: claims its probe (one conditional write). False: another request
   * (here or on another instance) probes it, so this one skips it.
   */
  async claimProbe(id: string, holdMs: number): Promise<boolean> {
    const s = this.state(id);
    const now = this.deps.clock.epochMs();
    if (now < s.probingUntil) return false;
    s.probingUntil = now + holdMs;
    const store = this.deps.store;
    if (store === undefined) return true;
    try {
      const won = await store.claimProbe(id, s.transition.at, holdMs);
      // Another instance probes it: skip it here until its probe's hold ends or its outcome is read.
      return won;
    } catch (err) {
      this.storeFailed('claim a probe', err);
      return true;
    }
  }

  /** An attempt answered: `ms` to its answer (a stream: to the answer's start). */
  success(
    id: string,
    provider: string,
    ms: number,
    stream: boolean,
    cfg: HealthConfig = DEFAULT_HEALTH,
  ): void {
    const s = this.state(id);
    const now = this.deps.clock.epochMs();
    s.consecutive = 0;
    ringOf(s, cfg).add(now, false);
    if (stream) s.ttftMs = s.ttftMs === undefined ? ms : s.ttftMs + ALPHA * (ms - s.ttftMs);
    else s.latencyMs = s.latencyMs === undefined ? ms : s.latencyMs + ALPHA * (ms - s.latencyMs);
    if (s.transition.openUntil !== 0) {
      s.probingUntil = 0;
      this.move(s, provider, { openUntil: 0, reason: 'closed', at: now }, 'a request succeeded');
    }
    if (this.deps.store !== undefined && now - s.speedWrittenAt >= SPEED_WRITE_MS) {
      s.speedWrittenAt = now;
      const store = this.deps.store;
      this.background(
        store
          .speeds(id, {
            ...(s.latencyMs === undefined ? {} : { latencyMs: Math.round(s.latencyMs) }),
            ...(s.ttftMs === undefined ? {} : { ttftMs: Math.round(s.ttftMs) }),
          })
          .catch((err: unknown) => this.storeFailed('write moving averages', err)),
      );
    }
  }

  /**
   * An attempt failed. Timeouts, 5xx and connection failures count toward the breaker; a 429 with Retry-After
   * cools the target down for that long; no balance for `quotaCooldownMs`; anything else (the
   * request's own fault, a field the target lacks) says nothing about the target's health.
   */
  failure(
    id: string,
    provider: string,
    f: { readonly kind: FailureKind; readonly status?: number; readonly retryAfterMs?: number },
    cfg: HealthConfig,
  ): void {
    const s = this.state(id);
    const now = this.deps.clock.epochMs();
    if (f.kind === 'rate_limited') {
      if (f.retryAfterMs === undefined || f.retryAfterMs <= 0) {
        s.probingUntil = 0;
        return;
      }
      const until = now + Math.min(f.retryAfterMs, cfg.maxRetryAfterMs);
      if (until > s.transition.openUntil)
        this.move(s, provider, { openUntil: until, reason: 'rate_limited', at: now }, '429 with Retry-After');
      s.probingUntil = 0;
      return;
    }
    // A refused key (auth) is left alone: it is config, fixed by rotating the secret, which the gateway picks
    // up within its cache's TTL — a cool-down would keep skipping the target long after the fix.
    if (f.kind === 'balance') {
      const cause = 'no balance / insufficient quota';
      this.move(s, provider, { openUntil: now + cfg.quotaCooldownMs, reason: 'quota', at: now }, cause);
      s.probingUntil = 0;
      return;
    }
    if (!BREAKER_KINDS.has(f.kind)) {
      // Says nothing of the target: a probe that ended so leaves it half-open for the next request.
      s.probingUntil = 0;
      return;
    }
    s.consecutive++;
    const ring = ringOf(s, cfg);
    ring.add(now, true);
    const status = this.statusOf(s, now);
    const what = `${f.kind}${f.status === undefined ? '' : ` ${f.status}`}`;
    if (s.probingUntil !== 0 || status === 'half-open') {
      s.probingUntil = 0;
      this.move(
        s,
        provider,
        { openUntil: now + cfg.cooldownMs, reason: 'breaker', at: now },
        `probe failed (${what})`,
      );
      return;
    }
    if (status === 'open') return;
    const { total, failed } = ring.totals(now);
    const byCount = s.consecutive >= cfg.failureThreshold;
    const byRate = total >= cfg.minRequests && (failed / total) * 100 >= cfg.failureRatePercent;
    if (!byCount && !byRate) return;
    const cause = byCount
      ? `${s.consecutive} consecutive failures (last: ${what})`
      : `${failed} of ${total} attempts failed in ${cfg.windowMs / 1000} s (last: ${what})`;
    this.move(s, provider, { openUntil: now + cfg.cooldownMs, reason: 'breaker', at: now }, cause);
  }

  /** Applies a transition here, and shares it. */
  private move(s: TargetState, provider: string, t: Transition, cause: string): void {
    s.transition = t;
    if (t.openUntil === 0) {
      s.consecutive = 0;
      s.ring?.clear();
    }
    this.announce(s.id, provider, t, cause);
    const store = this.deps.store;
    if (store !== undefined)
      this.background(
        store
          .transition(s.id, t)
          .catch((err: unknown) => this.storeFailed('share a breaker transition', err)),
      );
  }

  private announce(id: string, provider: string, t: Transition, cause?: string): void {
    const event: HealthEvent = {
      target: id,
      provider,
      state: t.openUntil === 0 ? 'closed' : 'open',
      reason: t.reason,
      ...(t.openUntil === 0 ? {} : { until: new Date(t.openUntil).toISOString() }),
      ...(cause === undefined ? {} : { cause }),
    };
    this.deps.logger.log(
      t.openUntil === 0 ? 'info' : 'warn',
      t.openUntil === 0 ? 'target healthy again' : 'target skipped',
      { health: event },
    );
    this.deps.onTransition?.(event);
  }

  /** Re-reads the shared views older than `refreshMs`, in the background. */
  private refresh(ids: readonly string[], now: number): void {
    const store = this.deps.store;
    if (store === undefined) return;
    const stale = ids.filter(
      (id) => now - this.state(id).readAt >= this.refreshMs && !this.refreshing.has(id),
    );
    if (stale.length === 0) return;
    for (const id of stale) {
      this.refreshing.add(id);
      this.state(id).readAt = now;
    }
    this.background(
      store
        .read(stale)
        .then((found) => {
          for (const [id, shared] of found) this.adopt(id, shared);
        })
        .catch((err: unknown) => this.storeFailed('read target health', err))
        .finally(() => {
          for (const id of stale) this.refreshing.delete(id);
        }),
    );
  }

  /** Takes a shared view: its transition when later than the one known here, its moving averages. */
  private adopt(id: string, shared: SharedHealth): void {
    const s = this.state(id);
    if (shared.latencyMs !== undefined) s.sharedLatencyMs = shared.latencyMs;
    if (shared.ttftMs !== undefined) s.sharedTtftMs = shared.ttftMs;
    if (shared.at === undefined || shared.openUntil === undefined || shared.reason === undefined) return;
    if (shared.at <= s.transition.at) return;
    const t: Transition = { openUntil: shared.openUntil, reason: shared.reason, at: shared.at };
    s.transition = t;
    s.probingUntil = 0;
    if (t.openUntil === 0) {
      s.consecutive = 0;
      s.ring?.clear();
    }
  }

  private background(task: Promise<unknown>): void {
    if (this.deps.track !== undefined) this.deps.track(task);
    else void task;
  }

  private storeFailed(what: string, err: unknown): void {
    const now = this.deps.clock.epochMs();
    if (now - this.storeFailedLoggedAt < 60_000) return;
    this.storeFailedLoggedAt = now;
    this.deps.logger.log('warn', 'health store failed: each instance goes on with its own view', {
      what,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
