/**
 * `npm run bench:health`: a provider that never answers (its first byte never comes) behind a healthy
 * fallback, with the breaker off (before issue 16) and on (after), against the fallback alone.
 *
 * The local gateway (embedded store, the same code path as Lambda) and loopback fakes from test/support: the
 * first target holds every request's first byte for 60 s, the fallback answers after FALLBACK_MS. Per
 * scenario, 200 requests over 20 s from 20 clients (each client sends one request every 2 s, or as soon as
 * its previous one ended if that took longer), with the official SDK. The route's first-byte timeout is
 * FIRST_BYTE_MS (2 s here instead of the 30 s default, so a run takes a minute, not ten: a request that
 * waits for it waits this long, and with 30 s it waits 15 times longer).
 *
 * Two more measurements:
 * - **default retries** (the route's default, 2 retries with backoff): a request no longer spends its retries
 *   on a target whose breaker opened during it;
 * - **a Lambda-like fleet**: FLEET gateway instances on one health store, each serving one request at a time
 *   (one client each), as Lambda instances do. "counts per instance" wraps the store so that failures are
 *   not added to the shared count (the design before the fleet count: each instance needed five of its own
 *   timeouts), "counts shared" is the gateway as it is.
 *
 * Prints a table and, last, one JSON line.
 */
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { DynamoHealthStore } from '../../functions/aws/stores/dynamo-health-store.ts';
import { parseConfig } from '../../functions/core/config/schema.ts';
import type { HealthStore } from '../../functions/core/routing/health.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import { type RunningGateway, startGateway } from '../../functions/local/server.ts';
import { startFakeOpenAI } from '../support/fake-openai.ts';

const FIRST_BYTE_MS = 2_000;
const FALLBACK_MS = 50;
const CLIENTS = 20;
const PER_CLIENT = 10;
const SPACING_MS = 2_000;
const MASTER = 'sk-sy-bench-health-0123456789abcdef';
const FLEET = 10;

/** The store with failures kept per instance (not added to the shared count): the design before it. */
function countsPerInstance(store: HealthStore): HealthStore {
  return {
    read: (ids) => store.read(ids),
    transition: (id, t) => store.transition(id, t),
    speeds: (id, sp) => store.speeds(id, sp),
    claimProbe: (id, at, hold) => store.claimProbe(id, at, hold),
    releaseProbe: (id, at) => store.releaseProbe(id, at),
    failed: async () => 0,
    resetFailures: async () => undefined,
  };
}

interface Scenario {
  readonly name: string;
  readonly model: string;
}

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
const r1 = (n: number) => Math.round(n * 10) / 10;

async function main(): Promise<void> {
  const hang = await startFakeOpenAI({ record: false });
  const ok = await startFakeOpenAI({ record: false });
  hang.setDefault({ firstByteDelayMs: 60_000 });
  ok.setDefault({ firstByteDelayMs: FALLBACK_MS });
  const timeouts = { firstByteMs: FIRST_BYTE_MS, idleMs: 30_000, totalMs: 120_000 };
  const retry = { attempts: 0, initialBackoffMs: 10, maxBackoffMs: 50 };
  const pair = (m: string, health: { enabled: boolean }, withRetry: object = retry) => ({
    targets: [
      { provider: 'hang', model: `${m}-hang` },
      { provider: 'ok', model: `${m}-ok` },
    ],
    timeouts,
    retry: withRetry,
    health,
  });
  const config = parseConfig({
    providers: {
      hang: { type: 'openai', baseUrls: [hang.url] },
      ok: { type: 'openai', baseUrls: [ok.url] },
    },
    routes: {
      before: pair('before', { enabled: false }),
      after: pair('after', { enabled: true }),
      retries: pair('retries', { enabled: true }, {}),
      'fleet-local': pair('fleet-local', { enabled: true }),
      'fleet-shared': pair('fleet-shared', { enabled: true }),
      direct: { targets: [{ provider: 'ok', model: 'direct-ok' }], timeouts, retry },
    },
  });
  const quiet = { log: () => {} };
  const gateway = await startGateway({ config, masterKey: MASTER, port: 0, logger: quiet });
  const clientOf = (g: RunningGateway) =>
    new OpenAI({ baseURL: `${g.origin}/v1`, apiKey: MASTER, maxRetries: 0, timeout: 120_000 });
  const client = clientOf(gateway);
  // The fleet: the first gateway's store holds the health items of all (as the keys table does on AWS).
  const shared = new DynamoHealthStore(connectStore(gateway.storeSocket), localTableName(KEYS_TABLE));
  const fleetOf = async (perInstance: boolean) =>
    Promise.all(
      Array.from({ length: FLEET }, () =>
        startGateway({
          config,
          masterKey: MASTER,
          port: 0,
          logger: quiet,
          healthStore: () => (perInstance ? countsPerInstance(shared) : shared),
        }),
      ),
    );
  const scenarios: Scenario[] = [
    { name: 'fallback alone (reference)', model: 'direct' },
    { name: 'before: breaker off', model: 'before' },
    { name: 'after: breaker on', model: 'after' },
    { name: 'after, default retries (2)', model: 'retries' },
  ];
  const out: Record<string, unknown> = {};
  console.log(
    `${CLIENTS} clients × ${PER_CLIENT} requests, one per client every ${SPACING_MS / 1000} s; first target never answers, firstByteMs ${FIRST_BYTE_MS} ms; fallback answers in ${FALLBACK_MS} ms\n`,
  );
  console.log(
    'scenario                      | waited ≥ timeout | p50 rest (ms) | p50 all (ms) | p99 all (ms) | total (s)',
  );
  console.log(
    '------------------------------|------------------|---------------|--------------|--------------|----------',
  );
  const fleets: (Scenario & { perInstance: boolean })[] = [
    { name: `fleet ×${FLEET}: counts per instance`, model: 'fleet-local', perInstance: true },
    { name: `fleet ×${FLEET}: counts shared`, model: 'fleet-shared', perInstance: false },
  ];
  const all: (Scenario & { perInstance?: boolean })[] = [...scenarios, ...fleets];
  for (const s of all) {
    const ms: number[] = [];
    const t0 = performance.now();
    // A fleet: one client per instance, one request at a time each (Lambda); else CLIENTS on one gateway.
    const instances = s.perInstance === undefined ? undefined : await fleetOf(s.perInstance);
    const clients = instances?.map(clientOf) ?? Array.from({ length: CLIENTS }, () => client);
    await Promise.all(
      clients.map(async (c, ci) => {
        // Clients start spread over the first spacing, like independent callers.
        await new Promise((r) => setTimeout(r, (ci * SPACING_MS) / clients.length));
        for (let i = 0; i < PER_CLIENT; i++) {
          const start = performance.now();
          await c.chat.completions.create({
            model: s.model,
            messages: [{ role: 'user', content: 'hi' }],
          });
          const took = performance.now() - start;
          ms.push(took);
          await new Promise((r) => setTimeout(r, Math.max(0, SPACING_MS - took)));
        }
      }),
    );
    const total = (performance.now() - t0) / 1000;
    if (instances !== undefined) await Promise.all(instances.map((g) => g.close(500)));
    const waited = ms.filter((m) => m >= FIRST_BYTE_MS).length;
    const rest = ms.filter((m) => m < FIRST_BYTE_MS).sort((a, b) => a - b);
    const all = [...ms].sort((a, b) => a - b);
    const row = {
      waited,
      p50RestMs: r1(pct(rest, 50)),
      p50AllMs: r1(pct(all, 50)),
      p99AllMs: r1(pct(all, 99)),
      totalSeconds: r1(total),
    };
    out[s.model] = row;
    console.log(
      `${s.name.padEnd(30)}| ${String(waited).padStart(16)} | ${String(row.p50RestMs).padStart(13)} | ${String(row.p50AllMs).padStart(12)} | ${String(row.p99AllMs).padStart(12)} | ${String(row.totalSeconds).padStart(8)}`,
    );
  }
  await gateway.close(500);
  await Promise.all([hang.close(), ok.close()]);
  const direct = out.direct as { p50RestMs: number };
  const after = out.after as { p50RestMs: number; waited: number };
  console.log(
    JSON.stringify({
      ...out,
      afterWithin50MsOfFallback: Math.abs(after.p50RestMs - direct.p50RestMs) <= 50,
      firstByteMs: FIRST_BYTE_MS,
      fleet: FLEET,
    }),
  );
}

await main();
