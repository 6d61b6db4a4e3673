/**
 * The bench's numbers: what one run measured (bench.ts) turned into the report's target rows, its context
 * details and its reading, all from the same figures so the three never disagree.
 */
import { cpus } from 'node:os';
import {
  HOLD_LIMIT_MS,
  holdsOf,
  relayLeg,
  requestLeg,
  STREAM_EVENTS,
  type StreamSample,
  timed,
  transitOf,
} from './analysis.ts';
import type { BundleReport } from './bundle.ts';
import { type LoadResult, max, percentile, type Side } from './client.ts';
import type { FromChild } from './ipc.ts';
import { CONCURRENCY } from './plan.ts';
import type { Report, Row } from './report.ts';

type RssReply = Extract<FromChild, { type: 'rss' }>;

/** What one run measured, phase by phase, as bench.ts collects it. */
export interface Measured {
  readonly bundle: BundleReport;
  /** Idle 5 ms timer lateness, before the load. */
  readonly jitter: readonly number[];
  /** Sequential latencies per side. */
  readonly lat: Readonly<Record<Side, readonly number[]>>;
  /** Throughput: answered requests and the time they took, per side. */
  readonly tput: Readonly<Record<Side, { readonly ok: number; readonly ms: number }>>;
  /** Streams per side, and the upstream's write times of their frames by request id. */
  readonly ss: Readonly<Record<Side, readonly StreamSample[]>>;
  readonly stamps: ReadonlyMap<string, number[]>;
  /** The memory run: the gateway's RSS by requests done, the load's result and how many requests it finished. */
  readonly rss: readonly { readonly at: number; readonly rss: number }[];
  readonly mem: LoadResult;
  readonly memDone: number;
  /** Requests the memory run was planned to send. */
  readonly rssTotal: number;
  readonly gwBoot: RssReply;
  readonly gwEnd: RssReply;
  readonly upEnd: RssReply;
  readonly refEnd: RssReply;
  /** Client-side errors over all phases. */
  readonly errors: number;
  readonly logged: { readonly lines: number; readonly bytes: number } | undefined;
  readonly logPath: string;
}

const MiB = 1024 * 1024;
const p = (v: readonly number[], q: number): number => percentile(v, q);
const ms = (v: number, digits = 3): string => `${v.toFixed(digits)} ms`;
const mb = (v: number): string => `${(v / MiB).toFixed(1)} MB`;
const pct = (part: number, whole: number): string => `${((part / Math.max(1, whole)) * 100).toFixed(1)}%`;

/** The report's rows (each against its target), details and reading for one run. */
export function summarize(m: Measured): Pick<Report, 'rows' | 'details' | 'reading'> {
  const { bundle, jitter, lat, tput, ss, stamps, rss, mem, memDone, rssTotal } = m;
  const { gwBoot, gwEnd, upEnd, refEnd, errors, logged, logPath } = m;
  const rps = (s: Side): number => (tput[s].ok / tput[s].ms) * 1000;
  const added = (s: Side, q: number): number => p(lat[s], q) - p(lat.direct, q);
  const addedP50 = added('gateway', 50);
  const addedP99 = added('gateway', 99);
  const ratio = rps('gateway') / rps('direct');
  const ttft = (s: Side): number[] => ss[s].map((x) => x.ttft);
  const ttftAdded = (s: Side): number => p(ttft(s), 50) - p(ttft('direct'), 50);
  const tm = {
    direct: timed(ss.direct, stamps),
    gateway: timed(ss.gateway, stamps),
    reference: timed(ss.reference, stamps),
  };
  const unmatched =
    ss.direct.length +
    ss.gateway.length +
    ss.reference.length -
    tm.direct.length -
    tm.gateway.length -
    tm.reference.length;
  // Transit of a chunk = client arrival − upstream write. The direct side's median is loopback + client.
  const directTransit = tm.direct.flatMap((t) => t.got.map((_, i) => transitOf(t, i)));
  const baseline = p(directTransit, 50);
  const directJitter = directTransit.map((v) => v - baseline);
  const jittered = directJitter.filter((h) => h > HOLD_LIMIT_MS).length;
  const gh = holdsOf(tm.gateway, baseline);
  const rh = holdsOf(tm.reference, baseline);
  const maxHold = max(gh.hold);
  const legs = (s: Side) =>
    `${ms(requestLeg(tm[s]) - requestLeg(tm.direct))} / ${ms(relayLeg(tm[s]) - relayLeg(tm.direct))}`;

  const maxRss = max(rss.map((s) => s.rss));
  const rssComplete = memDone >= rssTotal;
  const memRps = (memDone / mem.elapsedMs) * 1000;

  const rows: Row[] = [
    {
      metric: 'Added latency p50 (sequential, non-stream)',
      value: ms(addedP50),
      target: '≤ 0.35 ms',
      met: addedP50 <= 0.35,
    },
    { metric: 'Added latency p99', value: ms(addedP99), target: '≤ 3 ms', met: addedP99 <= 3 },
    {
      metric: `Throughput ratio (${CONCURRENCY} clients, gateway / direct)`,
      value: ratio.toFixed(3),
      target: '≥ 0.3',
      met: ratio >= 0.3,
    },
    {
      metric: 'Stream TTFT added (p50)',
      value: ms(ttftAdded('gateway')),
      target: '≤ 1 ms',
      met: ttftAdded('gateway') <= 1,
    },
    {
      metric: 'Largest chunk hold (max over all chunks)',
      value: ms(maxHold),
      target: `≤ ${HOLD_LIMIT_MS} ms`,
      met: maxHold <= HOLD_LIMIT_MS,
    },
    {
      metric: `Gateway RSS, max of 4 samples over ${memDone.toLocaleString('en-US')} requests`,
      value: `${mb(maxRss)} (${mb(rss[0]?.rss ?? Number.NaN)} → ${mb(rss[rss.length - 1]?.rss ?? Number.NaN)})`,
      target: '≤ 150 MB, flat',
      met: maxRss <= 150 * MiB && rssComplete,
    },
    {
      metric: 'Lambda bundle size (gateway handler)',
      value: `${(bundle.bytes / 1e6).toFixed(2)} MB`,
      target: '≤ 1.5 MB',
      met: bundle.bytes <= 1.5e6,
    },
    {
      metric: 'Lambda module init, median of 7 cold imports',
      value: ms(bundle.initMs, 0),
      target: '≤ 150 ms',
      met: bundle.initMs <= 150,
    },
  ];
  const pq = (v: readonly number[]) => `${ms(p(v, 50))} / ${ms(p(v, 99))}`;
  const details: [string, string][] = [
    ['Machine noise: idle 5 ms timer lateness p50 / p99 / max', `${pq(jitter)} / ${ms(max(jitter))}`],
    ['Sequential latency p50 / p99: direct', pq(lat.direct)],
    ['Sequential latency p50 / p99: gateway', pq(lat.gateway)],
    ['Sequential latency p50 / p99: reference proxy', pq(lat.reference)],
    ['Reference proxy added p50 / p99', `${ms(added('reference', 50))} / ${ms(added('reference', 99))}`],
    ['Sequential samples per side', `${lat.direct.length} / ${lat.gateway.length} / ${lat.reference.length}`],
    [
      'Throughput direct / gateway / reference proxy',
      `${rps('direct').toFixed(0)} / ${rps('gateway').toFixed(0)} / ${rps('reference').toFixed(0)} req/s`,
    ],
    ['Reference proxy throughput ratio', (rps('reference') / rps('direct')).toFixed(3)],
    ['TTFT p50 / p99: direct', pq(ttft('direct'))],
    ['TTFT p50 / p99: gateway', pq(ttft('gateway'))],
    ['TTFT p50 / p99: reference proxy', pq(ttft('reference'))],
    ['Reference proxy TTFT added (p50)', ms(ttftAdded('reference'))],
    ['TTFT added split, request path / first-chunk relay: gateway', legs('gateway')],
    ['TTFT added split, request path / first-chunk relay: reference proxy', legs('reference')],
    ['Chunk hold p50 / p99 / max: gateway', `${pq(gh.hold)} / ${ms(maxHold)}`],
    ['Chunk hold p50 / p99 / max: reference proxy', `${pq(rh.hold)} / ${ms(max(rh.hold))}`],
    [
      'Chunk hold, worst chunk position (median over streams): gateway',
      `${ms(gh.worstMedian)} (event ${gh.worstPosition} of ${STREAM_EVENTS})`,
    ],
    [
      `Chunks held > ${HOLD_LIMIT_MS} ms: gateway / reference proxy`,
      `${pct(gh.over, gh.hold.length)} / ${pct(rh.over, rh.hold.length)} (of ${gh.hold.length} / ${rh.hold.length})`,
    ],
    [
      `Direct path: transit median; chunks > ${HOLD_LIMIT_MS} ms above it; max above it`,
      `${ms(baseline)}; ${pct(jittered, directJitter.length)} of ${directJitter.length}; ${ms(max(directJitter))}`,
    ],
    [
      'Streams timed per side, events per stream',
      `${tm.direct.length} / ${tm.gateway.length} / ${tm.reference.length}, ${STREAM_EVENTS} (${unmatched} unmatched)`,
    ],
    ['Gateway RSS at boot (idle)', mb(gwBoot.rss)],
    ['Gateway RSS by requests of the memory run', rss.map((s) => `${s.at}: ${mb(s.rss)}`).join(', ')],
    ['Gateway V8 heap at the end: used / total', `${mb(gwEnd.heapUsed)} / ${mb(gwEnd.heapTotal)}`],
    [
      'Gateway RSS at the end: anonymous / file-backed (mapped files: LevelDB tables, binaries)',
      `${mb(gwEnd.rssAnon ?? Number.NaN)} / ${mb(gwEnd.rssFile ?? Number.NaN)}`,
    ],
    [
      'RSS at the end: reference proxy / upstream (node + tsx + little else)',
      `${mb(refEnd.rss)} / ${mb(upEnd.rss)}`,
    ],
    ['Memory run rate', `${memRps.toFixed(0)} req/s`],
    ['Requests served by the gateway / its errors', `${gwEnd.requests ?? 0} / ${gwEnd.errors ?? 0}`],
    [
      'Usage ledger: records written / spooled / writes pending at the end',
      `${gwEnd.ledger?.written ?? 0} / ${gwEnd.ledger?.spooled ?? 0} / ${gwEnd.ledger?.pending ?? 0}`,
    ],
    ['Client-side errors (non-200 or failed)', String(errors)],
    ['Gateway log', logged === undefined ? logPath : `${logged.lines} lines, ${mb(logged.bytes)}`],
  ];

  // --- Reading.
  const missed = rows.filter((r) => !r.met);
  const reading: string[] = [
    missed.length === 0
      ? `All ${rows.length} targets are met on this run.`
      : `${rows.length - missed.length} of ${rows.length} targets are met on this run; not met: ${missed.map((r) => `${r.metric} (${r.value}; target ${r.target})`).join('; ')}.`,
    `The reference proxy (node:http + undici, none of the gateway's logic) is the floor for any Node proxy on this machine: it adds ${ms(added('reference', 50))} at p50 (gateway: ${ms(addedP50)}), reaches a throughput ratio of ${(rps('reference') / rps('direct')).toFixed(3)} (gateway: ${ratio.toFixed(3)}) and adds ${ms(ttftAdded('reference'))} to TTFT (gateway: ${ms(ttftAdded('gateway'))}). The distance between the two is the gateway's own cost; the rest is the extra hop on this machine.`,
    `This machine is noisy: an idle 5 ms timer fires up to ${ms(max(jitter), 1)} late (p99 ${ms(p(jitter, 99), 1)}), and on the direct path ${pct(jittered, directJitter.length)} of the chunks reach the client more than ${HOLD_LIMIT_MS} ms later than usual (worst ${ms(max(directJitter), 1)}) with no proxy involved. Maxima and p99s are bounded by that noise; medians much less so.`,
    `Throughput: on ${cpus().length} cores the proxied paths run three busy processes (client, proxy, upstream) where the direct path runs two, and the fake does almost nothing per request, so the ratio mostly compares the proxy's CPU cost per request with the client's and the fake's; the gateway process is single-threaded and saturates first.`,
    `Streaming: the gateway's TTFT added splits into ${legs('gateway').replace(' / ', ' on the request path (client → gateway → upstream) and ')} relaying the first chunk back. Its typical chunk is held ${ms(p(gh.hold, 50))} and its worst chunk position ${ms(gh.worstMedian)} at the median, so it does not buffer events; ${pct(gh.over, gh.hold.length)} of its chunks exceed ${HOLD_LIMIT_MS} ms (reference proxy: ${pct(rh.over, rh.hold.length)}, max ${ms(max(rh.hold), 1)}), and its largest hold is ${ms(maxHold, 1)}.`,
    `Memory: gateway RSS ${rss.map((s) => `${mb(s.rss)} at ${s.at.toLocaleString('en-US')}`).join(', ')} (boot: ${mb(gwBoot.rss)}); V8 heap at the end ${mb(gwEnd.heapUsed)} used of ${mb(gwEnd.heapTotal)}. For scale, the reference proxy — node + tsx + undici, after the same load minus the memory run — ends at ${mb(refEnd.rss)} and the upstream at ${mb(upEnd.rss)}: the gateway ends ${mb(gwEnd.rss - refEnd.rss)} above the reference proxy, and what moves under load is the V8 heap.`,
  ];

  return { rows, details, reading };
}
