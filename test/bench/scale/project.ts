/**
 * Projections from one request's counted writes onto DynamoDB's per-partition limit of 1,000 WCU/s.
 *
 * Assumptions (printed with the table too):
 * - A partition key value is one partition, and one item never exceeds 1,000 WCU/s. DynamoDB can split a hot
 *   partition by sort key ("split for heat"), which could relieve `agg#<day>#<shard>` (many keys/models per
 *   shard), but not the byTime index, whose sort key is the request time (always the newest end), nor an item.
 * - Record ids hash uniformly over the shards, so a shard's partitions see 1/shards of the requests.
 * - Request records (`req#<id>`) are one partition per request: never hot.
 * - Single key: requests in flight = rate × stream duration; every in-flight request holds one entry in the
 *   budget item, whose size is the measured fit a + b × holds; each reserve and settle of that item is billed
 *   by that size (the larger of before and after differ by one hold). Rate items are per minute, 1 WCU a write.
 * - Overall: keys and models spread the budget and rate items thin (each key below its own single-key
 *   limit); what remains shared by every request of a day is the usage table's shard partitions.
 */
import type { HoldSize, RequestCounts } from './measure.ts';

export const ITEM_LIMIT_WCU = 1_000;
const KB = 1024;

export interface HoldFit {
  /** Bytes of the budget item with no hold. */
  readonly baseBytes: number;
  readonly bytesPerHold: number;
}

/** Least-squares line through the measured (holds, bytes) points. */
export function fitHolds(points: readonly HoldSize[]): HoldFit {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.holds, 0) / n;
  const my = points.reduce((s, p) => s + p.bytes, 0) / n;
  const sxy = points.reduce((s, p) => s + (p.holds - mx) * (p.bytes - my), 0);
  const sxx = points.reduce((s, p) => s + (p.holds - mx) ** 2, 0);
  const b = sxx === 0 ? 0 : sxy / sxx;
  return { baseBytes: my - b * mx, bytesPerHold: b };
}

const prefixOf = (item: string): string => item.split('#')[0] ?? item;

/** Writes the request makes to its key's budget item and rate item, and their units as counted. */
function keyItemWrites(c: RequestCounts): { budget: number; rate: number; rateWcu: number } {
  let budget = 0;
  let rate = 0;
  let rateWcu = 0;
  for (const call of c.detail) {
    if (!call.write) continue;
    for (const item of call.items) {
      if (prefixOf(item) === 'budget') budget++;
      if (prefixOf(item) === 'rate') {
        rate++;
        rateWcu += call.wcu;
      }
    }
  }
  return { budget, rate, rateWcu };
}

export interface SingleKeyProjection {
  readonly durationS: number;
  /** Requests a second at which the key's hottest item reaches 1,000 WCU/s. */
  readonly requestsPerSec: number;
  readonly hottestItem: string;
  readonly inFlight: number;
  readonly budgetItemBytes: number;
  readonly wcuPerBudgetWrite: number;
  readonly budgetWritesPerRequest: number;
}

/** The budget item's and rate item's WCU/s at `rate` requests/s of `durationS`-second requests. */
function keyLoad(c: RequestCounts, fit: HoldFit, durationS: number, rate: number) {
  const w = keyItemWrites(c);
  const inFlight = rate * durationS;
  const bytes = fit.baseBytes + fit.bytesPerHold * Math.max(1, inFlight);
  const perWrite = Math.max(1, Math.ceil(bytes / KB));
  return {
    w,
    inFlight,
    bytes,
    perWrite,
    budget: rate * w.budget * perWrite,
    rate: rate * w.rateWcu,
  };
}

export function singleKey(c: RequestCounts, fit: HoldFit, durationS: number): SingleKeyProjection {
  let rate = 0.1;
  for (; rate < 100_000; rate += rate < 100 ? 0.1 : 1) {
    const l = keyLoad(c, fit, durationS, rate);
    if (Math.max(l.budget, l.rate) >= ITEM_LIMIT_WCU) break;
  }
  const l = keyLoad(c, fit, durationS, rate);
  return {
    durationS,
    requestsPerSec: Math.round(rate * 10) / 10,
    hottestItem: l.budget >= l.rate ? 'budget#<key>#<month>' : 'rate#<key>#<minute>',
    inFlight: Math.round(l.inFlight),
    budgetItemBytes: Math.round(l.bytes),
    wcuPerBudgetWrite: l.perWrite,
    budgetWritesPerRequest: l.w.budget,
  };
}

export interface PartitionLoad {
  /** e.g. `Usage agg#<day>#<shard>`, `Usage/byTime <day>#<shard>`. */
  readonly partition: string;
  /** WCU this partition takes per request that lands in it. */
  readonly wcuPerRequest: number;
  /** Fraction of all requests that land in one such partition. */
  readonly share: number;
}

/** The usage path's shared partitions, from one request's counted writes. */
export function sharedPartitions(c: RequestCounts, shards: number): PartitionLoad[] {
  const byClass = new Map<string, number>();
  const add = (cls: string, wcu: number) => byClass.set(cls, (byClass.get(cls) ?? 0) + wcu);
  for (const call of c.detail) {
    if (!call.write) continue;
    for (const p of call.partitions) if (p.startsWith('agg#')) add('Usage agg#<day>#<shard>', call.wcu);
    for (const w of call.indexWrites) add(`Usage/${w.index} <day>#<shard>`, w.wcu);
  }
  return [...byClass].map(([partition, wcuPerRequest]) => ({ partition, wcuPerRequest, share: 1 / shards }));
}

export interface OverallProjection {
  /** Overall requests/s at which the hottest shared partition reaches 1,000 WCU/s. */
  readonly requestsPerSec: number;
  readonly hottest: PartitionLoad;
  /** Every shared partition class, hottest first (ties stay in the order written). */
  readonly loads: readonly PartitionLoad[];
  /** That partition's WCU/s at `atRate` requests/s. */
  readonly hottestWcuAtRate: number;
  readonly atRate: number;
}

export function overall(c: RequestCounts, shards: number, atRate = 10_000): OverallProjection {
  const loads = sharedPartitions(c, shards);
  const perReq = (l: PartitionLoad) => l.wcuPerRequest * l.share;
  const sorted = [...loads].sort((a, b) => perReq(b) - perReq(a));
  const hottest = sorted[0];
  if (hottest === undefined) throw new Error('no shared partition written');
  return {
    requestsPerSec: Math.round(ITEM_LIMIT_WCU / perReq(hottest)),
    hottest,
    loads: sorted,
    hottestWcuAtRate: Math.round(atRate * perReq(hottest)),
    atRate,
  };
}
