/**
 * Billing adapters: how the reconciler reads one provider's bill (one adapter per `billing.type`, data plus
 * small transforms, like the provider adapters). Two kinds of bill exist in the wild:
 * - `daily`: the provider reports per-day figures (OpenAI's costs API, Anthropic's cost report, OpenRouter's
 *   activity) — the reconciler compares a day of the ledger with that day of the bill;
 * - `snapshot`: the provider only shows a cumulative counter or a balance (one-api/new-api relays,
 *   SiliconFlow, DeepSeek) — the reconciler stores a snapshot per run and compares the ledger between two
 *   snapshots with the difference of the two.
 */
import { redactSecrets } from '../bytes.ts';
import type { BillingType } from '../config/presets.ts';
import type { HttpClient } from '../providers/types.ts';

/** An amount as the provider reports it: its currency is kept (compared in USD through a configured rate). */
export interface Money {
  readonly amount: number;
  /** ISO 4217, upper case: USD, CNY. */
  readonly currency: string;
}

export interface BillingContext {
  readonly http: HttpClient;
  /** `billing.baseUrl` of the provider's config, else the provider's first base URL (no trailing slash). */
  readonly baseUrl: string;
  /** The billing key (admin / management key), else the provider's own API key; undefined: none. */
  readonly key: string | undefined;
  readonly providerId: string;
  /** The provider's whole `billing` config entry (adapter options such as `currency`, `usageUnit`). */
  readonly options: Readonly<Record<string, unknown>>;
  /** Per call: aborted after the call timeout or when the run is cancelled. */
  readonly timeoutMs: number;
  /** Waits (retry-after of a 429); tests pass fake time. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** What a provider's bill says about one UTC day (all fields it does not report are absent). */
export interface DayFigures {
  readonly cost: Money;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly requests?: number;
  /** Per model, where the provider breaks it down (model → figures), for the report's detail. */
  readonly byModel?: Readonly<
    Record<string, { cost?: number; inputTokens?: number; outputTokens?: number; requests?: number }>
  >;
}

/** A cumulative reading of a snapshot-kind bill at one moment (`at`, and its `spent` or `balance`). */
import type { Snapshot } from './report-schema.ts';

export type { Snapshot };

/** One request as the provider itself billed it (OpenRouter's `/generation?id=`), for sampled checks. */
export interface GenerationFigures {
  readonly costUsd: number;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
}

export interface BillingAdapter {
  readonly type: BillingType;
  readonly kind: 'daily' | 'snapshot' | 'none';
  /** Daily kind: the day's figures, or undefined when the provider has no data for that day. */
  day?(ctx: BillingContext, day: string): Promise<DayFigures | undefined>;
  /** Snapshot kind: a reading now. */
  snapshot?(ctx: BillingContext, nowIso: string): Promise<Snapshot>;
  /** The balance left, for the `ProviderBalance` metric and its alarm (undefined: the provider shows none). */
  balance?(ctx: BillingContext): Promise<Money | undefined>;
  /** Per-request truth by the provider's generation id (undefined when the provider does not know it yet). */
  generation?(ctx: BillingContext, upstreamId: string): Promise<GenerationFigures | undefined>;
}

/**
 * A billing API call that failed: the provider's report becomes `provider-error` with this reason. The message
 * often quotes the provider (which may echo a key): it is redacted here, once, for every adapter.
 */
export class BillingApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    cause?: unknown,
  ) {
    super(redactSecrets(message), cause === undefined ? undefined : { cause });
    this.name = 'BillingApiError';
  }
}
