/**
 * Reported usage that cannot be true is flagged and charged at the request's bounds; usage that can be true is
 * charged as reported.
 */
import { describe, expect, it } from 'vitest';
import type { TargetBounds } from '../../../functions/core/usage/request-bounds.ts';
import {
  checkUsage,
  IMPLAUSIBLE_INPUT_FACTOR,
  IMPLAUSIBLE_INPUT_SLACK,
} from '../../../functions/core/usage/usage-check.ts';

const bounds: TargetBounds = { inputTokens: 1000, outputCap: 10, outputLimit: 10, choices: 2 };

describe('checkUsage', () => {
  it('leaves usage within the bounds as reported, unflagged', () => {
    const u = { inputTokens: 1000, outputTokens: 20, cachedInputTokens: 5 };
    expect(checkUsage(u, bounds)).toEqual({ billed: u });
  });

  it('flags more output than cap × choices and bills the cap × choices', () => {
    const c = checkUsage({ inputTokens: 12, outputTokens: 1e15, reasoningTokens: 1e15 }, bounds);
    expect(c.implausible).toBe('output 1000000000000000 tokens > 20 allowed (cap 10 × 2)');
    expect(c.billed).toMatchObject({ inputTokens: 12, outputTokens: 20, reasoningTokens: 20 });
  });

  it("checks output against the route's maxOutputTokens when no cap went upstream", () => {
    const noCap = { ...bounds, outputCap: undefined, outputLimit: 131_072 };
    const c = checkUsage({ inputTokens: 12, outputTokens: 1e5 }, noCap);
    expect(c.implausible).toBeUndefined();
    expect(c.billed.outputTokens).toBe(1e5);
    const huge = checkUsage({ inputTokens: 12, outputTokens: 1e15 }, noCap);
    expect(huge.implausible).toBe(
      "output 1000000000000000 tokens > 262144 allowed (the route's maxOutputTokens 131072 × 2)",
    );
    expect(huge.billed.outputTokens).toBe(262_144);
  });

  it('flags input above 4 × the bound + 16,384 and bills the bound, keeping cached tokens inside it', () => {
    const threshold = IMPLAUSIBLE_INPUT_FACTOR * 1000 + IMPLAUSIBLE_INPUT_SLACK;
    expect(threshold).toBe(20_384);
    const within = checkUsage({ inputTokens: threshold, outputTokens: 1 }, bounds);
    expect(within.implausible).toBeUndefined();
    expect(checkUsage({ inputTokens: threshold + 1, outputTokens: 1 }, bounds).implausible).toBe(
      "input 20385 tokens > 20384 plausible (4 × the request's bound of 1000 + 16384)",
    );
    const c = checkUsage(
      { inputTokens: 1e15, outputTokens: 1, cachedInputTokens: 1e15, cacheWriteTokens: 5 },
      bounds,
    );
    expect(c.implausible).toMatch(/^input 1000000000000000 tokens > 20384 plausible/);
    expect(c.billed).toMatchObject({ inputTokens: 1000, cachedInputTokens: 1000, cacheWriteTokens: 0 });
  });

  it('names both reasons when both are impossible', () => {
    const c = checkUsage({ inputTokens: 1e9, outputTokens: 1e9 }, bounds);
    expect(c.implausible).toMatch(/^output .*; input /);
    expect(c.billed).toMatchObject({ inputTokens: 1000, outputTokens: 20 });
  });
});
