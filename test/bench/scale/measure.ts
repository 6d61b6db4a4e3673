/**
 * The counting phase: requests one at a time through the rig, each request's store calls collected until the
 * writes it left behind (its ledger record) are done; the hot key's limit items' size with 1, 10 and 100
 * requests in flight (streams held open at the upstream, after their admission); and one fold batch.
 */
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { limitKey } from '../../../functions/aws/stores/limit-items.ts';
import type { CountedCall } from './counting-client.ts';
import type { KeyKind, Rig } from './rig.ts';
import { itemSize } from './wcu.ts';

export interface RequestCounts {
  readonly calls: number;
  readonly writeCalls: number;
  /** Base-table write units. */
  readonly wcu: number;
  /** Write units of index (byTime) writes. */
  readonly indexWcu: number;
  /** Calls started before the upstream call. */
  readonly criticalCalls: number;
  /** Of those, how many ran one after another (a call that overlaps an earlier one adds no round trip). */
  readonly criticalRoundTrips: number;
  readonly criticalWrites: number;
  /** The request's calls, for the projections. */
  readonly detail: readonly CountedCall[];
}

export const tick = () => new Promise((r) => setImmediate(r));

export function summarise(calls: readonly CountedCall[]): RequestCounts {
  const critical = calls.filter((c) => c.beforeUpstream).sort((a, b) => a.startMs - b.startMs);
  let trips = 0;
  let busyUntil = Number.NEGATIVE_INFINITY;
  for (const c of critical) {
    if (c.startMs >= busyUntil) trips++;
    busyUntil = Math.max(busyUntil, c.endMs);
  }
  return {
    calls: calls.length,
    writeCalls: calls.filter((c) => c.write).length,
    wcu: calls.reduce((s, c) => s + c.wcu, 0),
    indexWcu: calls.reduce((s, c) => s + c.indexWrites.reduce((t, w) => t + w.wcu, 0), 0),
    criticalCalls: critical.length,
    criticalRoundTrips: trips,
    criticalWrites: critical.filter((c) => c.write).length,
    detail: calls,
  };
}

/** One request counted: its calls from the start to the end of the writes it left behind. */
export async function countOne(rig: Rig, kind: KeyKind, stream: boolean): Promise<RequestCounts> {
  rig.counter.begin();
  const r = await rig.request(kind, { stream });
  await tick();
  await rig.idle();
  const calls = rig.counter.end();
  if (r.status !== 200) throw new Error(`${kind} request answered ${r.status}: ${r.text.slice(0, 200)}`);
  return summarise(calls);
}

export interface KindCounts {
  readonly kind: KeyKind;
  readonly stream: boolean;
  /** The first request of a fresh instance: key and route caches empty. */
  readonly first: RequestCounts;
  /** Steady state (warm caches), the median request of `n` by write units. */
  readonly steady: RequestCounts;
  /** Whether all `n` steady requests counted the same calls and units. */
  readonly stable: boolean;
}

const signature = (c: RequestCounts) =>
  `${c.calls}/${c.writeCalls}/${c.wcu}/${c.indexWcu}/${c.criticalCalls}`;

/** Counts the first request of each key kind, then `n` more each with warm caches (JSON and streamed). */
export async function countKinds(rig: Rig, n = 5): Promise<KindCounts[]> {
  const out: KindCounts[] = [];
  const kinds: KeyKind[] = ['budgeted+rpm', 'unlimited', 'master'];
  const firsts = new Map<KeyKind, RequestCounts>();
  for (const kind of kinds) firsts.set(kind, await countOne(rig, kind, false));
  for (const stream of [false, true]) {
    for (const kind of kinds) {
      const runs: RequestCounts[] = [];
      for (let i = 0; i < n; i++) runs.push(await countOne(rig, kind, stream));
      const sorted = [...runs].sort((a, b) => a.wcu + a.indexWcu - (b.wcu + b.indexWcu));
      const steady = sorted[Math.floor(sorted.length / 2)] ?? runs[0];
      if (steady === undefined) throw new Error('no runs');
      const first = firsts.get(kind) ?? steady;
      out.push({ kind, stream, first, steady, stable: new Set(runs.map(signature)).size === 1 });
    }
  }
  return out;
}

export interface LimitItemSize {
  /** Requests of the key in flight (held at the upstream, after their admission). */
  readonly inFlight: number;
  /** The largest of the key's limit items, in bytes by DynamoDB's rules. */
  readonly bytes: number;
}

/** The hot key's largest limit item with `n` of its streams in flight, for each n. */
export async function limitItemSizes(
  rig: Rig,
  shards: number,
  counts: readonly number[] = [1, 10, 100],
): Promise<LimitItemSize[]> {
  const out: LimitItemSize[] = [];
  const id = rig.keys['budgeted+rpm'].id;
  for (const n of counts) {
    let release = () => {};
    rig.upstream = { gate: new Promise<void>((r) => (release = r)) };
    const before = rig.stats.upstreamCalls;
    const pending = Array.from({ length: n }, () => rig.request('budgeted+rpm', { stream: true }));
    const until = Date.now() + 30_000;
    while (rig.stats.upstreamCalls - before < n) {
      if (Date.now() > until)
        throw new Error(`only ${rig.stats.upstreamCalls - before} of ${n} streams in flight`);
      await new Promise((r) => setTimeout(r, 5));
    }
    let bytes = 0;
    for (let s = 0; s < shards; s++) {
      const res = await rig.client.send(
        new GetItemCommand({ TableName: rig.keysTable, Key: limitKey(id, s), ConsistentRead: true }),
      );
      bytes = Math.max(bytes, itemSize(res.Item));
    }
    out.push({ inFlight: n, bytes });
    release();
    const done = await Promise.all(pending);
    rig.upstream = {};
    await tick();
    await rig.idle();
    await rig.fold();
    const bad = done.filter((d) => d.status !== 200);
    if (bad.length > 0) throw new Error(`${bad.length} held streams failed: ${bad[0]?.text.slice(0, 200)}`);
  }
  return out;
}

export interface FoldCounts {
  /** Records in the folded batch (one stream batch of the fold function). */
  readonly records: number;
  /** Its UpdateItems: one per aggregate and per limit item it touched. */
  readonly writes: number;
  /** The largest aggregate and limit item after it, in bytes. */
  readonly aggregateBytes: number;
  readonly limitBytes: number;
}

/** `n` budgeted requests, then their records folded as one batch: what the fold writes, and item sizes. */
export async function foldCounts(rig: Rig, shards: number, n = 200): Promise<FoldCounts> {
  await rig.fold();
  for (let i = 0; i < n; i += 20) {
    const done = await Promise.all(Array.from({ length: 20 }, () => rig.request('budgeted+rpm')));
    if (done.some((d) => d.status !== 200)) throw new Error('a fold-phase request failed');
  }
  await rig.idle();
  const { records, writes } = await rig.fold();
  const id = rig.keys['budgeted+rpm'].id;
  let limitBytes = 0;
  for (let s = 0; s < shards; s++) {
    const res = await rig.client.send(
      new GetItemCommand({ TableName: rig.keysTable, Key: limitKey(id, s), ConsistentRead: true }),
    );
    limitBytes = Math.max(limitBytes, itemSize(res.Item));
  }
  const day = new Date().toISOString().slice(0, 10);
  let aggregateBytes = 0;
  const aggs = await rig.client.send(
    new ScanCommand({
      TableName: rig.usageTable,
      FilterExpression: 'begins_with(pk, :p)',
      ExpressionAttributeValues: { ':p': { S: `agg#${day}#` } },
    }),
  );
  for (const item of aggs.Items ?? []) aggregateBytes = Math.max(aggregateBytes, itemSize(item));
  return { records, writes, aggregateBytes, limitBytes };
}
