/**
 * Keeps the routing config in memory so the request path does no I/O. After the TTL the next request still
 * gets the cached config at once while a single refresh runs in the background (stale-while-revalidate); a
 * failed refresh keeps the last good config and is retried on a later request.
 */
import type { GatewayConfig } from '../config/schema.ts';
import type { Clock, Logger, RouteStore } from '../ports.ts';

export class CachedRouteStore implements RouteStore {
  private value: GatewayConfig | undefined;
  private loadedAt = 0;
  private inflight: Promise<GatewayConfig> | undefined;

  constructor(
    private readonly inner: RouteStore,
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly logger?: Logger,
  ) {}

  load(): Promise<GatewayConfig> {
    if (this.value === undefined) return this.refresh();
    if (this.clock.now() - this.loadedAt > this.ttlMs && this.inflight === undefined) {
      this.refresh().catch((err: unknown) => {
        this.logger?.log('warn', 'route refresh failed; keeping the cached routes', { error: String(err) });
      });
    }
    return Promise.resolve(this.value);
  }

  private refresh(): Promise<GatewayConfig> {
    this.inflight ??= this.inner
      .load()
      .then((cfg) => {
        this.value = cfg;
        this.loadedAt = this.clock.now();
        return cfg;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }
}
