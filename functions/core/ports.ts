/**
 * The ports the core depends on. Hosts (functions/local, functions/aws) build the adapters; tests use the
 * same adapters against loopback servers and dynalite.
 */

import type { GatewayConfig } from './config/schema.ts';
import type { EndpointId } from './endpoints/types.ts';
import type { BudgetPeriod } from './keys/types.ts';
import type { HealthEvent } from './routing/health.ts';

/** Reads the routing config (providers, routes, prices). Wrap it in {@link CachedRouteStore} on the hot path. */
export interface RouteStore {
  load(): Promise<GatewayConfig>;
}

export interface Principal {
  /** Stable id of the client key (never the key itself). */
  readonly keyId: string;
  /** Route names this key may use; undefined = all. */
  readonly allowedModels?: ReadonlySet<string>;
  /** Requests per minute across all instances; undefined = no limit. */
  readonly rpm?: number;
  /** Spending limit per window; undefined = none. */
  readonly budget?: { readonly usd: number; readonly period: BudgetPeriod };
  /** The key's limit shards (functions/core/keys/types.ts `ClientKey.limitShards`); 1 when absent. */
  readonly limitShards?: number;
  /** May use the admin API (`/admin/v1/…`): the master key, and client keys made with `--admin`. */
  readonly admin?: boolean;
}

/** Turns a bearer token into a principal, or undefined when the key is unknown. */
export interface KeyStore {
  authenticate(bearer: string): Promise<Principal | undefined>;
}

/** Provider API keys by provider id. A provider may have several keys: the core uses them round-robin. */
export interface ProviderKeySource {
  keys(providerId: string): Promise<readonly string[]>;
}

export interface Clock {
  /** Milliseconds, monotonic enough for durations (performance.now()-like or Date.now()). */
  now(): number;
  /** Wall-clock epoch milliseconds, for timestamps. */
  epochMs(): number;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export interface Logger {
  log(level: LogLevel, message: string, fields: Record<string, unknown>): void;
}

/** One summary per request; Lambda turns it into EMF through powertools, locally it is aggregated in memory. */
export interface Metrics {
  record(summary: RequestSummary): void;
  /** A target's breaker opened or closed (functions/core/routing/health.ts). */
  breaker?(event: HealthEvent): void;
}

export interface AttemptRecord {
  readonly provider: string;
  readonly model: string;
  /** Host of the base URL that was used (no path, no key). */
  readonly host: string;
  readonly outcome: string;
  readonly status?: number;
  readonly ms: number;
  /** A failed attempt: the upstream's own text, secrets masked and cut short (the log line only). */
  readonly error?: string;
}

export interface RequestSummary {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  /** The client API of the request; absent for the gateway's own paths (health, models) and unknown ones. */
  readonly endpoint?: EndpointId;
  readonly keyId?: string;
  readonly route?: string;
  readonly provider?: string;
  readonly model?: string;
  readonly status: number;
  readonly errorCode?: string;
  readonly stream: boolean;
  readonly latencyMs: number;
  readonly ttftMs?: number;
  readonly upstreamMs?: number;
  readonly overheadMs?: number;
  readonly attempts: number;
  readonly retries: number;
  readonly fallbacks: number;
  /** Served by the route's last target: every other one failed or was skipped for its health. */
  readonly lastTarget?: boolean;
  readonly attemptLog: readonly AttemptRecord[];
  /** Request fields a provider had no equivalent for and dropped (`<provider>: <field> dropped: …`). */
  readonly warnings?: readonly string[];
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  /** Input tokens read from the provider's prompt cache; present only when there were some. */
  readonly cachedInputTokens?: number;
  /** Input tokens written into the provider's prompt cache; present only when there were some. */
  readonly cacheWriteTokens?: number;
  /** USD of the request when priced. */
  readonly costUsd?: number;
  /** The request has usage but no price is configured for its provider/model. */
  readonly unpriced?: boolean;
  /** A stream that failed mid-answer: the upstream's own text, secrets masked and cut short (log only). */
  readonly upstreamError?: string;
  /** The upstream reported usage that cannot be true (the ledger record is flagged). */
  readonly implausibleUsage?: boolean;
}
