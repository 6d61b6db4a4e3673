import { describe, expect, it } from 'vitest';
import { backoffMs, MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../../functions/core/routing/retry.ts';

const policy = { attempts: 5, initialBackoffMs: 500, maxBackoffMs: 8_000 };

describe('backoffMs', () => {
  it('doubles from the initial backoff and stops at the maximum when jitter is zero', () => {
    const delays = [0, 1, 2, 3, 4, 5].map((i) => backoffMs(i, policy, undefined, () => 0));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 8000]);
  });

  it('takes off at most 25% as jitter', () => {
    expect(backoffMs(1, policy, undefined, () => 0.999_999)).toBeCloseTo(750, 0);
    for (let i = 0; i < 100; i++) {
      const d = backoffMs(2, policy, undefined, Math.random) ?? 0;
      expect(d).toBeGreaterThanOrEqual(1500);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });

  it('lets the upstream retry-after win when it is at most 60 s', () => {
    expect(backoffMs(0, policy, 1234, () => 0.5)).toBe(1234);
    expect(backoffMs(0, policy, MAX_RETRY_AFTER_MS, () => 0.5)).toBe(60_000);
  });

  it('gives up on the target when the upstream asks for more than 60 s', () => {
    expect(backoffMs(0, policy, 61_000, () => 0.5)).toBeUndefined();
  });
});

describe('parseRetryAfter', () => {
  const from = (h: Record<string, string>) => (n: string) => h[n];
  const now = Date.parse('2026-11-24T10:00:00Z');

  it('prefers retry-after-ms over retry-after', () => {
    expect(parseRetryAfter(from({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
  });
  it('reads seconds', () => {
    expect(parseRetryAfter(from({ 'retry-after': '2' }), now)).toBe(2000);
  });
  it('reads an HTTP date relative to now', () => {
    expect(parseRetryAfter(from({ 'retry-after': 'Tue, 24 Nov 2026 10:00:05 GMT' }), now)).toBe(5000);
  });
  it('ignores garbage and absence', () => {
    expect(parseRetryAfter(from({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(parseRetryAfter(from({}), now)).toBeUndefined();
  });
});
