/**
 * Issue 14's design spike: the budget and rate-limit designs of docs/design-money-path.md, computed.
 * `npx tsx test/bench/scale/designs.ts` prints the tables of that document: the items each design writes
 * and their sizes (DynamoDB's rules, ./wcu.ts, on representative items), the write units per request on a
 * key's hottest item at 1,000 req/s of 30 s streams and of 1 s requests, the shards each needs, the calls
 * per request, and a seeded simulation of what a sharded minute counter loses against one counter.
 * Nothing here runs against a store: the measured baseline is `npm run bench:scale`.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ITEM_LIMIT_WCU } from './project.ts';
import { type Item, itemSize, writeUnits } from './wcu.ts';

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string): AttributeValue => ({ N: n });
const KEY = 'key_1b1765f4fd15';
const USD = '1234.5678901234'; // a USD amount at the store's 1e-10 precision: 14 significant digits
const MINUTE = 29938749;

/** Today's budget item, as bench:scale measured it: 61 B + 63 B per hold in flight. */
export const todayBudgetBytes = (holds: number): number => 61 + 63 * Math.max(1, holds);
/** DynamoDB's item limit: a reservation that would pass it is refused. */
export const ITEM_MAX_BYTES = 400 * 1024;

/** B/D: the budget numbers without holds. */
const numbersOnly: Item = { pk: S(`budget#${KEY}#2026-12`), committed: N(USD), spent: N(USD) };
/** B/D: one hold as its own item (expiry for the sweeper, TTL for DynamoDB). */
const holdItem: Item = {
  pk: S(`hold#${KEY}#2026-12#01a23d50-3f81-7bd1-8481-78162d4d1803`),
  amount: N('0.0512345678'),
  exp: N('1796325600000'),
  ttl: N('1796412000'),
};
/** C: one instance's lease, its own item (what it took, until when). */
const leaseItem: Item = {
  pk: S(`lease#${KEY}#2026-12#2f1c9a7e-52b1-4d0e-9a55-7c1f0e6d2a11`),
  slice: N('0.5123456789'),
  tokens: N('20'),
  exp: N('1796325600000'),
  ttl: N('1796412000'),
};
/**
 * E: one shard of a key's limits: the window's committed and spent, the current and previous minute's
 * request count, the outstanding reservations per expiry minute (`o#<minute>`, up to 17 with a 15-minute
 * route timeout + 60 s grace + 1), and the fold's guard of the last two batches (`applied#b#<batch id>`).
 */
export function shardItem(openBuckets = 17): Item {
  const item: Item = {
    pk: S(`lim#${KEY}#3`),
    'c#2026-12': N(USD),
    'sp#2026-12': N(USD),
    [`n#${MINUTE}`]: N('15000'),
    [`n#${MINUTE - 1}`]: N('15000'),
  };
  for (let b = 0; b < openBuckets; b++) item[`o#${MINUTE + b}`] = N('123.4567890123');
  item['applied#b#shardId-00000001796325600000-1b2c3d4e#49612345678901234567'] = { BOOL: true };
  item['applied#b#shardId-00000001796325600000-1b2c3d4e#49612345678901299999'] = { BOOL: true };
  return item;
}
/** Today's rate item. */
const rateItem: Item = { pk: S(`rate#${KEY}#${MINUTE}`), n: N('60000'), expiresAt: N('1796325720') };

export interface Scenario {
  /** Requests a second of the one key. */
  readonly rate: number;
  /** Seconds each request lasts. */
  readonly durationS: number;
}

export interface DesignRow {
  readonly id: string;
  readonly hottest: string;
  /** WCU/s on the hottest item at the scenario, per item (after sharding, with `shards` items). */
  readonly hottestWcuPerSec: number;
  readonly shards: number;
  /** The item outgrows 400 KB: reservations fail outright. */
  readonly tooBig: boolean;
  /** Sequential store round trips before the upstream call. */
  readonly criticalTrips: number;
  /** Write calls of the budget and rate limit per request, on the gateway (amortised where leased). */
  readonly limitWriteCalls: number;
  /** Write units per request of the budget and rate limit (all items, transactions ×2). */
  readonly limitWcu: number;
  /** Transactions per second on one hot item (conflicts: TransactionConflict when two overlap). */
  readonly txPerItemPerSec: number;
}

const KB = 1024;
const units = (item: Item): number => writeUnits(item, item);
const shardsFor = (wcuPerSecOnOne: number, target = ITEM_LIMIT_WCU / 2): number =>
  Math.max(1, 2 ** Math.ceil(Math.log2(Math.max(1, wcuPerSecOnOne / target))));

/** Lease length on Lambda (one request at a time per instance): requests per lease = lease / duration. */
export const LEASE_S = 60;
/** Stream-fold writes a second onto one shard item (stream shards × batches a second each). */
export const FOLD_WRITES_PER_SEC = 8;

export function designs(sc: Scenario): DesignRow[] {
  const inFlight = sc.rate * sc.durationS;
  const todayBytes = todayBudgetBytes(inFlight);
  const todayPerWrite = Math.max(1, Math.ceil(todayBytes / KB));
  const rateWcu = units(rateItem);
  const numbersWcu = units(numbersOnly);
  const holdWcu = units(holdItem);
  const shardWcu = units(shardItem());
  const perLease = Math.max(1, LEASE_S / sc.durationS);
  const rows: DesignRow[] = [];
  // A: today.
  rows.push({
    id: 'A today',
    hottest: 'budget#key#window (holds inside)',
    hottestWcuPerSec: Math.max(sc.rate * 2 * todayPerWrite, sc.rate * rateWcu),
    shards: 1,
    tooBig: todayBytes > ITEM_MAX_BYTES,
    criticalTrips: 2,
    limitWriteCalls: 3,
    limitWcu: 2 * todayPerWrite + rateWcu,
    txPerItemPerSec: 0,
  });
  // B1: numbers-only item + hold items, plain writes (hold put ∥ ADD; settle ADD ∥ hold delete).
  rows.push({
    id: 'B1 holds out, plain',
    hottest: 'budget#key#window (numbers)',
    hottestWcuPerSec: Math.max(sc.rate * 2 * numbersWcu, sc.rate * rateWcu),
    shards: 1,
    tooBig: false,
    criticalTrips: 1,
    limitWriteCalls: 5,
    limitWcu: 2 * numbersWcu + 2 * holdWcu + rateWcu,
    txPerItemPerSec: 0,
  });
  // B2: the same in two transactions (reserve: ADD + put hold; settle: ADD + delete hold).
  rows.push({
    id: 'B2 holds out, tx',
    hottest: 'budget#key#window (numbers)',
    hottestWcuPerSec: Math.max(sc.rate * 2 * 2 * numbersWcu, sc.rate * rateWcu),
    shards: 1,
    tooBig: false,
    criticalTrips: 1,
    limitWriteCalls: 3,
    limitWcu: 2 * 2 * (numbersWcu + holdWcu) + rateWcu,
    txPerItemPerSec: sc.rate * 2,
  });
  // C: per-instance leases (take + return per lease; lease item put + delete), rate tokens in the same take.
  {
    const leaseWrites = 2 / perLease;
    rows.push({
      id: `C leases (${LEASE_S} s)`,
      hottest: 'budget#key#window (numbers)',
      hottestWcuPerSec: sc.rate * leaseWrites * numbersWcu,
      shards: 1,
      tooBig: false,
      criticalTrips: 1 / perLease,
      limitWriteCalls: (2 + 2) / perLease,
      limitWcu: (2 * numbersWcu + 2 * units(leaseItem)) / perLease,
      txPerItemPerSec: 0,
    });
  }
  // D: sharded counter with hold items in transactions, rate sharded alongside (separate items).
  {
    const perReqOnShard = 2 * 2 * numbersWcu;
    const shards = shardsFor(sc.rate * perReqOnShard);
    rows.push({
      id: 'D sharded + tx holds',
      hottest: 'budget#key#window#s',
      hottestWcuPerSec: (sc.rate * perReqOnShard) / shards,
      shards,
      tooBig: false,
      criticalTrips: 1,
      limitWriteCalls: 3,
      limitWcu: 2 * 2 * (numbersWcu + holdWcu) + rateWcu,
      txPerItemPerSec: (sc.rate * 2) / shards,
    });
  }
  // D': sharded counter, hold items in plain writes (as B1, per shard).
  {
    const perReqOnShard = 2 * numbersWcu;
    const shards = shardsFor(sc.rate * perReqOnShard);
    rows.push({
      id: "D' sharded + plain holds",
      hottest: 'budget#key#window#s',
      hottestWcuPerSec: (sc.rate * perReqOnShard) / shards,
      shards,
      tooBig: false,
      criticalTrips: 1,
      limitWriteCalls: 5,
      limitWcu: 2 * numbersWcu + 2 * holdWcu + rateWcu,
      txPerItemPerSec: 0,
    });
  }
  // E: one sharded item for rate + budget, implicit holds (per expiry-minute outstanding), settled by the
  // ledger fold: the gateway writes the shard once; the fold's batched writes are shared by many requests.
  {
    const shards = shardsFor(sc.rate * shardWcu + FOLD_WRITES_PER_SEC);
    rows.push({
      id: 'E sharded, implicit holds, fold settles',
      hottest: 'lim#key#s (rate+budget)',
      hottestWcuPerSec: (sc.rate * shardWcu) / shards + FOLD_WRITES_PER_SEC,
      shards,
      tooBig: false,
      criticalTrips: 1,
      limitWriteCalls: 1,
      limitWcu: shardWcu,
      txPerItemPerSec: 0,
    });
  }
  return rows;
}

/** A seeded PRNG (mulberry32), so the simulation prints the same numbers every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RateSim {
  readonly shards: number;
  readonly offered: number;
  /** Mean admitted when each request tries its own shard only. */
  readonly admittedNoSpill: number;
  /** Mean admitted when a refused request tries one other random shard. */
  readonly admittedOneSpill: number;
}

/**
 * One minute of a key with `rpm`, `offered` requests, spread by request id over `shards` counters each
 * capped at its share (shares sum to rpm exactly). Means over `runs` minutes.
 */
export function simulateRate(rpm: number, shards: number, offered: number, runs = 200): RateSim {
  const rnd = prng(14 + shards);
  const caps = Array.from(
    { length: shards },
    (_, s) => Math.floor(rpm / shards) + (s < rpm % shards ? 1 : 0),
  );
  let noSpill = 0;
  let oneSpill = 0;
  for (let r = 0; r < runs; r++) {
    const a = new Array<number>(shards).fill(0);
    const b = new Array<number>(shards).fill(0);
    for (let i = 0; i < offered; i++) {
      const s = Math.floor(rnd() * shards);
      if ((a[s] ?? 0) < (caps[s] ?? 0)) {
        a[s] = (a[s] ?? 0) + 1;
        noSpill++;
      }
      if ((b[s] ?? 0) < (caps[s] ?? 0)) {
        b[s] = (b[s] ?? 0) + 1;
        oneSpill++;
      } else if (shards > 1) {
        const t = (s + 1 + Math.floor(rnd() * (shards - 1))) % shards;
        if ((b[t] ?? 0) < (caps[t] ?? 0)) {
          b[t] = (b[t] ?? 0) + 1;
          oneSpill++;
        }
      }
    }
  }
  return { shards, offered, admittedNoSpill: noSpill / runs, admittedOneSpill: oneSpill / runs };
}

function main(): void {
  const log = (s = '') => process.stdout.write(`${s}\n`);
  log('Item sizes (DynamoDB rules, representative items):');
  for (const [name, item] of [
    ['today rate#key#minute', rateItem],
    ['B/D numbers-only budget item', numbersOnly],
    ['B/D hold item', holdItem],
    ['C lease item', leaseItem],
    ['E lim#key#s, 17 open buckets', shardItem(17)],
  ] as const)
    log(`  ${name.padEnd(32)} ${String(itemSize(item)).padStart(5)} B  ${units(item)} WCU a write`);
  for (const n of [1_000, 6_499, 30_000])
    log(`  today budget item, ${n} holds`.padEnd(35) + `${todayBudgetBytes(n)} B`.padStart(8));
  for (const durationS of [30, 1]) {
    const sc = { rate: 1_000, durationS };
    log();
    log(`1,000 req/s of ${durationS} s requests (${sc.rate * durationS} in flight) on one key:`);
    log(
      '| design | hottest item | shards | WCU/s on it | fits | crit trips | limit writes/req | limit WCU/req | tx/s on one item |',
    );
    log('|---|---|---:|---:|---|---:|---:|---:|---:|');
    for (const d of designs(sc))
      log(
        `| ${d.id} | ${d.hottest} | ${d.shards} | ${Math.round(d.hottestWcuPerSec)} | ${
          d.tooBig
            ? 'no: > 400 KB'
            : d.hottestWcuPerSec < ITEM_LIMIT_WCU
              ? 'yes'
              : d.hottestWcuPerSec === ITEM_LIMIT_WCU
                ? 'at the limit'
                : 'no'
        } | ${Math.round(d.criticalTrips * 100) / 100} | ${Math.round(d.limitWriteCalls * 100) / 100} | ${
          Math.round(d.limitWcu * 100) / 100
        } | ${Math.round(d.txPerItemPerSec)} |`,
      );
  }
  log();
  log('Sharded minute counter, rpm 60,000 (one minute, mean of 50):');
  log('| shards | offered | admitted, own shard only | admitted, one retry on another shard |');
  log('|---:|---:|---:|---:|');
  for (const shards of [1, 4, 8, 16])
    for (const offered of [57_000, 60_000, 66_000]) {
      const r = simulateRate(60_000, shards, offered, 50);
      log(`| ${shards} | ${offered} | ${r.admittedNoSpill.toFixed(0)} | ${r.admittedOneSpill.toFixed(0)} |`);
    }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
