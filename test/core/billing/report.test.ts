import { describe, expect, it } from 'vitest';
import { drift, judge, toUsd } from '../../../functions/core/billing/report.ts';
import { BillingApiError } from '../../../functions/core/billing/types.ts';

const ledger = (costUsd: number, over = {}) => ({
  costUsd,
  inputTokens: 1000,
  outputTokens: 500,
  requests: 10,
  unpricedRequests: 0,
  ...over,
});
const bill = (costUsd: number, over = {}) => ({
  cost: { amount: costUsd, currency: 'USD' },
  costUsd,
  ...over,
});

describe('drift', () => {
  it('is provider minus ledger, in USD and percent of the ledger', () => {
    expect(drift(2, 2.02)).toEqual({ usd: 0.02, percent: 1 });
    expect(drift(2, 1.9)).toEqual({ usd: -0.1, percent: -5 });
  });
  it('is 100% when the ledger has nothing the provider billed, 0% when neither has anything', () => {
    expect(drift(0, 3)).toEqual({ usd: 3, percent: 100 });
    expect(drift(0, 0)).toEqual({ usd: 0, percent: 0 });
  });
});

describe('judge', () => {
  it('calls a difference within the tolerance ok', () => {
    expect(judge(ledger(100), bill(101.5), 2).verdict).toBe('ok');
  });
  it('calls a difference past the tolerance drift, naming both figures', () => {
    const j = judge(ledger(100), bill(103), 2);
    expect(j).toMatchObject({ verdict: 'drift', driftUsd: 3, driftPercent: 3 });
    expect(j.reason).toBe('provider $103 vs ledger $100: +3% ($3)');
  });
  it('treats up to half a cent as rounding, whatever the percent', () => {
    expect(judge(ledger(0.001), bill(0.005), 2).verdict).toBe('ok');
    expect(judge(ledger(0.001), bill(0.01), 2).verdict).toBe('drift');
  });
  it('calls token counts that differ past the tolerance drift even when the money agrees', () => {
    const j = judge(ledger(100), bill(100, { inputTokens: 1100, outputTokens: 500 }), 2);
    expect(j.verdict).toBe('drift');
    expect(j.reason).toBe('input tokens 1100 vs ledger 1000');
  });
  it('cannot call a day with unpriced requests ok, since the ledger cost is a lower bound', () => {
    const j = judge(ledger(100, { unpricedRequests: 3 }), bill(104), 2);
    expect(j.verdict).toBe('unverifiable');
    expect(j.reason).toMatch(/^3 request\(s\) have no configured price/);
  });
  it('still calls a bill below the lower bound drift', () => {
    expect(judge(ledger(100, { unpricedRequests: 3 }), bill(90), 2).verdict).toBe('drift');
  });
});

describe('toUsd', () => {
  it('keeps USD, converts another currency by the configured rate, and knows no rate otherwise', () => {
    expect(toUsd({ amount: 5, currency: 'USD' }, undefined)).toBe(5);
    expect(toUsd({ amount: 100, currency: 'CNY' }, 0.14)).toBe(14);
    expect(toUsd({ amount: 100, currency: 'CNY' }, undefined)).toBeUndefined();
  });
});

describe('BillingApiError', () => {
  it('never carries a key the provider echoed into its message', () => {
    const e = new BillingApiError(
      '/dashboard/billing/usage: the relay answered an error: invalid token sk-abcdef123456',
    );
    expect(e.message).not.toContain('sk-abcdef123456');
    expect(e.message).toContain('sk-[redacted]');
  });
});
