/**
 * The reconciliation report of one provider for one UTC day, and the pure arithmetic that gives its verdict:
 * the ledger's cost and tokens against the provider's figures, drift in USD and percent, and why.
 */
import type { LedgerFigures, ProviderFigures, Verdict } from './report-schema.ts';
import type { Money } from './types.ts';

export type { LedgerFigures, ProviderFigures, Report, SampleCheck, Verdict } from './report-schema.ts';

export const DEFAULT_TOLERANCE_PERCENT = 2;
/**
 * Differences up to half a cent are rounding, not drift: bills are kept in cents (or less precisely), the
 * ledger to the micro-dollar.
 */
export const ROUNDING_USD = 0.005;

const round = (n: number, places: number): number => {
  const k = 10 ** places;
  return Math.round(n * k) / k;
};

export const EMPTY_LEDGER: LedgerFigures = {
  costUsd: 0,
  inputTokens: 0,
  outputTokens: 0,
  requests: 0,
  unpricedRequests: 0,
};

/** Drift of the provider's USD figure against the ledger's (rounded to micro-dollars and 0.01 %). */
export function drift(ledgerUsd: number, providerUsd: number): { usd: number; percent: number } {
  const usd = round(providerUsd - ledgerUsd, 6);
  if (ledgerUsd === 0) return { usd, percent: providerUsd === 0 ? 0 : 100 };
  return { usd, percent: round((usd / ledgerUsd) * 100, 2) };
}

/** Token counts differ by more than the tolerance (relative to the ledger; exact when the ledger has none). */
function tokensDiffer(ledger: number, provider: number | undefined, tolerancePercent: number): boolean {
  if (provider === undefined) return false;
  if (ledger === 0) return provider !== 0;
  return (Math.abs(provider - ledger) / ledger) * 100 > tolerancePercent;
}

/**
 * The verdict of a comparison. Unpriced requests make the ledger's cost a lower bound, so such a day cannot
 * be called `ok` however close the totals are; it is `unverifiable` with the count, unless it is already
 * over (a provider billing less than a lower bound is drift whatever the unpriced requests cost).
 */
export function judge(
  ledger: LedgerFigures,
  provider: ProviderFigures & { readonly costUsd: number },
  tolerancePercent: number,
): { verdict: Verdict; reason: string; driftUsd: number; driftPercent: number } {
  const d = drift(ledger.costUsd, provider.costUsd);
  const base = { driftUsd: d.usd, driftPercent: d.percent };
  const money = Math.abs(d.usd) > ROUNDING_USD && Math.abs(d.percent) > tolerancePercent;
  const tokens: string[] = [];
  if (tokensDiffer(ledger.inputTokens, provider.inputTokens, tolerancePercent))
    tokens.push(`input tokens ${provider.inputTokens} vs ledger ${ledger.inputTokens}`);
  if (tokensDiffer(ledger.outputTokens, provider.outputTokens, tolerancePercent))
    tokens.push(`output tokens ${provider.outputTokens} vs ledger ${ledger.outputTokens}`);
  const said = `provider $${round(provider.costUsd, 6)} vs ledger $${round(ledger.costUsd, 6)}`;
  if (ledger.unpricedRequests > 0 && !(money && d.usd < 0)) {
    return {
      verdict: 'unverifiable',
      reason: `${ledger.unpricedRequests} request(s) have no configured price, so the ledger's cost is a lower bound (${said})`,
      ...base,
    };
  }
  if (money || tokens.length > 0) {
    const parts = money ? [`${said}: ${d.percent > 0 ? '+' : ''}${d.percent}% ($${d.usd})`] : [];
    return { verdict: 'drift', reason: [...parts, ...tokens].join('; '), ...base };
  }
  return { verdict: 'ok', reason: `${said}, within ${tolerancePercent}%`, ...base };
}

/** The bill in USD: as is, or through the configured rate; undefined when no rate is known. */
export function toUsd(m: Money, usdRate: number | undefined): number | undefined {
  if (m.currency === 'USD') return m.amount;
  return usdRate === undefined ? undefined : round(m.amount * usdRate, 6);
}
