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
  routes: {
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
    expect(orderTargets(config.routes.ordered!, Math.random).map((t) => t.provider)).toEqual(['a', 'b', 'c']);
  });

  it('picks the first target in proportion to its weight and keeps the others as fallbacks', () => {
    const random = seeded(42);
    const firsts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const order = orderTargets(config.routes.weighted!, random);
      expect(order).toHaveLength(3);
      expect(new Set(order.map((t) => t.provider)).size).toBe(3);
      firsts[order[0]!.provider]!++;
    }
    expect(firsts.a! / n).toBeCloseTo(0.6, 1);
    expect(firsts.b! / n).toBeCloseTo(0.3, 1);
    expect(firsts.c! / n).toBeCloseTo(0.1, 1);
  });
});
