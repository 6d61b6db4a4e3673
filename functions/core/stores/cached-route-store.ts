/**
 * Keeps the routing config in memory so the request path does no I/O, while a route change is picked up by
 * every request that starts a TTL after it (README: "within 5 s" locally).
 *
 * - A config's age counts from when its read started: what that read saw is at least that recent.
 * - Past {@link REFRESH_AHEAD} of the TTL, a request still gets the cached config at once and starts one
 *   re-read in the background, so a busy gateway rarely has a request wait.
 * - A request that finds the config older than the TTL waits for the re-read (one read, shared by every
 *   request that waits): serving it the old config would break the guarantee above.
 * - A failed re-read keeps the last good config (logged). While reads fail, requests get that config at
 *   once and a re-read is tried in the background at most once per {@link RETRY_MS} (or TTL, if shorter):
 *   a store that is down must not add its timeouts to every request.
 */
import type { GatewayConfig } from '../config/schema.ts';
import type { Clock, Logger, RouteStore } from '../ports.ts';

/** Share of the TTL after which a request starts a background re-read. */
export const REFRESH_AHEAD = 0.8;
/** While re-reads fail: how often one is tried again, at most. */
export const RETRY_MS = 1_000;

export class CachedRouteStore implements RouteStore {
  private value: GatewayConfig | undefined;
  /** Clock time the read behind `value` started. */
  private readAt = 0;
  private inflight: Promise<GatewayConfig> | undefined;
  /** Clock time of the last failed re-read, while reads fail; undefined once one succeeds. */
  private failedAt: number | undefined;

  constructor(
    private readonly inner: RouteStore,
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly logger?: Logger,
  ) {}

  load(): Promise<GatewayConfig> {
    const value = this.value;
    // No good config yet: every request waits for the read, and a failure is the request's failure.
    if (value === undefined) return this.refresh();
    const now = this.clock.now();
    const age = now - this.readAt;
    if (this.failedAt !== undefined) {
      if (now - this.failedAt >= Math.min(RETRY_MS, this.ttlMs)) this.refreshInBackground(value);
      return Promise.resolve(value);
    }
    if (age > this.ttlMs) return this.refresh().catch((err: unknown) => this.keep(value, err));
    if (age >= this.ttlMs * REFRESH_AHEAD) this.refreshInBackground(value);
    return Promise.resolve(value);
  }

  private refreshInBackground(value: GatewayConfig): void {
    if (this.inflight !== undefined) return;
    this.refresh().catch((err: unknown) => this.keep(value, err));
  }

  /** The last good config, after a failed re-read (logged once per failed read). */
  private keep(value: GatewayConfig, err: unknown): GatewayConfig {
    this.logger?.log('warn', 'route refresh failed; keeping the last good routes', {
      error: String(err),
      ageMs: Math.round(this.clock.now() - this.readAt),
    });
    return value;
  }

  private refresh(): Promise<GatewayConfig> {
    if (this.inflight !== undefined) return this.inflight;
    const startedAt = this.clock.now();
    const read = this.inner.load().then(
      (cfg) => {
        this.value = cfg;
        this.readAt = startedAt;
        this.failedAt = undefined;
        return cfg;
      },
      (err: unknown) => {
        this.failedAt = this.clock.now();
        throw err;
      },
    );
    this.inflight = read.finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }
}
