/**
 * The usage sink of the gateway: each record is written to the ledger in the background with retries and
 * backoff; a record the store still refuses after the last retry goes to the spool (a local file, or a log
 * line on Lambda) for `switchyard usage replay`. Requests never wait for the ledger, and never fail with it.
 */
import type { Background } from '../background.ts';
import type { Logger, Sleep } from '../ports.ts';
import type { LedgerStore, UsageRecord, UsageSink, UsageSpool } from './types.ts';

/** DynamoDB's BatchWriteItem limit. */
const BATCH_SIZE = 25;

export interface LedgerWriterOptions {
  readonly store: LedgerStore;
  readonly spool: UsageSpool;
  readonly background: Background;
  readonly sleep: Sleep;
  readonly logger: Logger;
  /** Tries per record (first included). Default 4: 0.1 + 0.2 + 0.4 s of backoff, then the spool. */
  readonly attempts?: number;
  readonly initialBackoffMs?: number;
  /** Records written at once; more wait their turn (a store that slows down is not flooded). Default 16. */
  readonly concurrency?: number;
  /** Records waiting beyond this go straight to the spool (bounded memory while the store is down). */
  readonly maxQueued?: number;
}

export class LedgerWriter implements UsageSink {
  private readonly queue: UsageRecord[] = [];
  private running = 0;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly concurrency: number;
  private readonly maxQueued: number;
  /** Counters for tests and the bench. */
  readonly stats = { written: 0, duplicates: 0, retried: 0, spooled: 0 };

  constructor(private readonly o: LedgerWriterOptions) {
    this.attempts = Math.max(1, o.attempts ?? 4);
    this.backoffMs = o.initialBackoffMs ?? 100;
    this.concurrency = Math.max(1, o.concurrency ?? 16);
    this.maxQueued = o.maxQueued ?? 10_000;
  }

  record(record: UsageRecord): void {
    if (this.running < this.concurrency) {
      this.running++;
      this.o.background.add(this.run(record));
    } else if (this.queue.length < this.maxQueued) {
      this.queue.push(record);
    } else {
      this.spool(record, new Error('ledger queue full'));
    }
  }

  private async run(first: UsageRecord): Promise<void> {
    try {
      if (this.o.store.writeBatch === undefined) {
        for (let r: UsageRecord | undefined = first; r !== undefined; r = this.queue.shift()) {
          await this.write(r);
        }
        return;
      }
      // Batches form by themselves under load: what queued while one batch was written is the next batch.
      for (let batch = [first]; batch.length > 0; batch = this.queue.splice(0, BATCH_SIZE)) {
        await this.writeMany(batch);
      }
    } finally {
      this.running--;
    }
  }

  private async writeMany(batch: UsageRecord[]): Promise<void> {
    const writeBatch = this.o.store.writeBatch?.bind(this.o.store);
    if (writeBatch !== undefined) {
      try {
        await writeBatch(batch);
        this.stats.written += batch.length;
        return;
      } catch {
        // One by one, with conditions: whatever part of the batch landed is not written twice.
      }
    }
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
