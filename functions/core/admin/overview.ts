/**
 * The admin API's overview (./api.ts): spend, requests, errors and tokens per day from the ledger's daily
 * aggregates, by provider, model and key — what the console's charts draw — with today's and this month's
 * spend, and the latency and TTFT percentiles of the last hour's records (a bounded sample), with its counts
 * per 5 minutes by provider, model and key.
 */
import type { UsageAggregate, UsageReader, UsageRecord } from '../usage/types.ts';
import { dayWindow } from './days.ts';

/** The most days one overview reads (a month and a bit: the aggregates are one item per key/model/day). */
const MAX_DAYS = 62;
/** Latencies kept for the percentiles (a uniform sample of the hour's records). */
const SAMPLE = 10_000;
const HOUR_MS = 3_600_000;
/** The last hour's chart: 12 buckets of 5 minutes. */
const BUCKET_MS = 300_000;
const BUCKETS = HOUR_MS / BUCKET_MS;

interface Totals {
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

const zero = (): Totals => ({ requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });
function add(t: Totals, a: UsageAggregate): void {
  t.requests += a.requests;
  t.errors += a.errors;
  t.inputTokens += a.inputTokens;
  t.outputTokens += a.outputTokens;
  t.costUsd = Math.round((t.costUsd + a.costUsd) * 1e9) / 1e9;
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;
}

/** GET /admin/v1/overview?from=YYYY-MM-DD&to=YYYY-MM-DD (default: the last 7 days, UTC). */
export async function overview(usage: UsageReader, query: string, nowMs: number, random: () => number) {
  const q = new URLSearchParams(query);
  const today = new Date(nowMs).toISOString().slice(0, 10);
  const { from, to } = dayWindow(q, nowMs, MAX_DAYS);
  const month = today.slice(0, 7);
  const monthStart = `${month}-01`;
  // Days are ISO strings: their sort order is time order.
  const [readFrom] = [monthStart, from].sort();
  const readTo = [to, today].sort()[1];
  const aggs = await usage.aggregates(readFrom as string, readTo as string);
  const total = zero();
  const spend = { todayUsd: 0, monthUsd: 0 };
  const group = (dim: 'provider' | 'model' | 'keyId') => {
    const m = new Map<string, Totals>();
    for (const a of aggs)
      if (a.day >= from && a.day <= to) {
        const k = `${a.day}|${a[dim]}`;
        const t = m.get(k) ?? zero();
        add(t, a);
        m.set(k, t);
      }
    return [...m.entries()].map(([k, t]) => {
      const [day, name] = k.split('|');
      return { day, [dim === 'keyId' ? 'key' : dim]: name, ...t };
    });
  };
  for (const a of aggs) {
    if (a.day === today) spend.todayUsd += a.costUsd;
    if (a.day.startsWith(month)) spend.monthUsd += a.costUsd;
    if (a.day < from || a.day > to) continue;
    add(total, a);
  }
  // The last hour's latency and TTFT: a uniform sample (reservoir) of its records, nothing more held; and
  // its requests, errors and spend per 5 minutes by provider, model and key, counted exactly.
  const lat: number[] = [];
  const ttft: (number | undefined)[] = [];
  let seen = 0;
  const hourStart = nowMs - HOUR_MS;
  const hourly = { provider: new Steps(), model: new Steps(), keyId: new Steps() };
  await usage.eachRecord(new Date(hourStart).toISOString(), new Date(nowMs).toISOString(), (r) => {
    const at = Math.min(BUCKETS - 1, Math.max(0, Math.floor((Date.parse(r.time) - hourStart) / BUCKET_MS)));
    // `-`: a request that reached no provider or model, as the daily aggregates write it.
    hourly.provider.add(at, r.provider ?? '-', r);
    hourly.model.add(at, r.model ?? '-', r);
    hourly.keyId.add(at, r.keyId, r);
    seen++;
    const slot = seen <= SAMPLE ? seen - 1 : Math.floor(random() * seen);
    if (slot >= SAMPLE) return;
    lat[slot] = r.latencyMs;
    ttft[slot] = r.ttftMs ?? undefined;
  });
  const sortedLat = [...lat].sort((a, b) => a - b);
  const sortedTtft = ttft.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  return {
    object: 'overview',
    from,
    to,
    total,
    errorRate: total.requests === 0 ? 0 : Math.round((total.errors / total.requests) * 10_000) / 10_000,
    spend: {
      todayUsd: Math.round(spend.todayUsd * 1e6) / 1e6,
      monthUsd: Math.round(spend.monthUsd * 1e6) / 1e6,
    },
    lastHour: {
      requests: seen,
      latencyMs: { p50: percentile(sortedLat, 50), p99: percentile(sortedLat, 99) },
      ttftMs: { p50: percentile(sortedTtft, 50), p99: percentile(sortedTtft, 99) },
      from: new Date(hourStart).toISOString(),
      bucketMinutes: BUCKET_MS / 60_000,
      byProvider: hourly.provider.rows('provider', hourStart),
      byModel: hourly.model.rows('model', hourStart),
      byKey: hourly.keyId.rows('key', hourStart),
    },
    byProvider: group('provider'),
    byModel: group('model'),
    byKey: group('keyId'),
  };
}

/** Names one dimension of the last hour's steps keeps; the rest are counted under `(others)`. */
const MAX_STEP_NAMES = 500;

/** The last hour's counters of one dimension, per 5-minute step and name (bounded by MAX_STEP_NAMES). */
class Steps {
  private readonly counts = new Map<string, Totals>();
  private readonly names = new Set<string>();

  add(at: number, name: string, r: UsageRecord): void {
    let n = name;
    if (!this.names.has(n)) {
      if (this.names.size < MAX_STEP_NAMES) this.names.add(n);
      else n = '(others)';
    }
    const k = JSON.stringify([at, n]);
    const t = this.counts.get(k) ?? zero();
    t.requests++;
    if (r.status >= 400) t.errors++;
    t.inputTokens += r.inputTokens;
    t.outputTokens += r.outputTokens;
    t.costUsd = Math.round((t.costUsd + (r.costUsd ?? 0)) * 1e9) / 1e9;
    this.counts.set(k, t);
  }

  rows(dim: string, hourStart: number) {
    return [...this.counts.entries()].map(([k, t]) => {
      const [at, name] = JSON.parse(k) as [number, string];
      return { at: new Date(hourStart + at * BUCKET_MS).toISOString(), [dim]: name, ...t };
    });
  }
}
