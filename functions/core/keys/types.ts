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
  /**
   * Limit shards (default 1): the rpm and budget are split over this many items, so one key takes this many
   * times DynamoDB's per-item write rate. Fixed when the key is created.
   */
  readonly limitShards?: number;
  /** The team the key's spend is billed to in statements (`keys create --team`, `keys edit --team`). */
  readonly team?: string;
  /** May use the admin API under `/admin/v1` (`keys create --admin`), as the master key does. */
  readonly admin?: boolean;
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
  /**
   * Sets (a value) or removes (null) each field `changes` names, in one conditional write; removing the budget
   * removes its period too. False when no key has that id.
   */
  edit(id: string, changes: KeyChanges): Promise<boolean>;
}

/**
 * What may change on a key once created (`keys edit`, `PATCH /admin/v1/keys/{id}`): a value sets the field,
 * null removes it, absent (or undefined, as a parsed body has it) leaves it. The limit shards and the admin
 * scope stay as they were made.
 */
export interface KeyChanges {
  readonly team?: string | null | undefined;
  readonly models?: readonly string[] | null | undefined;
  readonly rpm?: number | null | undefined;
  readonly budgetUsd?: number | null | undefined;
  readonly period?: BudgetPeriod | null | undefined;
}

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

/**
 * Where a request's budget reservation sits, carried by its ledger record: the ledger's fold settles it from
 * there (functions/aws/stores/limit-items.ts), so the request itself makes no settlement call.
 */
export interface Reservation {
  /** The key's limit shard the reservation was made on. */
  readonly shard: number;
  /** The budget window: `2026-11` (month), `2026-11-24` (day) or `total`. */
  readonly window: string;
  /** Epoch minute of the request's expiry (arrival + route total timeout + grace): its bucket of open money. */
  readonly bucket: number;
  /** The amount reserved: the most the request can cost. */
  readonly usd: number;
}

/** One request's admission: its rate token and/or budget reservation, in one conditional write. */
export interface Admission {
  readonly keyId: string;
  /** The key's limit shards (1 unless the key was created with more); each takes 1/shards of rpm and budget. */
  readonly shards: number;
  /** Unique per request (the ledger's record id): picks the request's shard. */
  readonly requestKey: string;
  readonly nowEpochMs: number;
  readonly rpm?: number;
  readonly budget?: {
    readonly window: string;
    readonly limitUsd: number;
    /** The most the request can cost. */
    readonly amountUsd: number;
    /** After this, the request is over whatever happened to it. */
    readonly expiresAtEpochMs: number;
  };
}

export type AdmitDecision =
  | { readonly ok: true; readonly reservation?: Reservation }
  | { readonly ok: false; readonly reason: 'rate'; readonly retryAfterMs: number }
  | { readonly ok: false; readonly reason: 'budget'; readonly window: string };

/** Shared counters for rate limits and budgets. */
export interface LimitStore {
  /**
   * Counts the request in its minute and reserves its budget amount, both or neither, on one of the key's
   * limit shards (one conditional write; a refused request tries one other shard when the key has several).
   * A budget refusal takes no rate token. A store that fails throws: the caller decides (fails open).
   */
  admit(a: Admission): Promise<AdmitDecision>;
  /** Spent and committed USD of a window, over the key's shards (for `keys list`). */
  spent(keyId: string, window: string, shards: number): Promise<{ spentUsd: number; committedUsd: number }>;
}
