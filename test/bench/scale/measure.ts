/**
 * The counting phase: requests one at a time through the rig, each request's store calls collected until the
 * writes it left behind (ledger record, settlement) are done; and the budget item's size with 1, 10 and 100
 * holds in flight (streams held open at the upstream, after their reservations).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
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

export interface HoldSize {
  readonly holds: number;
  readonly bytes: number;
}

/** The budget item's size with `n` streams of the budgeted key in flight, for each n. */
export async function budgetItemSizes(
  rig: Rig,
  counts: readonly number[] = [1, 10, 100],
): Promise<HoldSize[]> {
  const out: HoldSize[] = [];
  const window = new Date().toISOString().slice(0, 7);
  const key = { pk: { S: `budget#${rig.keys['budgeted+rpm'].id}#${window}` } };
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
    const res = await rig.client.send(
      new GetItemCommand({ TableName: rig.keysTable, Key: key, ConsistentRead: true }),
    );
    const holds = Object.keys(res.Item?.holds?.M ?? {}).length;
    out.push({ holds, bytes: itemSize(res.Item) });
    release();
    const done = await Promise.all(pending);
    rig.upstream = {};
    await tick();
    await rig.idle();
    const bad = done.filter((d) => d.status !== 200);
    if (bad.length > 0) throw new Error(`${bad.length} held streams failed: ${bad[0]?.text.slice(0, 200)}`);
  }
  return out;
}
