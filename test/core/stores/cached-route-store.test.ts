import { describe, expect, it } from 'vitest';
import { type GatewayConfig, parseConfig } from '../../../functions/core/config/schema.ts';
import type { RouteStore } from '../../../functions/core/ports.ts';
import { CachedRouteStore } from '../../../functions/core/stores/cached-route-store.ts';

const configWith = (route: string): GatewayConfig =>
  parseConfig({
    providers: { m: { type: 'mock' } },
    routes: { [route]: { targets: [{ provider: 'm', model: 'x' }] } },
  });

class CountingStore implements RouteStore {
  reads = 0;
  next: GatewayConfig | Error = configWith('first');
  async load(): Promise<GatewayConfig> {
    this.reads++;
    if (this.next instanceof Error) throw this.next;
    return this.next;
  }
}

describe('CachedRouteStore', () => {
  it('reads the store once within the TTL', async () => {
    let t = 0;
    const inner = new CountingStore();
    const cache = new CachedRouteStore(inner, { now: () => t, epochMs: () => t }, 1000);
    await Promise.all([cache.load(), cache.load(), cache.load()]);
    t = 999;
    await cache.load();
    expect(inner.reads).toBe(1);
  });

  it('serves the cached config at once after the TTL and refreshes in the background', async () => {
    let t = 0;
    const inner = new CountingStore();
    const cache = new CachedRouteStore(inner, { now: () => t, epochMs: () => t }, 1000);
    await cache.load();
    inner.next = configWith('second');
    t = 2000;
    expect(Object.keys((await cache.load()).routes)).toEqual(['first']);
    await new Promise((r) => setImmediate(r));
    expect(Object.keys((await cache.load()).routes)).toEqual(['second']);
    expect(inner.reads).toBe(2);
  });

  it('keeps the last good config when a refresh fails, and logs it', async () => {
    let t = 0;
    const inner = new CountingStore();
    const logged: string[] = [];
    const cache = new CachedRouteStore(inner, { now: () => t, epochMs: () => t }, 1000, {
      log: (_level, message) => logged.push(message),
    });
    await cache.load();
    inner.next = new Error('table unreachable');
    t = 5000;
    await cache.load();
    await new Promise((r) => setImmediate(r));
    expect(Object.keys((await cache.load()).routes)).toEqual(['first']);
    expect(logged.some((m) => m.includes('route refresh failed'))).toBe(true);
  });
});
