/**
 * The ledger under load and under failure: 1,000 requests over 50 concurrent clients leave exactly 1,000
 * records whose sums are the aggregates; with the store down, requests are still served, records go to the
 * spool, and a replay puts each back exactly once.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { newClientKey } from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import type { LedgerStore, UsageRecord } from '../../functions/core/usage/types.ts';
import { spooledRecords } from '../../functions/local/cli-usage.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import { FileUsageSpool } from '../../functions/local/usage-spool.ts';
import { type Harness, openaiProvider, route, startHarness } from '../support/gateway-harness.ts';
import { ledgerRecords, today } from '../support/ledger-helpers.ts';

const PATIENT = { firstByteMs: 10_000, idleMs: 10_000, totalMs: 30_000 };
const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
  { role: 'user', content: 'count me' },
];

describe('1,000 requests over 50 concurrent clients', () => {
  let h: Harness<'a'>;
  beforeAll(async () => {
    h = await startHarness({
      fakes: { a: {} },
      config: (f) => ({
        providers: { a: openaiProvider(f.a.url) },
        // Patient timeouts: 50 concurrent clients on a loaded CI machine must not turn into 504s.
        routes: {
          small: route([{ provider: 'a', model: 'up-small' }], { timeouts: PATIENT }),
          large: route([{ provider: 'a', model: 'up-large' }], { timeouts: PATIENT }),
        },
        prices: { 'a/up-small': { input: 0.15, output: 0.6 }, 'a/up-large': { input: 2.5, output: 10 } },
      }),
      // Several shards, so the readers' sums over shards are exercised too.
      gateway: { usageShards: 4 },
    });
  }, 60_000);
  afterAll(async () => h.close());

  it('leaves one record per request, and aggregates equal to the sums of the records', async () => {
    const store = connectStore(h.gateway.storeSocket);
    const repo = new DynamoKeyRepo(store, localTableName(KEYS_TABLE));
    const keys = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const k = newClientKey({ name: `team-${i}` });
        await repo.put(k.record);
        return new OpenAI({ baseURL: h.baseURL, apiKey: k.key, maxRetries: 0 });
      }),
    );
    const ids: string[] = [];
    let next = 0;
    const worker = async (w: number) => {
      for (let i = next++; i < 1000; i = next++) {
        const client = keys[(w + i) % keys.length] as OpenAI;
        const model = i % 2 === 0 ? 'small' : 'large';
        const requestId = `vol-${i}`;
        if (i % 3 === 0) {
          const s = await client.chat.completions.create(
            { model, messages, stream: true },
            { headers: { 'x-request-id': requestId } },
          );
          for await (const _ of s);
        } else {
          await client.chat.completions.create(
            { model, messages },
            { headers: { 'x-request-id': requestId } },
          );
        }
        ids.push(requestId);
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, w) => worker(w)));
    expect(ids).toHaveLength(1000);

    const records = (await ledgerRecords(h.gateway)).filter((r) => r.requestId.startsWith('vol-'));
    expect(records).toHaveLength(1000);
    expect(new Set(records.map((r) => r.requestId)).size).toBe(1000);
    expect(records.every((r) => r.usageSource === 'provider' && r.costUsd !== null)).toBe(true);

    const sums = new Map<
      string,
      { requests: number; inputTokens: number; outputTokens: number; costUsd: number }
    >();
    for (const r of records) {
      const k = `${r.keyId}|${r.provider}|${r.model}`;
      const s = sums.get(k) ?? { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
      sums.set(k, {
        requests: s.requests + 1,
        inputTokens: s.inputTokens + r.inputTokens,
        outputTokens: s.outputTokens + r.outputTokens,
        costUsd: s.costUsd + (r.costUsd ?? 0),
      });
    }
    const aggs = (await h.gateway.ledger.aggregates(today(), today())).filter((a) => a.keyId !== 'master');
    expect(aggs).toHaveLength(sums.size);
    for (const a of aggs) {
      const s = sums.get(`${a.keyId}|${a.provider}|${a.model}`);
      expect(a.requests).toBe(s?.requests);
      expect(a.inputTokens).toBe(s?.inputTokens);
      expect(a.outputTokens).toBe(s?.outputTokens);
      expect(a.costUsd).toBeCloseTo(s?.costUsd ?? -1, 9);
    }
  }, 120_000);
});

describe('the ledger store down', () => {
  let h: Harness<'a'>;
  let dir: string;
  let down = true;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-spool-'));
    h = await startHarness({
      fakes: { a: {} },
      config: (f) => ({
        providers: { a: openaiProvider(f.a.url) },
        routes: { r: route([{ provider: 'a', model: 'up' }]) },
      }),
      gateway: {
        spool: new FileUsageSpool(dir),
        // The real store behind a switch: while `down`, every write fails as an unreachable DynamoDB would.
        ledgerStore: (real): LedgerStore => ({
          write: (rec: UsageRecord) =>
            down ? Promise.reject(new Error('connect ECONNREFUSED')) : real.write(rec),
          writeBatch: (recs: readonly UsageRecord[]) =>
            down
              ? Promise.reject(new Error('connect ECONNREFUSED'))
              : (real.writeBatch?.(recs) ?? Promise.resolve()),
        }),
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves requests, spools their records, and a replay writes each exactly once', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `down-${i}`);
    for (const id of ids) {
      const r = await h.client.chat.completions.create(
        { model: 'r', messages },
        { headers: { 'x-request-id': id } },
      );
      expect(r.choices[0]?.message.content).toBe('echo: count me');
    }
    await h.gateway.background.idle();
    expect(h.gateway.ledgerWriter.stats.spooled).toBe(10);
    const { records, invalid } = spooledRecords(await readFile(join(dir, 'usage-spool.jsonl'), 'utf8'));
    expect(invalid).toEqual([]);
    expect(records.map((r) => r.requestId).sort()).toEqual([...ids].sort());

    down = false;
    const first = await Promise.all(records.map((r) => h.gateway.ledger.write(r)));
    expect(first.every((x) => x === 'written')).toBe(true);
    const again = await Promise.all(records.map((r) => h.gateway.ledger.write(r)));
    expect(again.every((x) => x === 'duplicate')).toBe(true);
    const stored = (await ledgerRecords(h.gateway)).filter((r) => r.requestId.startsWith('down-'));
    expect(stored).toHaveLength(10);
    const agg = (await h.gateway.ledger.aggregates(today(), today())).find((a) => a.model === 'up');
    expect(agg?.requests).toBe(10);
  });
});
