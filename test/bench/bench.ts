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
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bySide, countLines, rotate, STREAM_EVENTS, type StreamSample, timerJitter } from './analysis.ts';
import { measureBundle } from './bundle.ts';
import { type Endpoint, endpoint, load, send } from './client.ts';
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
import { type Report, renderMarkdown, renderText } from './report.ts';
import { summarize } from './summary.ts';

/** docs/benchmarks.md keeps everything from this line on across runs. */
const KEPT_MARKER = '<!-- kept by npm run bench: hand-written below -->';
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

    const { rows, details, reading } = summarize({
      bundle,
      jitter,
      lat,
      tput,
      ss,
      stamps,
      rss,
      mem,
      memDone,
      rssTotal: PLAN.rssTotal,
      gwBoot,
      gwEnd,
      upEnd,
      refEnd,
      errors,
      logged,
      logPath,
    });

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
      // What follows the marker is written by hand (numbers of other benches, such as bench:core A/Bs): kept.
      const previous = existsSync(doc) ? readFileSync(doc, 'utf8') : '';
      const at = previous.indexOf(KEPT_MARKER);
      writeFileSync(doc, renderMarkdown(report) + (at === -1 ? '' : `\n${previous.slice(at)}`));
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
