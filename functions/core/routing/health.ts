/**
 * Shared target health: circuit breakers, cool-downs and moving averages of speed, per target
 * (`provider/model`), for every instance of the gateway.
 *
 * - **Counting is shared, and local too.** Each instance counts its own attempts (consecutive failures, and
 *   failures over a short window of 1 s buckets), and adds each failure to the target's shared count in the
 *   store (one ADD); a success that knows the shared count is above zero zeroes it (at most once per
 *   `refreshMs` per instance). Either count crossing `failureThreshold` opens the breaker, and the instance
 *   that saw it writes the transition — `{openUntil, reason, at}` — to the store, one small item per target.
 *   So on Lambda, where an instance serves one request at a time, five requests timing out on five instances
 *   open it for all. Writes stay bounded: failures write only while the breaker is closed, resets at most
 *   once per `refreshMs` per instance.
 * - **Reads never wait, but once.** {@link HealthBoard.plan} answers from memory; a view older than
 *   `refreshMs` is re-read in the background (one batched read per route per second per instance at most),
 *   so a breaker opened by one instance is honoured by all within about a second. The one wait is an
 *   instance's first request for a target ({@link HealthBoard.ready}): up to {@link FIRST_READ_CAP_MS} for
 *   the first read, so a fresh Lambda instance does not walk into an outage the fleet already knows of. The
 *   latest transition (by `at`) wins, whichever instance wrote it.
 * - **Half-open.** Once a breaker's `openUntil` passes, one request probes the target: it claims the probe
 *   with one conditional write (so one instance probes, not all; capped at {@link CLAIM_CAP_MS}, past which
 *   the instance probes on its own view), and its outcome closes the breaker or opens it again. The others
 *   keep skipping it meanwhile. A probe that ends with no verdict (the client left, a 400) frees its claim.
 * - **Cool-downs.** A 429 with Retry-After cools the target down for that long (capped), a no-balance,
 *   `insufficient_quota` answer for `quotaCooldownMs`: the same shared transition, but the target is healthy
 *   again at its end, with no probe (so a one-target route is not starved behind a probe).
 * - **A store failure never blocks traffic**: the instance keeps its own view (its own transitions, the last
 *   shared one it read) and logs the failure once a minute.
 * - **Open targets are skipped**; when all of a route's are, the request is answered at once (execute.ts).
 */

import type { TargetConfig } from '../config/schema.ts';
import type { FailureKind } from './failure.ts';
import {
  adoptShared,
  average,
  BREAKER_KINDS,
  CLAIM_CAP_MS,
  eventOf,
  FIRST_READ_CAP_MS,
  ringOf,
  SPEED_WRITE_MS,
  statusOf,
  TargetState,
  within,
} from './health-state.ts';
import {
  type HealthBoardDeps,
  type HealthConfig,
  type HealthView,
  type Outcome,
  type PlannedTarget,
  type Transition,
  targetId,
} from './health-types.ts';

export { CLAIM_CAP_MS, FIRST_READ_CAP_MS } from './health-state.ts';
export * from './health-types.ts';

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

  /** The view of a target now (for the console, the tests and the log). */
  view(id: string): HealthView {
    const s = this.state(id);
    const now = this.deps.clock.epochMs();
    const { latencyMs, ttftMs } = this.speed(id);
    return {
      id,
      status: statusOf(s, now),
      reason: s.transition.reason,
      openUntil: s.transition.openUntil,
      ...(latencyMs === undefined ? {} : { latencyMs: Math.round(latencyMs) }),
      ...(ttftMs === undefined ? {} : { ttftMs: Math.round(ttftMs) }),
      ...(Math.max(s.seenAt, s.sharedSeenAt) === 0 ? {} : { seenAt: Math.max(s.seenAt, s.sharedSeenAt) }),
    };
  }

  /** Whether a request should not try the target now: open, or half-open with its probe out. */
  down(id: string): boolean {
    const s = this.targets.get(id);
    if (s === undefined) return false;
    const now = this.deps.clock.epochMs();
    const status = statusOf(s, now);
    return status === 'open' || (status === 'half-open' && now < s.probingUntil);
  }

  /** Keeps these views fresh (re-read in the background when older than `refreshMs`): base URLs' breakers. */
  watch(ids: readonly string[]): void {
    this.refresh(ids, this.deps.clock.epochMs());
  }

  /**
   * An instance's first read of these targets, waited for ≤ `capMs`; else undefined. `stale`: every view older
   * than `refreshMs` too (the probes, off the request path, want the fleet's view before they choose).
   */
  ready(ids: readonly string[], capMs = FIRST_READ_CAP_MS, stale = false): Promise<void> | undefined {
    if (this.deps.store === undefined) return undefined;
    const now = this.deps.clock.epochMs();
    if (!stale && !ids.some((id) => this.state(id).readAt === Number.NEGATIVE_INFINITY)) return undefined;
    const reading = this.refresh(ids, now);
    return reading === undefined ? undefined : within(reading, capMs).then(() => undefined);
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
      const status = cfg(target).enabled ? statusOf(s, now) : 'healthy';
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
   * Before a half-open target is tried: claims its probe (one conditional write, waited for up to
   * {@link CLAIM_CAP_MS} or until `signal` aborts; past that the instance probes on its own view). False:
   * another request (here or on another instance) probes it, so this one skips it.
   */
  async claimProbe(id: string, holdMs: number, signal?: AbortSignal): Promise<boolean> {
    const s = this.state(id);
    const now = this.deps.clock.epochMs();
    if (now < s.probingUntil) return false;
    s.probingUntil = now + holdMs;
    const openedAt = s.transition.at;
    s.claimedFor = openedAt;
    const store = this.deps.store;
    if (store === undefined) return true;
    const claim = store.claimProbe(id, openedAt, holdMs).catch((err: unknown) => {
      this.storeFailed('claim a probe', err);
      return true;
    });
    this.background(claim);
    const won = await within(claim, CLAIM_CAP_MS, signal);
    if (won === false && s.claimedFor === openedAt) {
      // Another instance probes it: skip it here until its probe's hold ends or its outcome is read.
      s.claimedFor = undefined;
    }
    return won !== false;
  }

  /** A probe this instance claimed ended with no verdict (the client left, the request's own error): free it. */
  release(id: string): void {
    const s = this.targets.get(id);
    if (s?.claimedFor === undefined) return;
    const openedAt = s.claimedFor;
    s.claimedFor = undefined;
    s.probingUntil = 0;
    const store = this.deps.store;
    if (store !== undefined)
      this.background(
        store.releaseProbe(id, openedAt).catch((err: unknown) => this.storeFailed('free a probe', err)),
      );
  }

  /**
   * An attempt answered. It closes an open breaker only if it started after the breaker opened (a slow
   * success from before says nothing of the target since).
   */
  success(o: Outcome): void {
    const s = this.state(o.id);
    const sp = this.state(o.speedId ?? o.id);
    const now = this.deps.clock.epochMs();
    sp.seenAt = now;
    s.consecutive = 0;
    ringOf(s, o.cfg).add(now, false);
    if (o.stream) sp.ttftMs = average(sp.ttftMs, o.ms);
    else sp.latencyMs = average(sp.latencyMs, o.ms);
    const t = s.transition;
    if (t.openUntil !== 0 && o.startedAt >= t.at && (t.reason === 'breaker' || now < t.openUntil)) {
      s.probingUntil = 0;
      s.claimedFor = undefined;
      this.move(s, o.provider, { openUntil: 0, reason: 'closed', at: now }, 'a request succeeded');
    }
    const store = this.deps.store;
    if (store === undefined) return;
    if (s.sharedFails > 0 && now - s.resetAt >= this.refreshMs) {
      s.sharedFails = 0;
      s.resetAt = now;
      this.background(
        store.resetFailures(o.id).catch((err: unknown) => this.storeFailed('reset a failure count', err)),
      );
    }
    if (now - sp.speedWrittenAt >= SPEED_WRITE_MS) {
      sp.speedWrittenAt = now;
      this.background(
        store
          .speeds(sp.id, {
            ...(sp.latencyMs === undefined ? {} : { latencyMs: Math.round(sp.latencyMs) }),
            ...(sp.ttftMs === undefined ? {} : { ttftMs: Math.round(sp.ttftMs) }),
            seenAt: now,
          })
          .catch((err: unknown) => this.storeFailed('write moving averages', err)),
      );
    }
  }

  /**
   * An attempt failed. Timeouts, 5xx and connection failures count toward the breaker (and weigh on the
   * target's moving average, so `latency` does not rank a hanging target fastest); a 429 with Retry-After
   * cools the target down for that long; no balance for `quotaCooldownMs`; anything else (the request's
   * own fault, a field the target lacks, a refused key) says nothing about the target's health.
   */
  failure(
    o: Outcome,
    f: { readonly kind: FailureKind; readonly status?: number; readonly retryAfterMs?: number },
  ): void {
    const { cfg, provider } = o;
    const s = this.state(o.id);
    const sp = this.state(o.speedId ?? o.id);
    const now = this.deps.clock.epochMs();
    sp.seenAt = now;
    if (BREAKER_KINDS.has(f.kind)) {
      // What the client waited (a timeout), and never less than twice the usual for a quick failure.
      const penalty = (avg: number | undefined) =>
        f.kind === 'timeout' ? o.ms : Math.max(o.ms, 2 * (avg ?? o.ms));
      if (o.stream) sp.ttftMs = average(sp.ttftMs, penalty(sp.ttftMs));
      else sp.latencyMs = average(sp.latencyMs, penalty(sp.latencyMs));
    }
    if (!cfg.enabled) return;
    if (f.kind === 'rate_limited' && f.retryAfterMs !== undefined && f.retryAfterMs > 0) {
      const until = now + Math.min(f.retryAfterMs, cfg.maxRetryAfterMs);
      s.claimedFor = undefined;
      s.probingUntil = 0;
      if (until > s.transition.openUntil)
        this.move(s, provider, { openUntil: until, reason: 'rate_limited', at: now }, '429 with Retry-After');
      return;
    }
    if (f.kind === 'balance') {
      s.claimedFor = undefined;
      s.probingUntil = 0;
      const cause = 'no balance / insufficient quota';
      this.move(s, provider, { openUntil: now + cfg.quotaCooldownMs, reason: 'quota', at: now }, cause);
      return;
    }
    // A refused key (auth) is left alone: it is config, fixed by rotating the secret, which the gateway picks
    // up within its cache's TTL — a cool-down would keep skipping the target long after the fix.
    // Says nothing of the target (a probe that ended so leaves it half-open for the next request), nor does
    // an attempt that started before the latest transition (its news is older than the breaker's state).
    const stale = s.transition.openUntil !== 0 && o.startedAt < s.transition.at;
    if (!BREAKER_KINDS.has(f.kind) || stale) {
      if (o.probe === true) this.release(o.id);
      return;
    }
    s.consecutive++;
    const ring = ringOf(s, cfg);
    ring.add(now, true);
    const status = statusOf(s, now);
    const what = `${f.kind}${f.status === undefined ? '' : ` ${f.status}`}`;
    if (o.probe === true || status === 'half-open') {
      s.claimedFor = undefined;
      s.probingUntil = 0;
      this.open(s, provider, cfg, `probe failed (${what})`);
      return;
    }
    if (status === 'open') return;
    const { total, failed } = ring.totals(now);
    const byCount = s.consecutive >= cfg.failureThreshold;
    const byRate = total >= cfg.minRequests && (failed / total) * 100 >= cfg.failureRatePercent;
    if (byCount || byRate) {
      const cause = byCount
        ? `${s.consecutive} consecutive failures (last: ${what})`
        : `${failed} of ${total} attempts failed in ${cfg.windowMs / 1000} s (last: ${what})`;
      this.open(s, provider, cfg, cause);
      return;
    }
    const store = this.deps.store;
    if (store === undefined) return;
    const before = s.transition.at;
    this.background(
      store.failed(o.id).then(
        (n) => {
          s.sharedFails = n;
          const later = this.deps.clock.epochMs();
          // Only where this instance has too few attempts of its own to judge by their rate (a Lambda instance
          // serves one at a time): a busy instance's own failure rate is the better judge of a busy target.
          const few = ring.totals(later).total < cfg.minRequests;
          if (!few || n < cfg.failureThreshold || s.transition.at !== before) return;
          if (statusOf(s, later) !== 'healthy') return;
          this.open(s, provider, cfg, `${n} consecutive failures across instances (last: ${what})`);
        },
        (err: unknown) => this.storeFailed('count a failure', err),
      ),
    );
  }

  private open(s: TargetState, provider: string, cfg: HealthConfig, cause: string): void {
    const now = this.deps.clock.epochMs();
    this.move(s, provider, { openUntil: now + cfg.cooldownMs, reason: 'breaker', at: now }, cause);
  }

  /**
   * Applies a transition here, and shares it. Its `at` is later than the one it replaces even when this
   * instance's clock is behind the one that wrote that (else the store would keep the older state).
   */
  private move(s: TargetState, provider: string, wanted: Transition, cause: string): void {
    const t: Transition = { ...wanted, at: Math.max(wanted.at, s.transition.at + 1) };
    s.transition = t;
    s.sharedFails = 0;
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
    const event = eventOf(id, provider, t, cause);
    const closed = t.openUntil === 0;
    this.deps.logger.log(closed ? 'info' : 'warn', closed ? 'target healthy again' : 'target skipped', {
      health: event,
    });
    this.deps.onTransition?.(event);
  }

  /** Re-reads the shared views older than `refreshMs`, in the background; the read, if one started. */
  private refresh(ids: readonly string[], now: number): Promise<void> | undefined {
    const store = this.deps.store;
    if (store === undefined) return undefined;
    const stale = ids.filter(
      (id) => now - this.state(id).readAt >= this.refreshMs && !this.refreshing.has(id),
    );
    if (stale.length === 0) return undefined;
    for (const id of stale) {
      this.refreshing.add(id);
      this.state(id).readAt = now;
    }
    const reading = store
      .read(stale)
      .then((found) => {
        for (const [id, shared] of found) adoptShared(this.state(id), shared);
      })
      .catch((err: unknown) => this.storeFailed('read target health', err))
      .finally(() => {
        for (const id of stale) this.refreshing.delete(id);
      });
    this.background(reading);
    return reading;
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
