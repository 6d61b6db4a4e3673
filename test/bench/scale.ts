/**
 * `npm run bench:scale`: the money path (rate limit, budget, ledger) on DynamoDB, counted and projected
 * (issue 14). The Lambda's stores run against dynalite through a counting layer (scale/counting-client.ts)
 * that records every call of a request, its write units by DynamoDB's item-size rules (scale/wcu.ts), the
 * items and partitions it hits, and whether it ran before the upstream call. From those counts
 * (scale/project.ts, assumptions there and in the output): the request rate at which one budgeted key's
 * hottest item, and the usage table's hottest partition under spread traffic, reach 1,000 WCU/s. Then the
 * cold path in fresh processes, the bundle's module init (bench:bundle), and 100 streams under 256 MB.
 * The last line is one JSON object with the issue's fields.
 */
import { measureBundle } from './bundle.ts';
import { bundleStreams } from './scale/bundle-streams.ts';
import {
  countKinds,
  type FoldCounts,
  foldCounts,
  type KindCounts,
  type LimitItemSize,
  limitItemSizes,
} from './scale/measure.ts';
import { coldPath } from './scale/processes.ts';
import { ITEM_LIMIT_WCU, overall, singleKey } from './scale/project.ts';
import { LIMIT_SHARDS, SHARDS, startRig } from './scale/rig.ts';

const log = (s = '') => process.stdout.write(`${s}\n`);
const row = (cells: readonly (string | number)[], widths: readonly number[]) =>
  cells
    .map((c, i) => (i === 0 ? String(c).padEnd(widths[i] ?? 0) : String(c).padStart(widths[i] ?? 0)))
    .join('  ');

const rig = await startRig();
let kinds: KindCounts[];
let sizes: LimitItemSize[];
let fold: FoldCounts;
try {
  kinds = await countKinds(rig);
  sizes = await limitItemSizes(rig, LIMIT_SHARDS);
  fold = await foldCounts(rig, LIMIT_SHARDS);
  if (rig.errors.length > 0) throw new Error(`the gateway logged errors: ${rig.errors[0]}`);
} finally {
  await rig.close();
}
const budgetedJson = kinds.find((k) => k.kind === 'budgeted+rpm' && !k.stream);
if (budgetedJson === undefined) throw new Error('no budgeted counts');
const lambda = budgetedJson.steady;

const limitBytes = Math.max(...sizes.map((s) => s.bytes));
const hot = singleKey(lambda, fold, limitBytes, LIMIT_SHARDS);
const oneShard = singleKey(lambda, fold, limitBytes, 1);
const spread = overall(lambda, fold, SHARDS);

const cold = await coldPath(5);
const bundle = await measureBundle();
const MEMORY_MB = 256;
const mem = await bundleStreams(100, MEMORY_MB);

const W = [28, 6, 7, 5, 6, 10, 10];
log('bench:scale — the money path on DynamoDB (counted against dynalite, projected onto 1,000 WCU/s)');
log();
log(
  'Per request, Lambda path (ledger: one put, folded by the stream), warm key and route caches; first = a fresh instance',
);
log(row(['key / answer', 'calls', 'writes', 'WCU', '+index', 'crit calls', 'crit trips'], W));
for (const k of kinds) {
  const s = k.steady;
  const name = `${k.kind} ${k.stream ? 'stream' : 'json'}${k.stable ? '' : ' (varied)'}`;
  log(row([name, s.calls, s.writeCalls, s.wcu, s.indexWcu, s.criticalCalls, s.criticalRoundTrips], W));
}
// The first requests run in this order on one fresh rig: the first of all also pays the route load (a Scan).
for (const k of kinds.filter((x) => !x.stream)) {
  const f = k.first;
  log(
    row(
      [`${k.kind} first`, f.calls, f.writeCalls, f.wcu, f.indexWcu, f.criticalCalls, f.criticalRoundTrips],
      W,
    ),
  );
}
log(
  '  (first: key cache empty — one GetItem of the key; the budgeted one ran first and also loaded the routes)',
);
log();
log('Calls of one budgeted+rpm request (json, warm):');
for (const c of lambda.detail) {
  const ix = c.indexWrites.map((w) => ` +${w.index} ${w.partition} ${w.wcu} WCU`).join('');
  const what = c.write ? `${c.wcu} WCU, item ${c.itemBytes} B${ix}` : 'read';
  log(
    `  ${c.beforeUpstream ? 'before upstream' : 'after upstream '}  ${c.command.padEnd(10)} ${c.items.join(', ')}  (${what})`,
  );
}
log();
log(
  `Limit item (largest of the hot key's ${LIMIT_SHARDS}) with requests in flight: ${sizes.map((h) => `${h.inFlight} → ${h.bytes} B`).join(', ')}`,
);
log(
  `One fold batch: ${fold.records} records → ${fold.writes} UpdateItems (aggregates and limit items);` +
    ` largest aggregate ${fold.aggregateBytes} B, limit item ${fold.limitBytes} B after it`,
);
log();
log(
  `Scenario (a): one budgeted, rate-limited key (hottest item reaches ${ITEM_LIMIT_WCU} WCU/s; any duration:`,
);
log('  the limit item does not grow with the requests in flight, so 1 s and 30 s requests project the same)');
for (const p of [hot, oneShard]) {
  log(
    `  ${p.shards} limit shard${p.shards === 1 ? ' ' : 's'}: ${p.requestsPerSec} req/s — ${p.hottestItem}: ${p.limitItemBytes} B,` +
      ` ${p.admissionsPerRequest} admission of ${p.wcuPerAdmission} WCU per request, + ${p.foldWritesPerSec} fold writes/s`,
  );
}
log(`Scenario (b): 10,000 req/s spread over many keys and models, ${SHARDS} usage shards`);
for (const l of spread.loads) {
  const at = Math.round(spread.atRate * l.wcuPerRequest * l.share);
  log(
    `  ${l.partition}: ${l.wcuPerRequest} WCU per request landing there (1/${SHARDS} of requests) →` +
      ` ${at} WCU/s at ${spread.atRate} req/s; 1,000 WCU/s at ${Math.round(ITEM_LIMIT_WCU / (l.wcuPerRequest * l.share))} req/s`,
  );
}
log(`  hottest: ${spread.hottest.partition} → overall limit ${spread.requestsPerSec} req/s`);
log();
log(
  `Cold path (fresh processes, median of ${cold.runs}): first budgeted request ${cold.budgetedMs.toFixed(1)} ms,`,
);
log(`  first unbudgeted ${cold.unbudgetedMs.toFixed(1)} ms → +${cold.extraMs.toFixed(1)} ms;`);
log(
  `  RSS added by the first request: ${cold.budgetedRssAddedMb} MB budgeted, ${cold.unbudgetedRssAddedMb} MB unbudgeted;`,
);
log(
  `  tokenizer loaded on the first budgeted request: ${cold.tokenizerOnFirstBudgeted ? 'yes' : 'no'}` +
    ` (loading it when an estimate needs it: ${cold.tokenizerLoadMs.toFixed(0)} ms, +${cold.tokenizerRssMb} MB RSS)`,
);
log(`Module init of the gateway bundle (bench:bundle, median of 7): ${bundle.initMs.toFixed(0)} ms`);
log(
  `${mem.streams} concurrent ~1 s streams, budgeted key, --max-old-space-size=${MEMORY_MB}: ${mem.succeeded} ok, peak RSS` +
    ` ${mem.peakRssMb} MB, peak heap ${mem.peakHeapMb} MB → ${mem.ok ? 'fits' : 'does NOT fit'} in ${MEMORY_MB} MB`,
);
log(
  '  (the Lambda bundle in a plain Node process, invoked through its handler; dynalite, Secrets Manager and the',
);
log(
  '   upstream in the parent. One Lambda instance serves one request at a time: this bounds far more than it holds)',
);
log();
log(
  'Assumptions: a partition key value is one partition and no item takes more than 1,000 WCU/s; record ids',
);
log(
  `hash uniformly over the ${SHARDS} usage shards and request ids over the key's limit shards; one stream shard`,
);
log(
  'per 1,000 WCU/s of records, each folded in batches of up to 1,000 once a second, each batch writing each',
);
log(
  'item it touches once; (b) counts the fold at its worst (a write per record) and keeps every key under its',
);
log('own single-key limit, so only the usage shards are shared.');
log(
  JSON.stringify({
    singleKeyStreamsPerSec: hot.requestsPerSec,
    singleKeyOneSecondPerSec: hot.requestsPerSec,
    singleKeyLimitShards: LIMIT_SHARDS,
    singleKeyOneShardPerSec: oneShard.requestsPerSec,
    limitItemBytes: limitBytes,
    overallRequestsPerSec: spread.requestsPerSec,
    criticalPathRoundTrips: lambda.criticalRoundTrips,
    writeCallsPerRequest: lambda.writeCalls,
    callsPerRequest: lambda.calls,
    wcuPerRequest: lambda.wcu + lambda.indexWcu,
    coldBudgetedExtraMs: Math.round(cold.extraMs * 10) / 10,
    tokenizerOnFirstBudgeted: cold.tokenizerOnFirstBudgeted,
    initMs: Math.round(bundle.initMs),
    streams256MbOk: mem.ok,
    streams256MbPeakRssMb: mem.peakRssMb,
    streams256MbTarget: 'the Lambda bundle, 100 concurrent streams of a budgeted key',
  }),
);
