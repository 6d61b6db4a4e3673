/**
 * The bench's fresh processes (run by ./processes.ts), printing one JSON line:
 * - `cold <kind>`: the rig set up (store, tables, keys, routes, the budget window open), then the time of the
 *   process's first request with that key — key and route caches empty, as on a fresh Lambda instance — and
 *   the RSS it added; then, apart, what loading the tokenizer ranks costs (the first count of a new counter).
 * (The memory check runs the Lambda bundle itself: ./bundle-streams.ts.)
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

const [mode, a] = process.argv.slice(2);
const result = mode === 'cold' ? await cold(a as KeyKind) : undefined;
if (result === undefined) throw new Error(`unknown mode ${mode}`);
process.stdout.write(`${JSON.stringify(result)}\n`);
