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
import { budgetItemSizes, countKinds, type KindCounts } from './scale/measure.ts';
import { coldPath, MEMORY_MB, streams256 } from './scale/processes.ts';
import { fitHolds, ITEM_LIMIT_WCU, overall, singleKey } from './scale/project.ts';
import { SHARDS, startRig } from './scale/rig.ts';

const log = (s = '') => process.stdout.write(`${s}\n`);
const row = (cells: readonly (string | number)[], widths: readonly number[]) =>
  cells
    .map((c, i) => (i === 0 ? String(c).padEnd(widths[i] ?? 0) : String(c).padStart(widths[i] ?? 0)))
    .join('  ');

const rig = await startRig();
let kinds: KindCounts[];
let holds: Awaited<ReturnType<typeof budgetItemSizes>>;
try {
  kinds = await countKinds(rig);
  holds = await budgetItemSizes(rig);
  if (rig.errors.length > 0) throw new Error(`the gateway logged errors: ${rig.errors[0]}`);
} finally {
  await rig.close();
}
const budgetedJson = kinds.find((k) => k.kind === 'budgeted+rpm' && !k.stream);
if (budgetedJson === undefined) throw new Error('no budgeted counts');
const lambda = budgetedJson.steady;

const fit = fitHolds(holds);
const streams30 = singleKey(lambda, fit, 30);
const short1 = singleKey(lambda, fit, 1);
const spread = overall(lambda, SHARDS);

const cold = await coldPath(5);
const bundle = await measureBundle();
const mem = await streams256(100);

const W = [28, 6, 7, 5, 6, 10, 10];
log('bench:scale — the money path on DynamoDB (counted against dynalite, projected onto 1,000 WCU/s)');
log();
log('Per request, Lambda path (ledger batch: false), warm key and route caches; first = a fresh instance');
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
log(`Budget item size with holds in flight: ${holds.map((h) => `${h.holds} → ${h.bytes} B`).join(', ')}`);
log(`  fit: ${fit.baseBytes.toFixed(0)} B + ${fit.bytesPerHold.toFixed(1)} B per hold`);
log();
log(`Scenario (a): one budgeted, rate-limited key (hottest item reaches ${ITEM_LIMIT_WCU} WCU/s)`);
for (const p of [streams30, short1]) {
  log(
    `  ${String(p.durationS).padStart(2)} s requests: ${p.requestsPerSec} req/s — ${p.hottestItem}: ${p.inFlight} holds in flight,` +
      ` ${p.budgetItemBytes} B, ${p.wcuPerBudgetWrite} WCU per write × ${p.budgetWritesPerRequest} writes per request`,
  );
}
// DynamoDB's item size limit: past it a reservation fails outright, whatever the write units.
const maxHolds = Math.floor((400 * 1024 - fit.baseBytes) / fit.bytesPerHold);
log(
  `  the budget item reaches DynamoDB's 400 KB item limit at ${maxHolds} holds in flight` +
    ` (${Math.round(maxHolds / 30)} req/s of 30 s streams): reservations then fail whatever the WCU`,
);
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
  '  (the core gateway with the AWS stores under tsx, dynalite in the parent process — not the Lambda bundle;',
);
log(
  '   one Lambda instance serves one request at a time, so this bounds what the process needs, not a Lambda run)',
);
log();
log(
  'Assumptions: a partition key value is one partition and no item takes more than 1,000 WCU/s; record ids',
);
log(
  `hash uniformly over the ${SHARDS} shards; request records are one partition each; in flight = rate × duration,`,
);
log(
  'each hold adds the fitted bytes to the budget item and each reserve/settle is billed by its whole size;',
);
log('in (b) every key stays under its own single-key limit, so only the usage shards are shared.');
log(
  JSON.stringify({
    singleKeyStreamsPerSec: streams30.requestsPerSec,
    singleKeyOneSecondPerSec: short1.requestsPerSec,
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
    streams256MbTarget: 'core+AWS stores under tsx, not the bundle',
  }),
);
