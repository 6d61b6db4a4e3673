/** The ledger writer: background writes, retries with backoff, the spool when the store stays down. */
import { describe, expect, it } from 'vitest';
import { Background } from '../../../functions/core/background.ts';
import type { Logger } from '../../../functions/core/ports.ts';
import { LedgerWriter } from '../../../functions/core/usage/ledger-writer.ts';
import type { LedgerStore, UsageRecord, UsageSpool } from '../../../functions/core/usage/types.ts';

function record(i: number): UsageRecord {
  return {
    requestId: `req-${i}`,
    recordId: `rec-${i}`,
    time: '2026-11-24T10:00:00.000Z',
    keyId: 'key_1',
    endpoint: 'chat',
    route: 'r',
    provider: 'p',
    model: 'm',
    status: 200,
    errorCode: null,
    inputTokens: 10,
    outputTokens: 5,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    costUsd: 0.001,
    priceVersion: 'v1',
    latencyMs: 12,
    ttftMs: null,
    attempts: 1,
    stream: false,
    usageSource: 'provider',
    upstreamId: 'chatcmpl-1',
  };
}

class FlakyStore implements LedgerStore {
  readonly written = new Map<string, UsageRecord>();
  failuresLeft: number;
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  constructor(failures = 0) {
    this.failuresLeft = failures;
  }
  async write(r: UsageRecord): Promise<'written' | 'duplicate'> {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((res) => setImmediate(res));
    this.inFlight--;
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('ProvisionedThroughputExceededException');
    }
    if (this.written.has(r.recordId)) return 'duplicate';
    this.written.set(r.recordId, r);
    return 'written';
  }
}

class ListSpool implements UsageSpool {
  readonly records: UsageRecord[] = [];
  spool(r: UsageRecord) {
    this.records.push(r);
  }
}

const logs: string[] = [];
const logger: Logger = { log: (_l, m) => logs.push(m) };

function writer(
  store: LedgerStore,
  opts: { concurrency?: number; maxQueued?: number; batch?: boolean } = {},
) {
  const background = new Background();
  const sleeps: number[] = [];
  const spool = new ListSpool();
  const w = new LedgerWriter({
    store,
    spool,
    background,
    logger,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...opts,
  });
  return { w, background, spool, sleeps };
}

describe('LedgerWriter', () => {
  it('writes every record in the background, at most `concurrency` at once', async () => {
    const store = new FlakyStore();
    const { w, background } = writer(store, { concurrency: 4 });
    for (let i = 0; i < 50; i++) w.record(record(i));
    expect(background.size).toBeGreaterThan(0);
    await background.idle();
    expect(store.written.size).toBe(50);
    expect(store.maxInFlight).toBeLessThanOrEqual(4);
    expect(w.stats).toMatchObject({ written: 50, spooled: 0 });
  });

  it('retries a failed write with doubling backoff, then succeeds', async () => {
    const store = new FlakyStore(2);
    const { w, background, sleeps, spool } = writer(store);
    w.record(record(1));
    await background.idle();
    expect(store.written.has('rec-1')).toBe(true);
    expect(sleeps).toEqual([100, 200]);
    expect(spool.records).toHaveLength(0);
    expect(w.stats.retried).toBe(2);
  });

  it('spools the record when the store stays down, and logs it without losing it', async () => {
    const store = new FlakyStore(100);
    const { w, background, spool } = writer(store);
    w.record(record(7));
    await background.idle();
    expect(store.written.size).toBe(0);
    expect(spool.records.map((r) => r.recordId)).toEqual(['rec-7']);
    expect(logs.some((m) => m.includes('spooled'))).toBe(true);
  });

  it('spools at once what does not fit the queue, instead of growing without bound', async () => {
    const store = new FlakyStore();
    const { w, background, spool } = writer(store, { concurrency: 1, maxQueued: 2 });
    for (let i = 0; i < 5; i++) w.record(record(i));
    await background.idle();
    expect(store.written.size + spool.records.length).toBe(5);
    expect(spool.records).toHaveLength(2);
  });
});

/** A store with batches: records each batch's size; fails the first `batchFailures` batches. */
class BatchingStore extends FlakyStore {
  readonly batches: number[] = [];
  batchFailures: number;
  constructor(batchFailures = 0) {
    super();
    this.batchFailures = batchFailures;
  }
  async writeBatch(records: readonly UsageRecord[]): Promise<void> {
    await new Promise((res) => setImmediate(res));
    if (this.batchFailures > 0) {
      this.batchFailures--;
      // Half the batch landed before the failure.
      for (const r of records.slice(0, Math.floor(records.length / 2))) this.written.set(r.recordId, r);
      throw new Error('batch failed');
    }
    this.batches.push(records.length);
    for (const r of records) this.written.set(r.recordId, r);
  }
}

describe('LedgerWriter with a batching store', () => {
  it('writes full batches of 100 at once and lets the rest wait for company up to the flush delay', async () => {
    const store = new BatchingStore();
    const { w, background } = writer(store, { concurrency: 1 });
    const t0 = performance.now();
    for (let i = 0; i < 250; i++) w.record(record(i));
    await background.idle();
    expect(store.written.size).toBe(250);
    expect(store.batches).toEqual([100, 100, 50]);
    expect(w.stats.written).toBe(250);
    // The last 50 waited for the 100 ms flush delay.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
  });

  it('writes a lone record after the flush delay, not before', async () => {
    const store = new BatchingStore();
    const { w, background } = writer(store);
    w.record(record(1));
    await new Promise((r) => setTimeout(r, 30));
    expect(store.written.size).toBe(0);
    await background.idle();
    expect(store.batches).toEqual([1]);
  });

  it('writes a failed batch again, with backoff, before anything else', async () => {
    const store = new BatchingStore(1);
    const { w, background, sleeps } = writer(store, { concurrency: 1 });
    for (let i = 0; i < 10; i++) w.record(record(i));
    await background.idle();
    expect(store.batches).toEqual([10]);
    expect(sleeps).toEqual([100]);
    expect(store.calls).toBe(0);
    expect(w.stats).toMatchObject({ written: 10, retried: 1, spooled: 0 });
  });

  it('falls back to conditional one-by-one writes when a batch keeps failing, writing nothing twice', async () => {
    const store = new BatchingStore(4);
    const { w, background, sleeps } = writer(store, { concurrency: 1 });
    for (let i = 0; i < 10; i++) w.record(record(i));
    await background.idle();
    expect(sleeps).toEqual([100, 200, 400]);
    expect(store.batches).toEqual([]);
    expect(store.written.size).toBe(10);
    expect(w.stats.written + w.stats.duplicates).toBe(10);
    expect(w.stats.spooled).toBe(0);
  });

  it('writes each record at once, one by one, when batching is off (Lambda: nothing waits)', async () => {
    const store = new BatchingStore();
    const { w, background } = writer(store, { batch: false });
    w.record(record(1));
    w.record(record(2));
    await new Promise((r) => setTimeout(r, 30));
    expect(store.written.size).toBe(2);
    await background.idle();
    expect(store.batches).toEqual([]);
    expect(store.calls).toBe(2);
  });
});

describe('Background', () => {
  it('waits for tasks added while it waits', async () => {
    const b = new Background();
    const done: number[] = [];
    b.add(
      (async () => {
        await new Promise((r) => setTimeout(r, 5));
        done.push(1);
        b.add(
          (async () => {
            await new Promise((r) => setTimeout(r, 5));
            done.push(2);
          })(),
        );
      })(),
    );
    await b.idle();
    expect(done).toEqual([1, 2]);
  });

  it('does not reject when a task fails', async () => {
    const b = new Background();
    b.add(Promise.reject(new Error('x')));
    await expect(b.idle()).resolves.toBeUndefined();
  });
});

describe('LedgerWriter.spoolPending (a host stopping while the store hangs)', () => {
  it('spools every record queued or being written, so none is lost with the process', async () => {
    const hanging: LedgerStore = { write: () => new Promise<never>(() => undefined) };
    const { w, spool } = writer(hanging, { concurrency: 1, batch: false });
    for (const i of [1, 2, 3]) w.record(record(i));
    await new Promise((r) => setImmediate(r));
    expect(w.spoolPending('the store did not take it before shutdown')).toBe(3);
    expect(spool.records.map((r) => r.recordId).sort()).toEqual(['rec-1', 'rec-2', 'rec-3']);
    expect(w.spoolPending('again')).toBe(0);
  });
});
