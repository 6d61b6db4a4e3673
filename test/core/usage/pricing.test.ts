/** Prices → cost: cached input at its own price, reasoning inside output, a missing price is not 0. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config/schema.ts';
import { costOf, priceOf } from '../../../functions/core/usage/pricing.ts';

const config = parseConfig({
  providers: { a: { type: 'mock' }, b: { type: 'mock' } },
  routes: {
    r: {
      targets: [
        { provider: 'a', model: 'small' },
        { provider: 'b', model: 'big' },
      ],
    },
  },
  prices: {
    'a/small': { input: 1, output: 2, cachedInput: 0.5 },
    'b/big': { input: 3, output: 10, version: '2026-11' },
  },
});

describe('costOf', () => {
  it('prices input, cached input and output per million tokens', () => {
    const p = priceOf(config, 'a', 'small');
    expect(p).toBeDefined();
    // 600 uncached × $1 + 400 cached × $0.5 + 500 output × $2, per 1M tokens
    expect(costOf({ inputTokens: 1000, outputTokens: 500, cachedInputTokens: 400 }, p!.price)).toBe(0.0018);
  });

  it('prices cache writes at their own price, and at the input price when none is set', () => {
    const usage = { inputTokens: 6000, cachedInputTokens: 3000, cacheWriteTokens: 2000, outputTokens: 100 };
    expect(costOf(usage, { input: 3, output: 15, cachedInput: 0.3, cacheWriteInput: 3.75 })).toBe(0.0129);
    expect(costOf(usage, { input: 3, output: 15, cachedInput: 0.3 })).toBe(0.0114);
  });

  it('charges cached tokens at the input price when no cached price is set', () => {
    const p = priceOf(config, 'b', 'big');
    expect(costOf({ inputTokens: 1000, outputTokens: 0, cachedInputTokens: 1000 }, p!.price)).toBe(0.003);
  });

  it('does not add reasoning tokens on top of the output tokens that contain them', () => {
    const p = priceOf(config, 'a', 'small')!.price;
    expect(costOf({ inputTokens: 0, outputTokens: 100, reasoningTokens: 80 }, p)).toBe(0.0002);
  });
});

describe('priceOf', () => {
  it('is undefined for a provider/model without a price (recorded as null, never 0)', () => {
    expect(priceOf(config, 'a', 'unpriced')).toBeUndefined();
  });

  it('versions a price by its own version field, else by a stable digest of its numbers', () => {
    expect(priceOf(config, 'b', 'big')?.version).toBe('2026-11');
    const v = priceOf(config, 'a', 'small')?.version;
    expect(v).toMatch(/^[0-9a-f]{12}$/);
    const same = parseConfig({ ...config, prices: { 'a/small': { input: 1, output: 2, cachedInput: 0.5 } } });
    expect(priceOf(same, 'a', 'small')?.version).toBe(v);
    const changed = parseConfig({
      ...config,
      prices: { 'a/small': { input: 1.1, output: 2, cachedInput: 0.5 } },
    });
    expect(priceOf(changed, 'a', 'small')?.version).not.toBe(v);
  });
});
