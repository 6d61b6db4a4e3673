import * as z from 'zod';

/**
 * The shared circuit breaker and cool-downs of a route's targets (functions/core/routing/health.ts). Every
 * field is optional: a provider's `health` overrides the defaults for its targets, a route's overrides both.
 */
export const healthSchema = z.strictObject({
  /** Off: no target is ever skipped for its health (outcomes are still measured for `latency`). */
  enabled: z.boolean().optional(),
  /** Consecutive failures (timeouts, 5xx, connection failures), on one instance or across all, that open it. */
  failureThreshold: z.number().int().min(1).max(1000).optional(),
  /** Failures as a share of the attempts in the window that open it too… */
  failureRatePercent: z.number().min(1).max(100).optional(),
  /** …once the window holds at least this many attempts. */
  minRequests: z.number().int().min(1).max(100_000).optional(),
  /** The failure-rate window, in ms (1–300 s). */
  windowMs: z.number().int().min(1_000).max(300_000).optional(),
  /** How long an open breaker skips its target before one request probes it (half-open). */
  cooldownMs: z.number().int().min(100).max(3_600_000).optional(),
  /** How long an `insufficient_quota` / no-balance answer cools its target down. */
  quotaCooldownMs: z.number().int().min(1_000).max(86_400_000).optional(),
  /** The longest cool-down a 429's Retry-After may set. */
  maxRetryAfterMs: z.number().int().min(1_000).max(86_400_000).optional(),
  /** `latency` strategy: the share of requests that try another healthy target first (exploration). */
  explorePercent: z.number().min(0).max(50).optional(),
  /**
   * Active probes (off unless set): a target no request touched for this long gets a one-token chat request,
   * so a quiet route's outage is found by a probe rather than by its first real request (10 s – 1 day).
   */
  probeEveryMs: z.number().int().min(10_000).max(86_400_000).optional(),
});
export type HealthSettings = z.infer<typeof healthSchema>;
