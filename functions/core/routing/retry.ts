/**
 * Retry policy as pure functions (after openai-node's `shouldRetry`/backoff): exponential backoff with up to
 * 25% jitter, and the upstream's `retry-after-ms` / `Retry-After` wins when it is at most 60 s.
 */
import type { RetryConfig } from '../config/schema.ts';

export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Delay before retry number `retryIndex` (0 = first retry) on the same target, or undefined when the
 * upstream asked for a wait longer than {@link MAX_RETRY_AFTER_MS} (then the next target is better).
 */
export function backoffMs(
  retryIndex: number,
  policy: RetryConfig,
  retryAfterMs: number | undefined,
  random: () => number,
): number | undefined {
  if (retryAfterMs !== undefined) return retryAfterMs <= MAX_RETRY_AFTER_MS ? retryAfterMs : undefined;
  const base = Math.min(policy.initialBackoffMs * 2 ** retryIndex, policy.maxBackoffMs);
  return base * (1 - random() * 0.25);
}

/** Reads `retry-after-ms` (milliseconds) or `retry-after` (seconds or an HTTP date). */
export function parseRetryAfter(
  get: (name: string) => string | undefined,
  nowEpochMs: number,
): number | undefined {
  const ms = get('retry-after-ms');
  if (ms !== undefined) {
    const n = Number.parseFloat(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const ra = get('retry-after');
  if (ra === undefined) return undefined;
  const seconds = Number.parseFloat(ra);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowEpochMs);
}
