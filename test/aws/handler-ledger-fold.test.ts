/**
 * The ledger on the Lambda path, end to end: the gateway bundle (Lambda harness) writes one item per request,
 * and the ledger fold bundle, invoked with the usage table's stream records as the event source mapping would
 * deliver them, adds them into the aggregates exactly once — redelivered batches included. DynamoDB Streams
 * is simulated (dynalite has none: test/support/usage-stream.ts); both functions are the real bundles.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLedger } from '../../functions/aws/stores/dynamo-ledger.ts';
import type { DynamoStreamRecord } from '../../functions/aws/stores/ledger-stream-fold.ts';
import { USAGE_TABLE } from '../../functions/core/stores/tables.ts';
import { DEFAULT_USAGE_SHARDS } from '../../functions/core/usage/types.ts';
import { esbuildOptions, LEDGER_FOLD_HANDLER_ENTRY } from '../../lib/handler-bundling.ts';
import { chat, type GatewayBundle, sdk, startGatewayBundle, streamText } from './support/gateway-bundle.ts';

let gw: GatewayBundle | undefined;
let dir: string;
let fold: (event: { Records: DynamoStreamRecord[] }) => Promise<{ records: number }>;

beforeAll(async () => {
  gw = await startGatewayBundle();
  dir = await mkdtemp(join(tmpdir(), 'sy-fold-'));
  const outfile = join(dir, 'node_modules', 'fold-task', 'index.mjs');
  await build({ ...esbuildOptions, entryPoints: [LEDGER_FOLD_HANDLER_ENTRY], outfile });
  // The harness set the gateway's environment: the fold reads the same usage table and shard count.
  const mod: unknown = await import(pathToFileURL(outfile).href);
  fold = Reflect.get(mod as object, 'handler') as typeof fold;
});

afterAll(async () => {
  await gw?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the ledger on the Lambda path (stream simulated: dynalite has no DynamoDB Streams)', () => {
  it('the gateway puts one record per request; the fold adds each once, however often a batch comes', async () => {
    if (gw === undefined) throw new Error('no harness');
    const front = gw.frontOf('function-url');
    const client = sdk(front);
    gw.usageStream.take();
    for (let i = 0; i < 4; i++) await chat(client);
    for (let i = 0; i < 2; i++) await streamText(client);
    await Promise.all(front.invocations.map((i) => i.done));
    const events = gw.usageStream.take();
    // One new item per request: no second write marks it, and nothing else is put into the usage table.
    expect(events).toHaveLength(6);

    const ledger = new DynamoLedger(gw.conn.client, gw.conn.tableName(USAGE_TABLE), {
      shards: DEFAULT_USAGE_SHARDS,
      retentionDays: 1,
    });
    const day = new Date().toISOString().slice(0, 10);
    const today = async () => {
      const aggs = await ledger.aggregates(day, day);
      return {
        requests: aggs.reduce((n, a) => n + a.requests, 0),
        tokens: aggs.reduce((n, a) => n + a.inputTokens + a.outputTokens, 0),
      };
    };
    const before = await today();
    expect(await fold({ Records: events.slice(0, 4) })).toEqual({ records: 4 });
    expect((await today()).requests).toBe(before.requests + 4);
    // Lambda retries from the first record, with the records that arrived since; then a duplicate delivery.
    expect(await fold({ Records: events })).toEqual({ records: 6 });
    await fold({ Records: events });
    const after = await today();
    expect(after.requests).toBe(before.requests + 6);
    const ids = new Set(events.map((e) => (e.dynamodb?.NewImage?.sk as { S?: string } | undefined)?.S));
    const records = (
      await ledger.records(new Date(Date.now() - 60_000).toISOString(), new Date().toISOString())
    ).filter((r) => ids.has(r.recordId));
    expect(records).toHaveLength(6);
    const tokens = records.reduce((n, r) => n + r.inputTokens + r.outputTokens, 0);
    expect(tokens).toBeGreaterThan(0);
    expect(after.tokens - before.tokens).toBe(tokens);
  });
});
