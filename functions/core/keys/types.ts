/**
 * Client keys (`sk-sy-…`) and the shared counters behind their limits. Only the key's SHA-256 is stored; the
 * key itself is printed once at creation. The counters live in DynamoDB (Lambda) or dynalite (local), so
 * every gateway instance sees the same rate window and the same budget.
 */

export type BudgetPeriod = 'day' | 'month' | 'total';

/** A client key's record, as stored (by the hash of the key) and listed. */
export interface ClientKey {
  /** Stable id (`key_…`), shown in lists and the ledger; not secret. */
  readonly id: string;
  readonly name: string;
  /** SHA-256 of the key, hex. */
  readonly hash: string;
  /** Route names this key may use; absent = all. */
  readonly models?: readonly string[];
  /** Requests per minute, across all gateway instances. */
  readonly rpm?: number;
  readonly budgetUsd?: number;
  readonly period?: BudgetPeriod;
  /** ISO time. */
  readonly createdAt: string;
  /** ISO time of the revocation, when revoked. */
  readonly revokedAt?: string;
}

/** The store of client keys. `findByHash` is on the request path (behind a short cache). */
export interface ClientKeyRepo {
  put(key: ClientKey): Promise<void>;
  findByHash(hash: string): Promise<ClientKey | undefined>;
  list(): Promise<ClientKey[]>;
  /** Marks the key revoked; false when no key has that id. */
  revoke(id: string, atIso: string): Promise<boolean>;
}

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

/** A reservation against a key's budget window. */
export interface BudgetHold {
  readonly keyId: string;
  /** `2026-11` (month), `2026-11-24` (day) or `total`. */
  readonly window: string;
  readonly limitUsd: number;
  /** The estimated maximum cost of the request. */
  readonly amountUsd: number;
  /** Unique per request (the ledger's record id). */
  readonly holdId: string;
  /** After this, any reader may release the hold: its request crashed without settling. */
  readonly expiresAtEpochMs: number;
}

/** Shared counters for rate limits and budgets; every method is one or two atomic conditional writes. */
export interface LimitStore {
  /** Counts one request in the key's current minute, unless `rpm` requests are already counted there. */
  takeRate(keyId: string, rpm: number, nowEpochMs: number): Promise<RateDecision>;
  /**
   * Adds the hold to the window's committed amount if committed + amount ≤ limit (atomically); when that
   * fails, releases the window's expired holds and tries once more. False: the budget is exhausted.
   * Idempotent by hold id: sent again (an SDK retry of a write that landed), it adds nothing and says true.
   */
  reserve(hold: BudgetHold, nowEpochMs: number): Promise<boolean>;
  /**
   * Replaces the hold by the actual cost (spent += actual). A hold released by expiry still adds the actual
   * cost to spent and committed (the money was spent). Idempotent by hold id: settling again adds nothing.
   */
  settle(hold: BudgetHold, actualUsd: number): Promise<void>;
  /** Spent and committed USD of a window (for `keys list`). */
  spent(keyId: string, window: string): Promise<{ spentUsd: number; committedUsd: number }>;
}
