/**
 * What the health board (./health.ts) keeps per target on one instance, and the small pieces it is made of.
 */
import type { FailureKind } from './failure.ts';
import { Ring } from './failure-window.ts';
import type { HealthConfig, HealthEvent, SharedHealth, TargetStatus, Transition } from './health-types.ts';

/** Weight of a new sample in the moving averages. */
const ALPHA = 0.2;
/** An instance writes a target's moving averages at most this often. */
export const SPEED_WRITE_MS = 5_000;
/** The longest a request waits for a probe's claim before probing on the instance's own view. */
export const CLAIM_CAP_MS = 150;
/** The longest a request waits for an instance's first read of its targets' shared health. */
export const FIRST_READ_CAP_MS = 50;

export class TargetState {
  consecutive = 0;
  ring: Ring | undefined;
  /** The latest transition this instance knows of (its own or read). */
  transition: Transition = { openUntil: 0, reason: 'closed', at: 0 };
  readAt = Number.NEGATIVE_INFINITY;
  /** A probe of the half-open target is in flight (here or, as far as this instance knows, elsewhere) until then. */
  probingUntil = 0;
  /** This instance holds the probe's claim, taken for the transition written at this `at` (else undefined). */
  claimedFor: number | undefined;
  /** The shared failure count, as last read or returned by this instance's own ADD. */
  sharedFails = 0;
  resetAt = Number.NEGATIVE_INFINITY;
  latencyMs: number | undefined;
  ttftMs: number | undefined;
  sharedLatencyMs: number | undefined;
  sharedTtftMs: number | undefined;
  speedWrittenAt = Number.NEGATIVE_INFINITY;
  seenAt = 0;
  sharedSeenAt = 0;
  constructor(readonly id: string) {}
}

export function ringOf(s: TargetState, cfg: HealthConfig): Ring {
  if (s.ring === undefined) s.ring = new Ring(Math.max(1, Math.round(cfg.windowMs / 1000)));
  return s.ring;
}

export const average = (avg: number | undefined, sample: number): number =>
  avg === undefined ? sample : avg + ALPHA * (sample - avg);

/** Failure kinds that count against a target's breaker (the client's own 4xx never do). */
export const BREAKER_KINDS: ReadonlySet<FailureKind> = new Set(['unreachable', 'timeout', 'server']);

/** `task`'s value, or undefined once `ms` pass or `signal` aborts first (the task goes on, unawaited). */
export function within<T>(task: Promise<T>, ms: number, signal?: AbortSignal): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const cut = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
    if (signal !== undefined) {
      onAbort = () => resolve(undefined);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  return Promise.race([task, cut]).finally(() => {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  });
}

/** Takes a shared view into an instance's state: its transition when later than the one known, its speeds. */
export function adoptShared(s: TargetState, shared: SharedHealth): void {
  if (shared.latencyMs !== undefined) s.sharedLatencyMs = shared.latencyMs;
  if (shared.ttftMs !== undefined) s.sharedTtftMs = shared.ttftMs;
  if (shared.fails !== undefined) s.sharedFails = shared.fails;
  if (shared.seenAt !== undefined) s.sharedSeenAt = shared.seenAt;
  if (shared.at === undefined || shared.openUntil === undefined || shared.reason === undefined) return;
  if (shared.at <= s.transition.at) return;
  s.transition = { openUntil: shared.openUntil, reason: shared.reason, at: shared.at };
  s.probingUntil = 0;
  s.claimedFor = undefined;
  if (shared.openUntil === 0) {
    s.consecutive = 0;
    s.ring?.clear();
  }
}

/** What a transition looks like to the log and the metrics. */
export function eventOf(id: string, provider: string, t: Transition, cause?: string): HealthEvent {
  return {
    target: id,
    provider,
    state: t.openUntil === 0 ? 'closed' : 'open',
    reason: t.reason,
    ...(t.openUntil === 0 ? {} : { until: new Date(t.openUntil).toISOString() }),
    ...(cause === undefined ? {} : { cause }),
  };
}

/** A breaker past its cool-down is half-open (one probe); a 429 or quota cool-down is simply over. */
export function statusOf(s: TargetState, now: number): TargetStatus {
  const t = s.transition;
  if (t.openUntil === 0) return 'healthy';
  if (now < t.openUntil) return 'open';
  return t.reason === 'breaker' ? 'half-open' : 'healthy';
}
