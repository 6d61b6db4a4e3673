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
 * - A store that hangs rather than fails must not hold traffic either: a request waits for a re-read at most
 *   {@link MAX_WAIT_MS}, then gets the last good config (logged), and a read that has not answered within
 *   {@link READ_TIMEOUT_MS} counts as failed, so the next one can start.
 */
import type { GatewayConfig } from '../config/schema.ts';
import type { Clock, Logger, RouteStore } from '../ports.ts';

/** Share of the TTL after which a request starts a background re-read. */
export const REFRESH_AHEAD = 0.8;
/** While re-reads fail: how often one is tried again, at most. */
export const RETRY_MS = 1_000;
/** The longest a request waits for a re-read before it is served the last good config. */
export const MAX_WAIT_MS = 1_000;
/** A read of the store that has not answered by then is given up as failed. */
export const READ_TIMEOUT_MS = 10_000;

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
    if (age > this.ttlMs) return this.waitBounded(value);
    if (age >= this.ttlMs * REFRESH_AHEAD) this.refreshInBackground(value);
    return Promise.resolve(value);
  }

  private refreshInBackground(value: GatewayConfig): void {
    if (this.inflight !== undefined) return;
    this.refresh().catch((err: unknown) => this.keep(value, err));
  }

  /** The re-read, or the last good config once {@link MAX_WAIT_MS} passed without it. */
  private waitBounded(value: GatewayConfig): Promise<GatewayConfig> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const slow = new Promise<GatewayConfig>((resolve) => {
      timer = setTimeout(() => {
        this.logger?.log('warn', 'route re-read is slow; serving the last good routes', {
          waitedMs: MAX_WAIT_MS,
          ageMs: Math.round(this.clock.now() - this.readAt),
        });
        resolve(value);
      }, MAX_WAIT_MS);
    });
    const fresh = this.refresh().catch((err: unknown) => this.keep(value, err));
    return Promise.race([fresh, slow]).finally(() => clearTimeout(timer));
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
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the route store did not answer within ${READ_TIMEOUT_MS} ms`)),
        READ_TIMEOUT_MS,
      );
    });
    const read = Promise.race([this.inner.load(), hung]).then(
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
      clearTimeout(timer);
      this.inflight = undefined;
    });
    return this.inflight;
  }
}
