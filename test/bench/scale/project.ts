/**
 * Projections from one request's counted writes, and one counted fold batch, onto DynamoDB's limit of 1,000
 * WCU/s per item and per partition.
 *
 * Assumptions (printed with the table too):
 * - A partition key value is one partition, and one item never exceeds 1,000 WCU/s. DynamoDB can split a hot
 *   partition by sort key ("split for heat"), which could relieve `agg#<day>#<shard>` (many keys/models per
 *   shard), but not the byTime index, whose sort key is the request time (always the newest end), nor an item.
 * - Record ids hash uniformly over the usage shards, request ids over a key's limit shards.
 * - Request records (`req#<id>`) are one partition per request: never hot.
 * - The usage table's stream has one shard per 1,000 WCU/s of record writes (a DynamoDB stream has a shard per
 *   table partition), and the fold's event source mapping delivers each stream shard's records in batches of
 *   up to 1,000 at most once a second (FOLD_BATCH_SIZE, FOLD_BATCH_WINDOW in lib/ledger-fold.ts). Each batch
 *   writes each aggregate and limit item it touches once.
 * - A key's limit item does not grow with the requests in flight (measured: its size with 1, 10 and 100 in
 *   flight); each admission is billed by its size.
 */
import type { CountedCall } from './counting-client.ts';
import type { FoldCounts, RequestCounts } from './measure.ts';

export const ITEM_LIMIT_WCU = 1_000;
const KB = 1024;
/** Records per fold batch and batches per second per stream shard (lib/ledger-fold.ts). */
const FOLD_BATCH = 1_000;

const prefixOf = (item: string): string => item.split('#')[0] ?? item;
const wcuOf = (bytes: number): number => Math.max(1, Math.ceil(bytes / KB));

/** The request's writes to its key's limit items, and their units as counted. */
function limitWrites(c: RequestCounts): { writes: number; wcu: number } {
  let writes = 0;
  let wcu = 0;
  for (const call of c.detail) {
    if (!call.write || !call.items.some((i) => prefixOf(i) === 'lim')) continue;
    writes++;
    wcu += call.wcu;
  }
  return { writes, wcu };
}

/** Stream shards carrying `rate` records/s whose writes take `recordWcu` each. */
const streamShards = (rate: number, recordWcu: number): number =>
  Math.max(1, Math.ceil((rate * recordWcu) / ITEM_LIMIT_WCU));

/** Fold writes a second into one item that records of every stream shard touch. */
function foldWritesPerItem(rate: number, recordWcu: number): number {
  const k = streamShards(rate, recordWcu);
  // Each stream shard: one batch a second, or more when it carries more than a batch a second.
  return k * Math.max(1, rate / k / FOLD_BATCH);
}

export interface SingleKeyProjection {
  readonly shards: number;
  /** Requests a second at which the key's hottest limit item reaches 1,000 WCU/s (any duration). */
  readonly requestsPerSec: number;
  readonly hottestItem: string;
  readonly limitItemBytes: number;
  readonly wcuPerAdmission: number;
  readonly admissionsPerRequest: number;
  /** The fold's settlement writes a second into one limit item at that rate. */
  readonly foldWritesPerSec: number;
}

/** One key on `shards` limit items: the rate at which the hottest reaches 1,000 WCU/s. */
export function singleKey(
  c: RequestCounts,
  fold: FoldCounts,
  limitItemBytes: number,
  shards: number,
): SingleKeyProjection {
  const w = limitWrites(c);
  const recordWcu = recordWriteUnits(c.detail);
  const foldWcu = wcuOf(fold.limitBytes);
  const load = (rate: number) => (rate / shards) * w.wcu + foldWritesPerItem(rate, recordWcu) * foldWcu;
  let rate = 1;
  while (rate < 1_000_000 && load(rate + 1) < ITEM_LIMIT_WCU) rate++;
  return {
    shards,
    requestsPerSec: rate,
    hottestItem: 'lim#<key>#<shard>',
    limitItemBytes,
    wcuPerAdmission: w.writes === 0 ? 0 : w.wcu / w.writes,
    admissionsPerRequest: w.writes,
    foldWritesPerSec: Math.round(foldWritesPerItem(rate, recordWcu)),
  };
}

function recordWriteUnits(calls: readonly CountedCall[]): number {
  return calls
    .filter((c) => c.write && c.items.some((i) => prefixOf(i) === 'req'))
    .reduce((s, c) => s + c.wcu, 0);
}

export interface PartitionLoad {
  /** e.g. `Usage agg#<day>#<shard>`, `Usage/byTime <day>#<shard>`. */
  readonly partition: string;
  /** WCU this partition takes per request that lands in it. */
  readonly wcuPerRequest: number;
  /** Fraction of all requests that land in one such partition. */
  readonly share: number;
}

/**
 * The usage path's shared partitions: from one request's counted writes (the byTime index), and the fold's
 * aggregate writes at their worst — every record of a batch in an aggregate of its own, so one write per
 * record, as if there were no folding at all.
 */
export function sharedPartitions(c: RequestCounts, fold: FoldCounts, shards: number): PartitionLoad[] {
  const byClass = new Map<string, number>();
  const add = (cls: string, wcu: number) => byClass.set(cls, (byClass.get(cls) ?? 0) + wcu);
  for (const call of c.detail) {
    if (!call.write) continue;
    for (const p of call.partitions) if (p.startsWith('agg#')) add('Usage agg#<day>#<shard>', call.wcu);
    for (const w of call.indexWrites) add(`Usage/${w.index} <day>#<shard>`, w.wcu);
  }
  add('Usage agg#<day>#<shard> (fold, worst case)', wcuOf(fold.aggregateBytes));
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

export function overall(
  c: RequestCounts,
  fold: FoldCounts,
  shards: number,
  atRate = 10_000,
): OverallProjection {
  const loads = sharedPartitions(c, fold, shards);
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
