/**
 * The usage ledger's record and ports. Field names are public: `usage --json --requests` prints them as is.
 */
import type { EndpointId } from '../endpoints/types.ts';
import type { Reservation } from '../keys/types.ts';

export type UsageSource = 'provider' | 'estimated' | 'none';

/** One record per request that passed authentication (health and model listings are not recorded). */
export interface UsageRecord {
  /** The request id (the client's `x-request-id` when it sent one). */
  readonly requestId: string;
  /** Unique per request even when a client reuses its request id (uuid v7). The ledger's sort key. */
  readonly recordId: string;
  /** ISO time the request arrived. */
  readonly time: string;
  readonly keyId: string;
  /**
   * The client API the request came in on (chat, embeddings, responses, messages). Records written before the
   * field existed read as `chat`: every request that was recorded then was a chat or embeddings one, and the
   * ledger could not tell them apart.
   */
  readonly endpoint: EndpointId;
  /** The model name the client sent (the route), when the body had one. */
  readonly route: string | null;
  readonly provider: string | null;
  /** The upstream model of the target that answered (or was tried last). */
  readonly model: string | null;
  readonly status: number;
  readonly errorCode: string | null;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Input tokens read from the provider's prompt cache (part of inputTokens). */
  readonly cachedInputTokens: number;
  /**
   * Input tokens written into the provider's prompt cache (part of inputTokens; Anthropic's
   * `cache_creation_input_tokens`, Bedrock's `cacheWriteInputTokens`); 0 when none, and in records written
   * before the field existed.
   */
  readonly cacheWriteTokens: number;
  readonly reasoningTokens: number;
  /** USD; null when no price is configured for provider/model (never priced at 0). */
  readonly costUsd: number | null;
  readonly priceVersion: string | null;
  readonly latencyMs: number;
  readonly ttftMs: number | null;
  readonly attempts: number;
  readonly stream: boolean;
  readonly usageSource: UsageSource;
  /** The provider's generation id (`id` of the completion), for per-request billing checks. */
  readonly upstreamId: string | null;
  /**
   * Present only when the upstream reported usage that cannot be true (functions/core/usage/usage-check.ts):
   * why. The token fields keep the report; `costUsd` is then the cost at the request's bounds. Absent in
   * records written before the check existed.
   */
  readonly implausible?: string;
  /**
   * The budget reservation the request made, when its key has a budget: the ledger's fold settles it from the
   * record (functions/aws/stores/limit-items.ts). Absent otherwise, and in records from before the fold.
   */
  readonly reservation?: Reservation;
  /**
   * Present only when the request tried more than one attempt or passed over a target: its retries, its
   * fallbacks and each step in order (the log line's attempt log without hosts and upstream text), for the
   * console's request detail. Absent for a request served at its first try (most), so those records stay as
   * small as before.
   */
  readonly tried?: Tried;
}

/** A request's way through its route's targets (UsageRecord.tried). */
export interface Tried {
  readonly retries: number;
  readonly fallbacks: number;
  /** At most {@link MAX_TRIED_STEPS}: the first ones and the last. */
  readonly steps: readonly TriedStep[];
}

export interface TriedStep {
  readonly provider: string;
  readonly model: string;
  /** `ok`, a failure kind (`timeout`, `server_error`, …), `skipped` (its breaker was open) or `unsupported`. */
  readonly outcome: string;
  readonly status?: number;
  readonly ms: number;
}

/** The most steps a record keeps (a route's targets × their retries is bounded by the config anyway). */
export const MAX_TRIED_STEPS = 32;

/** Where the core hands each finished request's record. Never awaited on the request path. */
export interface UsageSink {
  record(record: UsageRecord): void;
}

/** The durable ledger (DynamoDB / dynalite). */
export interface LedgerStore {
  /**
   * Writes the record once (conditional put), then adds it into its day's aggregate (atomic ADD) and marks
   * it aggregated. Writing a record that is already there does nothing but finish a missing aggregation, so
   * a retry or a replay — after any failed call, or a crash — counts it once. Throws when the store fails;
   * the caller retries or spools.
   */
  write(record: UsageRecord): Promise<'written' | 'duplicate'>;
  /**
   * Writes fresh records (record ids never written before) in batches and adds them to their aggregates,
   * pre-summed: a handful of calls instead of four per record, for a busy local server. Its puts are not
   * conditional, so it is never used for a replay; after it threw, calling it again with the same records,
   * or `write` on each, finishes the batch without counting a record twice. Throws when the store fails.
   */
  writeBatch?(records: readonly UsageRecord[]): Promise<void>;
}

/** Records the ledger could not take, kept for `switchyard usage replay`. */
export interface UsageSpool {
  spool(record: UsageRecord, error: unknown): void;
}

/** Per-day totals by key, provider and model (the shards already summed). */
export interface UsageAggregate {
  readonly day: string;
  readonly keyId: string;
  readonly provider: string;
  readonly model: string;
  readonly requests: number;
  readonly errors: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedInputTokens: number;
  /** Prompt-cache writes; absent where a reader sums none (aggregates written before it read as 0). */
  readonly cacheWriteTokens?: number;
  readonly reasoningTokens: number;
  /** Sum over priced requests. */
  readonly costUsd: number;
  readonly unpricedRequests: number;
  readonly estimatedRequests: number;
  /** Requests whose reported usage was implausible (flagged records); absent where a reader sums none. */
  readonly implausibleRequests?: number;
  /** The part of the tokens and cost that was estimated (no usage from the upstream); 0 in older aggregates. */
  readonly estimatedInputTokens?: number;
  readonly estimatedOutputTokens?: number;
  readonly estimatedCostUsd?: number;
  /** The price versions its priced records were charged at; absent when none (or in older aggregates). */
  readonly priceVersions?: readonly string[];
}

/** Reads the ledger back (CLI, reconciler). Days are UTC `YYYY-MM-DD`, inclusive. */
export interface UsageReader {
  aggregates(fromDay: string, toDay: string): Promise<UsageAggregate[]>;
  /** Request records with `time` in [sinceIso, untilIso), oldest first. */
  records(sinceIso: string, untilIso: string): Promise<UsageRecord[]>;
  /** Every record in [sinceIso, untilIso), a page at a time, in no particular order: nothing held. */
  eachRecord(sinceIso: string, untilIso: string, visit: (r: UsageRecord) => void): Promise<void>;
  /** The records of one request (one, or more when it was recorded again: a replay). */
  recordsOf(requestId: string): Promise<UsageRecord[]>;
  /** The oldest `n` records in [sinceIso, untilIso) that `match`, reading only as far as needed. */
  firstRecords(
    sinceIso: string,
    untilIso: string,
    n: number,
    match: (r: UsageRecord) => boolean,
  ): Promise<UsageRecord[]>;
}

/** Counts tokens of text the way the provider's tokenizer would (an estimate across model families). */
export interface TokenCounter {
  count(text: string): number;
}

/** Aggregate shards per day unless `SWITCHYARD_USAGE_SHARDS` says otherwise; raise it, never lower it. */
export const DEFAULT_USAGE_SHARDS = 16;
/** Days a request record is kept (DynamoDB TTL); aggregates are kept. */
export const DEFAULT_USAGE_RETENTION_DAYS = 90;
