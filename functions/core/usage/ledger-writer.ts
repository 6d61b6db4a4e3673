/**
 * The usage sink of the gateway: each record is written to the ledger in the background with retries and
 * backoff; a record the store still refuses after the last retry goes to the spool (a local file, or a log
 * line on Lambda) for `switchyard usage replay`. Requests never wait for the ledger, and never fail with it.
 *
 * With a store that writes batches (the local server), records wait up to `flushDelayMs` to form batches of
 * up to 100: a busy server makes about six store calls per 100 requests instead of four per request, and
 * the writes stay out of the way of the requests that follow. Lambda (one request per instance) turns that
 * off (`batch: false`) and writes each record at once: its invocation waits for the write, and a flush
 * delay there would only add billed time.
 */
import type { Background } from '../background.ts';
import type { Logger, Sleep } from '../ports.ts';
import type { LedgerStore, UsageRecord, UsageSink, UsageSpool } from './types.ts';

/** Records per `writeBatch`: the store splits them into 25-item calls; fewer, larger flushes cost less. */
const BATCH_SIZE = 100;

export interface LedgerWriterOptions {
  readonly store: LedgerStore;
  readonly spool: UsageSpool;
  readonly background: Background;
  readonly sleep: Sleep;
  readonly logger: Logger;
  /** Tries per record (first included). Default 4: 0.1 + 0.2 + 0.4 s of backoff, then the spool. */
  readonly attempts?: number;
  readonly initialBackoffMs?: number;
  /** Writes at once; more records wait their turn (a store that slows down is not flooded). Default 16. */
  readonly concurrency?: number;
  /** Records waiting beyond this go straight to the spool (bounded memory while the store is down). */
  readonly maxQueued?: number;
  /**
   * Whether to write batches (`store.writeBatch`) rather than one record per write. Default: whenever the
   * store can. Lambda sets false: one request per instance, so a batch would be one record, late.
   */
  readonly batch?: boolean;
  /** Batching only: how long a record may wait for others to share its batch. Default 100 ms. */
  readonly flushDelayMs?: number;
}

export class LedgerWriter implements UsageSink {
  private readonly queue: UsageRecord[] = [];
  /** Records whose write has started and not ended (spooled by {@link spoolPending} too). */
  private readonly writing = new Set<UsageRecord>();
  private running = 0;
  private timer: { handle: ReturnType<typeof setTimeout>; done: () => void } | undefined;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private readonly flushDelayMs: number;
  private readonly batching: boolean;
  /** Counters for tests and the bench. */
  readonly stats = { written: 0, duplicates: 0, retried: 0, spooled: 0 };

  constructor(private readonly o: LedgerWriterOptions) {
    this.attempts = Math.max(1, o.attempts ?? 4);
    this.backoffMs = o.initialBackoffMs ?? 100;
    this.concurrency = Math.max(1, o.concurrency ?? 16);
    this.maxQueued = o.maxQueued ?? 10_000;
    this.flushDelayMs = o.flushDelayMs ?? 100;
    this.batching = o.batch !== false && o.store.writeBatch !== undefined;
  }

  record(record: UsageRecord): void {
    if (this.queue.length >= this.maxQueued) {
      this.spool(record, new Error('ledger queue full'));
      return;
    }
    this.queue.push(record);
    this.schedule();
  }

  private schedule(): void {
    if (this.running >= this.concurrency || this.queue.length === 0) return;
    if (!this.batching || this.queue.length >= BATCH_SIZE) {
      this.start();
      return;
    }
    if (this.timer !== undefined) return;
    this.o.background.add(
      new Promise<void>((done) => {
        const handle = setTimeout(() => {
          this.timer = undefined;
          if (this.running < this.concurrency && this.queue.length > 0) this.start();
          done();
        }, this.flushDelayMs);
        this.timer = { handle, done };
      }),
    );
  }

  private start(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer.handle);
      this.timer.done();
      this.timer = undefined;
    }
    this.running++;
    this.o.background.add(this.run());
  }

  private async run(): Promise<void> {
    try {
      for (;;) {
        const batch = this.queue.splice(0, this.batching ? BATCH_SIZE : 1);
        if (batch.length === 0) return;
        for (const r of batch) this.writing.add(r);
        try {
          if (this.batching) await this.writeMany(batch);
          else await this.write(batch[0] as UsageRecord);
        } finally {
          for (const r of batch) this.writing.delete(r);
        }
        // A partial batch waits for company again, unless records are piling up.
        if (this.batching && this.queue.length < BATCH_SIZE) return;
      }
    } finally {
      this.running--;
      this.schedule();
    }
  }

  /**
   * The batch, tried like a record (the store finishes a batch written again without adding twice), then
   * one record at a time: a record the store keeps refusing is then spooled alone, not its whole batch.
   */
  private async writeMany(batch: UsageRecord[]): Promise<void> {
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        await this.o.store.writeBatch?.(batch);
        this.stats.written += batch.length;
        return;
      } catch {
        if (attempt === this.attempts) break;
        this.stats.retried++;
        await this.o.sleep(this.backoffMs * 2 ** (attempt - 1));
      }
    }
    // One by one, with conditions: whatever part of the batch landed is not written twice.
    for (const r of batch) await this.write(r);
  }

  private async write(record: UsageRecord): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.o.store.write(record);
        if (r === 'written') this.stats.written++;
        else this.stats.duplicates++;
        return;
      } catch (err) {
        if (attempt >= this.attempts) {
          this.spool(record, err);
          return;
        }
        this.stats.retried++;
        await this.o.sleep(this.backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  /**
   * For a host that must stop while the store still has not taken some records (it hangs): every record
   * queued or being written goes to the spool now, so none is lost with the process. Spooling one whose write
   * lands after all is harmless: `usage replay` skips a record the ledger has. Returns how many.
   */
  spoolPending(reason: string): number {
    const pending = [...this.writing, ...this.queue.splice(0)];
    this.writing.clear();
    for (const r of pending) this.spool(r, new Error(reason));
    return pending.length;
  }

  private spool(record: UsageRecord, err: unknown): void {
    this.stats.spooled++;
    this.o.logger.log('error', 'usage ledger write failed: record spooled for replay', {
      requestId: record.requestId,
      recordId: record.recordId,
      error: err instanceof Error ? err.message : String(err),
    });
    try {
      this.o.spool.spool(record, err);
    } catch (spoolErr) {
      // The last resort failed too: the log line above and this one still carry the request id.
      this.o.logger.log('error', 'usage spool failed', {
        requestId: record.requestId,
        record,
        error: spoolErr instanceof Error ? spoolErr.message : String(spoolErr),
      });
    }
  }
}
