/** Local adapters of the Logger and Metrics ports: JSON lines, and in-memory counters. */
import type { Logger, LogLevel, Metrics, RequestSummary } from '../core/ports.ts';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

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
  byErrorCode: Record<string, number>;
}

/** Sums what Lambda sends to CloudWatch as EMF; `recent` keeps the last summaries for inspection. */
export class InMemoryMetrics implements Metrics {
  readonly totals: MetricTotals = {
    requests: 0,
    errors: 0,
    retries: 0,
    fallbacks: 0,
    inputTokens: 0,
    outputTokens: 0,
    byErrorCode: {},
  };
  readonly recent: RequestSummary[] = [];
  constructor(private readonly keep = 1000) {}

  record(s: RequestSummary): void {
    const t = this.totals;
    t.requests++;
    t.retries += s.retries;
    t.fallbacks += s.fallbacks;
    t.inputTokens += s.inputTokens ?? 0;
    t.outputTokens += s.outputTokens ?? 0;
    if (s.errorCode !== undefined) {
      t.errors++;
      t.byErrorCode[s.errorCode] = (t.byErrorCode[s.errorCode] ?? 0) + 1;
    }
    this.recent.push(s);
    if (this.recent.length > 2 * this.keep) this.recent.splice(0, this.recent.length - this.keep);
  }
}
