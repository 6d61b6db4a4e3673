/**
 * The bench's fresh processes (run by ./processes.ts), printing one JSON line:
 * - `cold <kind>`: the rig set up (store, tables, keys, routes, the budget window open), then the time of the
 *   process's first request with that key — key and route caches empty, as on a fresh Lambda instance — and
 *   the RSS it added; then, apart, what loading the tokenizer ranks costs (the first count of a new counter);
 * - `streams <dynalite url> <n>`: `n` concurrent ~1 s streams of the budgeted key, memory sampled throughout
 *   (run under --max-old-space-size=256 by the parent).
 */
import { lambdaTokenCounter, TOKENIZER_RANKS_FILE } from '../../../functions/aws/token-counter.ts';
import { BUNDLE_SIDE_FILES } from '../../../lib/handler-bundling.ts';
import { tick } from './measure.ts';
import { type KeyKind, startRig } from './rig.ts';

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

async function cold(kind: KeyKind): Promise<object> {
  const rig = await startRig();
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const r = await rig.request(kind);
  const ms = performance.now() - t0;
  const rss1 = process.memoryUsage().rss;
  await tick();
  await rig.idle();
  // What loading the ranks costs, whether or not the request needed them.
  const counter = lambdaTokenCounter(new URL('.', `file://${BUNDLE_SIDE_FILES[TOKENIZER_RANKS_FILE]}`));
  const t1 = performance.now();
  counter.count('hello');
  const tokenizerMs = performance.now() - t1;
  const rss2 = process.memoryUsage().rss;
  await rig.close();
  return {
    status: r.status,
    ms,
    rssAddedMb: mb(rss1 - rss0),
    tokenizerUsed: rig.tokenizer.used,
    tokenizerLoadMs: tokenizerMs,
    tokenizerRssMb: mb(rss2 - rss1),
  };
}

async function streams(endpoint: string, n: number): Promise<object> {
  const rig = await startRig({ endpoint });
  // ~1 s streams: 20 content chunks 50 ms apart, then usage and [DONE].
  rig.upstream = { chunks: 20, chunkDelayMs: 50 };
  await rig.request('budgeted+rpm', { stream: true }); // warm caches, as a serving instance has them
  await tick();
  await rig.idle();
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const timer = setInterval(sample, 20);
  const t0 = performance.now();
  const done = await Promise.all(
    Array.from({ length: n }, () =>
      rig
        .request('budgeted+rpm', { stream: true })
        .catch((err: unknown) => ({ status: 0, text: String(err) })),
    ),
  );
  const ms = performance.now() - t0;
  await tick();
  await rig.idle();
  sample();
  clearInterval(timer);
  const ok = done.filter((d) => d.status === 200 && d.text.includes('data: [DONE]')).length;
  await rig.close();
  return {
    streams: n,
    succeeded: ok,
    ms,
    peakRssMb: mb(peakRss),
    peakHeapMb: mb(peakHeap),
    errors: rig.errors.length,
  };
}

const [mode, a, b] = process.argv.slice(2);
const result =
  mode === 'cold'
    ? await cold(a as KeyKind)
    : mode === 'streams'
      ? await streams(a ?? '', Number(b ?? 100))
      : undefined;
if (result === undefined) throw new Error(`unknown mode ${mode}`);
process.stdout.write(`${JSON.stringify(result)}\n`);
