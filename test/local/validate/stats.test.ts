/** The statistics behind the verdicts: percentiles, answer similarity, the ramp's levels and stream bursts. */
import { describe, expect, it } from 'vitest';
import { jaccard, meanPairwiseSimilarity, percentile } from '../../../functions/local/validate/stats.ts';
import { bursts } from '../../../functions/local/validate/suites/connectivity.ts';
import { rampLevels } from '../../../functions/local/validate/suites/stability.ts';

describe('percentile', () => {
  it('is the nearest-rank value, null without values', () => {
    const v = [50, 10, 40, 20, 30];
    expect([percentile(v, 50), percentile(v, 95), percentile(v, 0), percentile(v, 100)]).toEqual([
      30, 50, 10, 50,
    ]);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('similarity', () => {
  it('compares the sets of words, ignoring case, punctuation and order', () => {
    expect(jaccard('Red, yellow and blue.', 'blue YELLOW red and')).toBe(1);
    expect(jaccard('red yellow blue', 'red green')).toBe(0.25);
    expect(jaccard('', '')).toBe(1);
  });

  it('averages every pair', () => {
    expect(meanPairwiseSimilarity(['a b', 'a b', 'c d'])).toBeCloseTo(1 / 3);
    expect(meanPairwiseSimilarity(['only one'])).toBeNull();
  });
});

describe('rampLevels', () => {
  it('climbs ×4 and ends at the top given', () => {
    expect(rampLevels(16)).toEqual([1, 4, 16]);
    expect(rampLevels(10)).toEqual([1, 4, 10]);
    expect(rampLevels(1)).toEqual([1]);
    expect(rampLevels(0)).toEqual([]);
  });
});

describe('bursts', () => {
  it('counts the reads that carried content, merging reads less than 2 ms apart', () => {
    const read = (atMs: number, deltas = 1) => ({ atMs, bytes: 100, deltas });
    expect(bursts([read(1, 0), read(10), read(10.5), read(11), read(20), read(30)])).toBe(3);
    expect(bursts([read(5), read(5.1), read(5.3)])).toBe(1);
    expect(bursts([read(1, 0)])).toBe(0);
  });

  it('counts a fast stream (a chunk every millisecond) as many bursts: measured from the burst start', () => {
    const read = (atMs: number) => ({ atMs, bytes: 60, deltas: 1 });
    const fast = Array.from({ length: 20 }, (_, i) => read(100 + i * 1.1));
    expect(bursts(fast)).toBeGreaterThanOrEqual(10);
  });
});
