/**
 * `npm run bench`: what the gateway adds on top of calling the upstream directly.
 *
 * Three processes: this one (the client), the fake OpenAI upstream (upstream-proc.ts) and the real local
 * gateway (gateway-proc.ts), all on loopback. Every measurement runs the same client code against the
 * upstream directly and through the gateway, interleaved in alternating batches so that drift (CPU
 * frequency, the other processes, GC) hits both sides alike. Results go to stdout and docs/benchmarks.md.
 *
 *   --quick        a shorter run (under a minute); prints only, docs/benchmarks.md is left alone
 *   --log <path>   where the gateway's JSON log lines go (default: a temp file, deleted after the run)
 *   --cpu-prof     run the gateway under --cpu-prof; the .cpuprofile lands in a temp folder
 */
import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  bySide,
  countLines,
  HOLD_LIMIT_MS,
  holdsOf,
  relayLeg,
  requestLeg,
  rotate,
  STREAM_EVENTS,
  type StreamSample,
  timed,
  timerJitter,
  transitOf,
} from './analysis.ts';
import { measureBundle } from './bundle.ts';
import { type Endpoint, endpoint, load, max, percentile, type Side, send } from './client.ts';
import { BENCH_MASTER_KEY, BENCH_PROVIDER_KEY, monoMs, STAMP_PREFIX } from './ipc.ts';
import {
  BUDGET_MS,
  CHAT_BODY,
  CHUNK_DELAY_MS,
  CONCURRENCY,
  planFor,
  STREAM_BODY,
  WATCHDOG_MS,
} from './plan.ts';
import { type Proc, startProc } from './procs.ts';
import { type Report, type Row, renderMarkdown, renderText } from './report.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    log: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const quick = flags.quick === true;
const PLAN = planFor(quick);

const t0 = monoMs();
const elapsed = (): number => monoMs() - t0;
const left = (): number => BUDGET_MS - elapsed();
const log = (msg: string): void => {
  process.stderr.write(`[bench ${(elapsed() / 1000).toFixed(1)}s] ${msg}\n`);
};
const MiB = 1024 * 1024;
const p = (v: readonly number[], q: number): number => percentile(v, q);
const ms = (v: number, digits = 3): string => `${v.toFixed(digits)} ms`;
const mb = (v: number): string => `${(v / MiB).toFixed(1)} MB`;
const pct = (part: number, whole: number): string => `${((part / Math.max(1, whole)) * 100).toFixed(1)}%`;

async function sequential(ep: Endpoint, n: number, out: number[]): Promise<number> {
  let failed = 0;
  for (let i = 0; i < n && left() > 0; i++) {
    const r = await send(ep, CHAT_BODY);
    if (r.status === 200) out.push(r.end - r.start);
    else failed++;
  }
  return failed;
}

let streamSeq = 0;

async function streams(ep: Endpoint, n: number, out: StreamSample[]): Promise<number> {
  let failed = 0;
  for (let i = 0; i < n && left() > 0; i++) {
    const id = `${STAMP_PREFIX}${ep.name}-${streamSeq++}`;
    const r = await send(ep, STREAM_BODY, { requestId: id, events: true });
    if (r.status !== 200 || r.firstChunk === undefined) failed++;
    else out.push({ id, start: r.start, ttft: r.firstChunk - r.start, events: r.events });
  }
  return failed;
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    log(`watchdog: still running after ${WATCHDOG_MS / 1000}s; giving up`);
    process.exit(2); // procs.ts kills the children on exit
  }, WATCHDOG_MS);
  watchdog.unref();

  const logPath = flags.log ?? join(tmpdir(), `switchyard-bench-gateway-${process.pid}.log`);
  const profDir = join(tmpdir(), `switchyard-bench-prof-${process.pid}`);
  const logFd = openSync(logPath, 'w');
  let logFdOpen = true;
  const procs: Proc[] = [];
  const endpoints: Endpoint[] = [];
  let errors = 0;
  try {
    // First, on a quiet machine: a cold import timed while the load processes run measures them, not us.
    log('lambda bundle: size and module init time');
    const bundle = await measureBundle();
    const upstream = await startProc('upstream', './upstream-proc.ts', { args: [String(CHUNK_DELAY_MS)] });
    procs.push(upstream);
    const [gateway, reference] = await Promise.all([
      startProc('gateway', './gateway-proc.ts', {
        args: [upstream.url],
        stdoutFd: logFd,
        nodeFlags: flags['cpu-prof'] === true ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
      }),
      startProc('reference', './proxy-proc.ts', { args: [upstream.url] }),
    ]);
    procs.push(gateway, reference);
    log(
      `upstream ${upstream.origin}, gateway ${gateway.origin} (pid ${gateway.pid}), reference ${reference.origin}`,
    );
    const gwBoot = await gateway.ask({ type: 'rss' }, 'rss');
    const jitter = await timerJitter(quick ? 100 : 300);

    const direct = endpoint('direct', upstream.origin, BENCH_PROVIDER_KEY, CONCURRENCY);
    const viaGw = endpoint('gateway', gateway.origin, BENCH_MASTER_KEY, CONCURRENCY);
    const viaRef = endpoint('reference', reference.origin, BENCH_MASTER_KEY, CONCURRENCY);
    const sides = [direct, viaGw, viaRef];
    endpoints.push(...sides);

    // Warm-up: JIT, connection pools on both hops, the routes cache.
    log('warm-up');
    for (const ep of sides) {
      errors += await sequential(ep, PLAN.warmSequential, []);
      errors += (await load(ep, CHAT_BODY, CONCURRENCY, 1e9, PLAN.warmLoadMs)).failed;
      errors += await streams(ep, PLAN.warmStreams, []);
    }
    await upstream.ask({ type: 'stamps' }, 'stamps'); // drop the warm-up stamps

    // 1. Sequential latency, one request at a time.
    log(`sequential: ${PLAN.seqRounds} rounds x ${PLAN.seqBatch} requests per side`);
    const lat = bySide((): number[] => []);
    for (let r = 0; r < PLAN.seqRounds && left() > 0; r++) {
      for (const ep of rotate(r, sides)) errors += await sequential(ep, PLAN.seqBatch, lat[ep.name]);
    }

    // 2. Throughput, 32 concurrent clients.
    log(`throughput: ${PLAN.tputRounds} rounds x ${PLAN.tputMs} ms per side, ${CONCURRENCY} clients`);
    const tput = bySide(() => ({ ok: 0, ms: 0 }));
    for (let r = 0; r < PLAN.tputRounds && left() > 0; r++) {
      for (const ep of rotate(r, sides)) {
        const res = await load(ep, CHAT_BODY, CONCURRENCY, 1e9, PLAN.tputMs);
        tput[ep.name].ok += res.ok;
        tput[ep.name].ms += res.elapsedMs;
        errors += res.failed;
      }
    }
    const rps = (s: Side): number => (tput[s].ok / tput[s].ms) * 1000;

    // 3. Streaming: TTFT and per-chunk hold, one stream at a time.
    log(`streaming: ${PLAN.streamRounds} rounds x ${PLAN.streamBatch} streams per side`);
    const ss = bySide((): StreamSample[] => []);
    const stamps = new Map<string, number[]>();
    for (let r = 0; r < PLAN.streamRounds && left() > 0; r++) {
      for (const ep of rotate(r, sides)) errors += await streams(ep, PLAN.streamBatch, ss[ep.name]);
      const got = await upstream.ask({ type: 'stamps' }, 'stamps');
      for (const [id, list] of Object.entries(got.stamps)) stamps.set(id, list);
    }

    // 4. Memory over a long run (the gateway only).
    const marks = [PLAN.rssTotal / 4, PLAN.rssTotal / 2];
    log(`memory: ${PLAN.rssTotal} gateway requests, ${CONCURRENCY} clients`);
    const rss: { at: number; rss: number }[] = [];
    const gwRss = async (): Promise<number> => (await gateway.ask({ type: 'rss' }, 'rss')).rss;
    rss.push({ at: 0, rss: await gwRss() });
    const pending: Promise<void>[] = [];
    const mem = await load(
      viaGw,
      CHAT_BODY,
      CONCURRENCY,
      PLAN.rssTotal,
      Math.min(PLAN.rssMs, Math.max(5_000, left())),
      (n) => {
        if (n === marks[0] || n === marks[1]) {
          pending.push(gwRss().then((v) => void rss.push({ at: n, rss: v })));
        }
      },
    );
    await Promise.all(pending);
    const memDone = mem.ok + mem.failed;
    errors += mem.failed;
    const gwEnd = await gateway.ask({ type: 'rss' }, 'rss');
    rss.push({ at: memDone, rss: gwEnd.rss });
    rss.sort((a, b) => a.at - b.at);
    const upEnd = await upstream.ask({ type: 'rss' }, 'rss');
    const refEnd = await reference.ask({ type: 'rss' }, 'rss');

    // Stop the children before reading the log, so every line is in the file.
    await Promise.all(procs.map((c) => c.stop()));
    closeSync(logFd);
    logFdOpen = false;
    const logged = countLines(logPath);

    // --- Numbers.
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
    const rssComplete = memDone >= PLAN.rssTotal;
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
      [
        'Sequential samples per side',
        `${lat.direct.length} / ${lat.gateway.length} / ${lat.reference.length}`,
      ],
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

    const cpu = cpus();
    const report: Report = {
      date: new Date().toISOString(),
      machine: `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GB RAM, ${process.platform} ${release()}, Node ${process.version}`,
      quick,
      durationS: elapsed() / 1000,
      rows,
      details,
      reading,
      plan: {
        sequential: `${PLAN.seqRounds} rounds × ${PLAN.seqBatch}`,
        throughput: `${PLAN.tputRounds} rounds × ${PLAN.tputMs} ms`,
        streams: `${PLAN.streamRounds} rounds × ${PLAN.streamBatch}`,
        rssTotal: PLAN.rssTotal,
        concurrency: CONCURRENCY,
        chunkDelayMs: CHUNK_DELAY_MS,
        streamEvents: STREAM_EVENTS,
        stampPrefix: STAMP_PREFIX,
        logTo: flags.log === undefined ? 'a temporary file (deleted after the run)' : `\`${flags.log}\``,
      },
    };
    process.stdout.write(`\n${renderText(report)}\n`);
    if (errors > 0 || (gwEnd.errors ?? 0) > 0) log('WARNING: some requests failed; the numbers are suspect');
    if (!quick) {
      const doc = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
      writeFileSync(doc, renderMarkdown(report));
      log(`wrote ${doc}`);
    }
    if (flags['cpu-prof'] === true) log(`gateway CPU profile in ${profDir}`);
  } finally {
    await Promise.all(endpoints.map((e) => e.pool.close().catch(() => undefined)));
    await Promise.all(procs.map((c) => c.stop()));
    if (logFdOpen) closeSync(logFd);
    if (flags.log === undefined) rmSync(logPath, { force: true });
    clearTimeout(watchdog);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
