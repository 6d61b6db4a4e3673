/** The small statistics the checks report: percentiles of timings and a similarity score of answers. */

/** Rounded to `digits` decimals (evidence is read by people, not diffed). */
export const round = (n: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** The nearest-rank percentile `p` (0–100) of `values`; null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return round(sorted[rank - 1] ?? 0);
}

/** The lower-cased words and numbers of a text, as a set (punctuation and order do not matter). */
export function tokenSet(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

/** |A ∩ B| / |A ∪ B| of the two texts' token sets: 1 for the same words, 0 for none in common. */
export function jaccard(a: string, b: string): number {
  const sa = tokenSet(a);
  const sb = tokenSet(b);
  if (sa.size === 0 && sb.size === 0) return 1;
  let common = 0;
  for (const t of sa) if (sb.has(t)) common++;
  return common / (sa.size + sb.size - common);
}

/** The mean Jaccard similarity over every pair of `texts`; null with fewer than two. */
export function meanPairwiseSimilarity(texts: readonly string[]): number | null {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      sum += jaccard(texts[i] ?? '', texts[j] ?? '');
      pairs++;
    }
  }
  return pairs === 0 ? null : sum / pairs;
}
