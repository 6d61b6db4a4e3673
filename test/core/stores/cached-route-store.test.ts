import { afterEach, describe, expect, it, vi } from 'vitest';
import { type GatewayConfig, parseConfig } from '../../../functions/core/config/schema.ts';
import type { RouteStore } from '../../../functions/core/ports.ts';
import {
  CachedRouteStore,
  MAX_WAIT_MS,
  READ_TIMEOUT_MS,
} from '../../../functions/core/stores/cached-route-store.ts';

const configWith = (route: string): GatewayConfig =>
  parseConfig({
    providers: { m: { type: 'mock' } },
    routes: { [route]: { targets: [{ provider: 'm', model: 'x' }] } },
  });

/** A store whose reads can be held open (`hold`) to see who waits for them. */
class CountingStore implements RouteStore {
  reads = 0;
  next: GatewayConfig | Error = configWith('first');
  private held: (() => void)[] = [];
  holding = false;
  async load(): Promise<GatewayConfig> {
    this.reads++;
    const answer = this.next;
    if (this.holding) await new Promise<void>((r) => this.held.push(r));
    if (answer instanceof Error) throw answer;
    return answer;
  }
  release(): void {
    for (const r of this.held.splice(0)) r();
  }
}

const routesOf = (c: GatewayConfig): string[] => Object.keys(c.routes);
const tick = () => new Promise((r) => setImmediate(r));

function cacheOver(inner: RouteStore, ttlMs = 1000) {
  const clock = { t: 0 };
  const logged: string[] = [];
  const cache = new CachedRouteStore(inner, { now: () => clock.t, epochMs: () => clock.t }, ttlMs, {
    log: (_level, message) => logged.push(message),
  });
  return { cache, clock, logged };
}

describe('CachedRouteStore', () => {
  it('reads the store once within the TTL', async () => {
    const inner = new CountingStore();
    const { cache, clock } = cacheOver(inner);
    await Promise.all([cache.load(), cache.load(), cache.load()]);
    clock.t = 700;
    await cache.load();
    expect(inner.reads).toBe(1);
  });

  it('gives the first request after the TTL the re-read config, not the old one', async () => {
    const inner = new CountingStore();
    const { cache, clock } = cacheOver(inner);
    await cache.load();
    inner.next = configWith('second');
    clock.t = 1001;
    expect(routesOf(await cache.load())).toEqual(['second']);
    expect(inner.reads).toBe(2);
  });

  it('makes every request that finds the cache too old wait for one shared re-read', async () => {
    const inner = new CountingStore();
    const { cache, clock } = cacheOver(inner);
    await cache.load();
    inner.next = configWith('second');
    inner.holding = true;
    clock.t = 1500;
    let settled = 0;
    const waiting = [cache.load(), cache.load()].map((p) =>
      p.then((c) => {
        settled++;
        return c;
      }),
    );
    await tick();
    expect(settled).toBe(0);
    inner.release();
    expect((await Promise.all(waiting)).map(routesOf)).toEqual([['second'], ['second']]);
    expect(inner.reads).toBe(2);
  });

  it('re-reads in the background before the TTL runs out, so the hot path does not wait', async () => {
    const inner = new CountingStore();
    const { cache, clock } = cacheOver(inner);
    await cache.load();
    inner.next = configWith('second');
    inner.holding = true;
    clock.t = 850; // past the refresh-ahead point, before the TTL
    expect(routesOf(await cache.load())).toEqual(['first']);
    expect(inner.reads).toBe(2);
    inner.release();
    await tick();
    clock.t = 1100; // the old read's TTL is over; the background read is fresh
    expect(routesOf(await cache.load())).toEqual(['second']);
    expect(inner.reads).toBe(2);
  });

  it('counts a config as old from when its read started, not from when it ended', async () => {
    const inner = new CountingStore();
    const { cache, clock } = cacheOver(inner);
    inner.holding = true;
    const first = cache.load();
    await tick();
    clock.t = 400; // the read took 400 ms: what it saw is from t = 0
    inner.release();
    await first;
    inner.holding = false;
    inner.next = configWith('second');
    clock.t = 1001;
    expect(routesOf(await cache.load())).toEqual(['second']);
  });

  it('keeps the last good config when a re-read fails, logs it, and retries without making requests wait', async () => {
    const inner = new CountingStore();
    const { cache, clock, logged } = cacheOver(inner);
    await cache.load();
    inner.next = new Error('table unreachable');
    clock.t = 5000;
    expect(routesOf(await cache.load())).toEqual(['first']);
    expect(logged.some((m) => m.includes('route refresh failed'))).toBe(true);
    expect(inner.reads).toBe(2);
    // While the store fails, requests get the last good config at once, and a re-read is tried in the
    // background at most once a second (min(TTL, 1 s)).
    clock.t = 5100;
    expect(routesOf(await cache.load())).toEqual(['first']);
    expect(inner.reads).toBe(2);
    inner.next = configWith('second');
    inner.holding = true;
    clock.t = 6100;
    expect(routesOf(await cache.load())).toEqual(['first']);
    expect(inner.reads).toBe(3);
    inner.release();
    await tick();
    expect(routesOf(await cache.load())).toEqual(['second']);
  });

  it('fails the first load when the store cannot be read (there is no good config yet)', async () => {
    const inner = new CountingStore();
    inner.next = new Error('no table');
    const { cache } = cacheOver(inner);
    await expect(cache.load()).rejects.toThrow('no table');
  });
});

describe('CachedRouteStore, when the store hangs instead of failing', () => {
  afterEach(() => vi.useRealTimers());

  it(`serves the last good config once a request has waited ${MAX_WAIT_MS} ms for a re-read`, async () => {
    vi.useFakeTimers();
    const inner = new CountingStore();
    const { cache, clock, logged } = cacheOver(inner);
    await cache.load();
    inner.holding = true;
    inner.next = configWith('second');
    clock.t = 1001;
    let got: GatewayConfig | undefined;
    void cache.load().then((c) => {
      got = c;
    });
    await vi.advanceTimersByTimeAsync(MAX_WAIT_MS - 1);
    expect(got).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(routesOf(got as GatewayConfig)).toEqual(['first']);
    expect(logged).toContain('route re-read is slow; serving the last good routes');
    inner.release();
  });

  it(`gives up a read that has not answered in ${READ_TIMEOUT_MS} ms, so the next one can start`, async () => {
    vi.useFakeTimers();
    const inner = new CountingStore();
    const { cache, clock } = cacheOver(inner);
    await cache.load();
    inner.holding = true;
    clock.t = 1001;
    void cache.load();
    await vi.advanceTimersByTimeAsync(READ_TIMEOUT_MS);
    expect(inner.reads).toBe(2);
    // The hung read counted as failed: a later request starts a new one instead of waiting on it forever.
    inner.holding = false;
    inner.next = configWith('third');
    clock.t = 1001 + READ_TIMEOUT_MS + 2000;
    await cache.load();
    await vi.advanceTimersByTimeAsync(10);
    expect(inner.reads).toBe(3);
    expect(routesOf(await cache.load())).toEqual(['third']);
  });
});
