/**
 * Budget settlements that outlast a limit store's bad minute. A settlement is what moves a request's cost
 * into the window's `spent`; dropping one would let its hold expire and the money vanish from the budget.
 * So each is tried like a ledger write (4 tries, 0.1 s doubling backoff, on the injected sleep), and one the
 * store still refuses is logged with everything needed to settle it by hand and kept in memory, to be made
 * after the next settlement that succeeds. `LimitStore.settle` is idempotent by hold id, so trying again
 * after a failure that landed after all never counts the cost twice. What is kept in memory dies with the
 * process (a Lambda instance that is recycled): the error log line is then the operator's record.
 */
import type { Logger, Sleep } from '../ports.ts';
import type { BudgetHold, LimitStore } from './types.ts';

export interface BudgetSettlerOptions {
  readonly limits: LimitStore;
  readonly sleep: Sleep;
  readonly logger: Logger;
  /** Tries per settlement (first included). Default 4: 0.1 + 0.2 + 0.4 s of backoff, then kept. */
  readonly attempts?: number;
  readonly initialBackoffMs?: number;
  /** Settlements kept for later beyond this are only logged (bounded memory while the store is down). */
  readonly maxPending?: number;
}

interface Settlement {
  readonly hold: BudgetHold;
  readonly actualUsd: number;
  readonly requestId: string;
}

export class BudgetSettler {
  private readonly pending = new Map<string, Settlement>();
  private draining = false;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly maxPending: number;

  constructor(private readonly o: BudgetSettlerOptions) {
    this.attempts = Math.max(1, o.attempts ?? 4);
    this.backoffMs = o.initialBackoffMs ?? 100;
    this.maxPending = o.maxPending ?? 1_000;
  }

  /** Settlements still waiting for the store. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Settles the hold at its actual cost; never rejects. Run it in the background, not on the request path. */
  async settle(hold: BudgetHold, actualUsd: number, requestId: string): Promise<void> {
    const s: Settlement = { hold, actualUsd, requestId };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.o.limits.settle(hold, actualUsd);
        break;
      } catch (err) {
        if (attempt >= this.attempts) {
          this.keep(s, err);
          return;
        }
        await this.o.sleep(this.backoffMs * 2 ** (attempt - 1));
      }
    }
    await this.drain();
  }

  private keep(s: Settlement, err: unknown): void {
    const kept = this.pending.size < this.maxPending;
    if (kept) this.pending.set(s.hold.holdId, s);
    this.o.logger.log(
      'error',
      kept
        ? 'budget settlement failed: kept, made after the next settlement that succeeds'
        : 'budget settlement failed: not kept (too many waiting), settle it by hand',
      fieldsOf(s, err),
    );
  }

  /** The store answers again: make the kept settlements, one at a time, until one fails. */
  private async drain(): Promise<void> {
    if (this.draining || this.pending.size === 0) return;
    this.draining = true;
    try {
      for (const [id, s] of [...this.pending]) {
        try {
          await this.o.limits.settle(s.hold, s.actualUsd);
        } catch {
          return;
        }
        this.pending.delete(id);
        this.o.logger.log('info', 'budget settlement made late', fieldsOf(s, undefined));
      }
    } finally {
      this.draining = false;
    }
  }
}

/** What an operator needs to settle by hand: the window's item and the amounts. */
function fieldsOf(s: Settlement, err: unknown): Record<string, unknown> {
  return {
    requestId: s.requestId,
    keyId: s.hold.keyId,
    window: s.hold.window,
    holdId: s.hold.holdId,
    reservedUsd: s.hold.amountUsd,
    actualUsd: s.actualUsd,
    ...(err === undefined ? {} : { error: err instanceof Error ? err.message : String(err) }),
  };
}
