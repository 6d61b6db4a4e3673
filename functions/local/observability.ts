/** Local adapters of the Logger and Metrics ports: JSON lines, and in-memory counters. */

import { writeSync } from 'node:fs';
import type { Logger, LogLevel, Metrics, RequestSummary } from '../core/ports.ts';
import type { HealthEvent } from '../core/routing/health.ts';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Stdout in batches: lines written in one event-loop turn go out in one write (at most 64 KiB apart), so a
 * busy gateway makes one syscall per batch, not per request. Lines still leave within the same turn, and
 * whatever is pending when the process exits is written synchronously.
 */
export function batchedStdout(): (line: string) => void {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const out = pending;
    pending = '';
    process.stdout.write(out);
  };
  process.once('exit', () => {
    if (pending !== '') writeSync(1, pending);
  });
  return (line) => {
    pending += line;
    if (pending.length >= 65_536) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

/** One JSON object per line. Fields are chosen by the core; no header, body or key is ever passed in. */
export function jsonLogger(write: (line: string) => void, minLevel: LogLevel = 'info'): Logger {
  const min = LEVELS[minLevel];
  return {
    log(level, message, fields) {
      if (LEVELS[level] < min) return;
      write(`${JSON.stringify({ level, time: new Date().toISOString(), message, ...fields })}\n`);
    },
  };
}

export interface MetricTotals {
  requests: number;
  errors: number;
  retries: number;
  fallbacks: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  unpricedRequests: number;
  /** Requests whose upstream reported usage that cannot be true. */
  implausibleRequests: number;
  /** Requests served by their route's last target (every other one failed or was skipped). */
  lastTargetServed: number;
  /** Breaker transitions: how often a target's breaker opened. */
  breakerOpened: number;
  byErrorCode: Record<string, number>;
}

/**
 * Sums what Lambda sends to CloudWatch as EMF. Only totals are kept: holding per-request summaries made the
 * old heap (and RSS) grow under load, as the bench showed.
 */
export class InMemoryMetrics implements Metrics {
  readonly totals: MetricTotals = {
    requests: 0,
    errors: 0,
    retries: 0,
    fallbacks: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    unpricedRequests: 0,
    implausibleRequests: 0,
    lastTargetServed: 0,
    breakerOpened: 0,
    // No prototype: an upstream's error code passed on (`constructor`, say) is just a name here.
    byErrorCode: Object.create(null),
  };

  record(s: RequestSummary): void {
    const t = this.totals;
    t.requests++;
    t.retries += s.retries;
    t.fallbacks += s.fallbacks;
    t.inputTokens += s.inputTokens ?? 0;
    t.outputTokens += s.outputTokens ?? 0;
    t.costUsd += s.costUsd ?? 0;
    if (s.unpriced === true) t.unpricedRequests++;
    if (s.implausibleUsage === true) t.implausibleRequests++;
    if (s.lastTarget === true) t.lastTargetServed++;
    if (s.errorCode !== undefined) {
      t.errors++;
      t.byErrorCode[s.errorCode] = (t.byErrorCode[s.errorCode] ?? 0) + 1;
    }
  }

  breaker(e: HealthEvent): void {
    if (e.state === 'open') this.totals.breakerOpened++;
  }
}
