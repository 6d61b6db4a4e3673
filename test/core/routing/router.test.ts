import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config/schema.ts';
import { orderTargets } from '../../../functions/core/routing/router.ts';

/** A small deterministic PRNG (mulberry32) so the distribution test is repeatable. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const config = parseConfig({
  providers: { a: { type: 'mock' }, b: { type: 'mock' }, c: { type: 'mock' } },
  prices: { 'a/x': { input: 3, output: 15 }, 'c/x': { input: 0.5, output: 1.5 } },
  routes: {
    fast: {
      strategy: 'latency',
      targets: [
        { provider: 'a', model: 'x' },
        { provider: 'b', model: 'x' },
        { provider: 'c', model: 'x' },
      ],
    },
    cheap: {
      strategy: 'cost',
      targets: [
        { provider: 'b', model: 'x' },
        { provider: 'a', model: 'x' },
        { provider: 'c', model: 'x' },
      ],
    },
    ordered: {
      targets: [
        { provider: 'a', model: 'x' },
        { provider: 'b', model: 'x' },
        { provider: 'c', model: 'x' },
      ],
    },
    weighted: {
      strategy: 'weighted',
      targets: [
        { provider: 'a', model: 'x', weight: 6 },
        { provider: 'b', model: 'x', weight: 3 },
        { provider: 'c', model: 'x', weight: 1 },
      ],
    },
  },
});

describe('orderTargets', () => {
  it('keeps the written order for the fallback strategy', () => {
    expect(
      orderTargets(config.routes.ordered!, { random: Math.random, config, stream: false }).map(
        (t) => t.provider,
      ),
    ).toEqual(['a', 'b', 'c']);
  });

  it('picks the first target in proportion to its weight and keeps the others as fallbacks', () => {
    const random = seeded(42);
    const firsts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const order = orderTargets(config.routes.weighted!, { random, config, stream: false });
      expect(order).toHaveLength(3);
      expect(new Set(order.map((t) => t.provider)).size).toBe(3);
      firsts[order[0]!.provider]!++;
    }
    expect(firsts.a! / n).toBeCloseTo(0.6, 1);
    expect(firsts.b! / n).toBeCloseTo(0.3, 1);
    expect(firsts.c! / n).toBeCloseTo(0.1, 1);
  });

  it('latency: the fastest measured target first (streams by time to first token), unmeasured ones count as fastest', () => {
    const table: Record<string, { latencyMs?: number; ttftMs?: number }> = {
      'a/x': { latencyMs: 900, ttftMs: 100 },
      'b/x': { latencyMs: 300, ttftMs: 400 },
      'c/x': { latencyMs: 600, ttftMs: 200 },
    };
    const speeds = { speed: (id: string) => table[id] ?? {} };
    const route = config.routes.fast!;
    const never = () => 0.99;
    expect(
      orderTargets(route, { random: never, config, stream: false, speeds, explorePercent: 5 }).map(
        (t) => t.provider,
      ),
    ).toEqual(['b', 'c', 'a']);
    expect(
      orderTargets(route, { random: never, config, stream: true, speeds, explorePercent: 5 }).map(
        (t) => t.provider,
      ),
    ).toEqual(['a', 'c', 'b']);
    delete table['c/x'];
    expect(
      orderTargets(route, { random: never, config, stream: false, speeds }).map((t) => t.provider),
    ).toEqual(['c', 'b', 'a']);
  });

  it('latency: about explorePercent of requests put another target first, and every order keeps all targets', () => {
    const table: Record<string, { latencyMs: number }> = {
      'a/x': { latencyMs: 100 },
      'b/x': { latencyMs: 200 },
      'c/x': { latencyMs: 300 },
    };
    const speeds = { speed: (id: string) => table[id] ?? {} };
    const random = seeded(7);
    let explored = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const order = orderTargets(config.routes.fast!, {
        random,
        config,
        stream: false,
        speeds,
        explorePercent: 5,
      });
      expect(new Set(order.map((t) => t.provider)).size).toBe(3);
      if (order[0]!.provider !== 'a') explored++;
    }
    expect(explored / n).toBeCloseTo(0.05, 2);
  });

  it('cost: the cheapest priced target first (input + output price), unpriced targets last in written order', () => {
    expect(
      orderTargets(config.routes.cheap!, { random: Math.random, config, stream: false }).map(
        (t) => t.provider,
      ),
    ).toEqual(['c', 'a', 'b']);
  });
});
