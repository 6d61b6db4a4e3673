/**
 * The estimate tokenizer (js-tiktoken, o200k_base): exact for ordinary text, and bounded work for text that
 * made its BPE superlinear — a run of letters without a space, Chinese sentences — which once froze the
 * process for tens of seconds on one request's estimate.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PIECE, SAMPLED_CHARS } from '../../../functions/core/usage/tokenizer.ts';
import { localTokenCounter } from '../../../functions/local/token-counter.ts';

const counter = localTokenCounter();

/** Letters from a fixed seed (mulberry32), so the count is the same on every run. */
function letters(n: number, seed = 7): string {
  let s = seed;
  let out = '';
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out += String.fromCharCode(97 + (((t ^ (t >>> 14)) >>> 0) % 26));
  }
  return out;
}

describe('the estimate token counter', () => {
  it('counts ordinary text exactly', () => {
    expect(counter.count('Hello, world!')).toBe(4);
    expect(counter.count('')).toBe(0);
  });

  it(`counts a run without spaces in pieces of ${MAX_PIECE}: one token per cut at most off the whole`, () => {
    const run = letters(20_000);
    const pieces = run.match(new RegExp(`.{1,${MAX_PIECE}}`, 'g')) ?? [];
    const piecewise = pieces.reduce((n, p) => n + counter.count(p), 0);
    expect(run.length).toBeGreaterThan(SAMPLED_CHARS);
    // The sampled count of the whole run is within 3% of the exact count of its pieces.
    expect(Math.abs(counter.count(run) - piecewise) / piecewise).toBeLessThan(0.03);
  });

  it('counts a long text by evenly spaced samples, scaled to its length', () => {
    const zh = '我们今天在这里讨论一个非常重要的问题，这个问题关系到大家的未来。';
    const exactPer = counter.count(zh.repeat(64)) / 64;
    const estimate = counter.count(zh.repeat(3000));
    expect(Math.abs(estimate - exactPer * 3000) / (exactPer * 3000)).toBeLessThan(0.03);
  });
});
