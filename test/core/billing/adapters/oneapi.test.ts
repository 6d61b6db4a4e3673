import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { oneapiBilling } from '../../../../functions/core/billing/adapters/oneapi.ts';
import { BillingApiError, type BillingContext } from '../../../../functions/core/billing/types.ts';
import { type OneapiBillingFake, startOneapiBillingFake } from '../../../support/fake-billing-oneapi.ts';
import { billingTestContext } from './billing-context.ts';
import { describeSnapshotFaults, NOW } from './snapshot-faults.ts';

const KEY = 'sk-relay-test';

describe('oneapiBilling', () => {
  const t = billingTestContext(KEY);
  let relay: OneapiBillingFake;
  let dollarsFork: OneapiBillingFake;
  const ctx = (over: Partial<BillingContext> = {}) => t.ctx(relay.url, over);

  beforeAll(async () => {
    relay = await startOneapiBillingFake({ key: KEY });
    dollarsFork = await startOneapiBillingFake({ key: KEY, usageUnit: 'dollars' });
  });
  afterAll(async () => {
    await Promise.all([relay.close(), dollarsFork.close()]);
    await t.http.close();
  });
  beforeEach(() => {
    relay.reset();
    dollarsFork.reset();
  });

  it('is a snapshot bill', () => {
    expect(oneapiBilling.kind).toBe('snapshot');
    expect(oneapiBilling.type).toBe('oneapi');
  });

  it('reads total_usage in cents as dollars spent, and the balance as the hard limit minus it', async () => {
    relay.setQuotaUsd(100);
    relay.setUsedUsd(25.5); // total_usage: 2550
    const s = await oneapiBilling.snapshot(ctx(), NOW);
    expect(s.at).toBe(NOW);
    expect(s.spent?.currency).toBe('USD');
    expect(s.spent?.amount).toBeCloseTo(25.5, 9);
    expect(s.balance?.currency).toBe('USD');
    expect(s.balance?.amount).toBeCloseTo(74.5, 9);
  });

  it('asks both panel paths under the base URL with the relay key as Bearer', async () => {
    await oneapiBilling.snapshot(ctx(), NOW);
    expect(relay.requests.map((r) => r.path)).toEqual([
      '/v1/dashboard/billing/subscription',
      '/v1/dashboard/billing/usage',
    ]);
    for (const r of relay.requests) expect(r.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('asks for the usage since 2023-01-01 up to the UTC day after the reading', async () => {
    await oneapiBilling.snapshot(ctx(), '2025-12-31T23:59:59.000Z');
    const usage = relay.requests.find((r) => r.path.endsWith('/usage'));
    expect(Object.fromEntries(usage?.query ?? [])).toEqual({
      start_date: '2023-01-01',
      end_date: '2026-01-01',
    });
  });

  it('reads total_usage as dollars when billing.usageUnit is dollars', async () => {
    dollarsFork.setQuotaUsd(50);
    dollarsFork.setUsedUsd(12.5); // total_usage: 12.5
    const s = await oneapiBilling.snapshot(
      t.ctx(dollarsFork.url, { options: { usageUnit: 'dollars' } }),
      NOW,
    );
    expect(s.spent).toEqual({ amount: 12.5, currency: 'USD' });
    expect(s.balance).toEqual({ amount: 37.5, currency: 'USD' });
  });

  it('reads a dollars fork a hundred times too low when left on the cents default', async () => {
    dollarsFork.setUsedUsd(12.5);
    const s = await oneapiBilling.snapshot(t.ctx(dollarsFork.url), NOW);
    expect(s.spent?.amount).toBeCloseTo(0.125, 9);
  });

  it('keeps the currency the relay shows (billing.currency CNY) without converting', async () => {
    relay.setQuotaUsd(700);
    relay.setUsedUsd(70);
    const s = await oneapiBilling.snapshot(ctx({ options: { currency: 'CNY' } }), NOW);
    expect(s.spent).toEqual({ amount: 70, currency: 'CNY' });
    expect(s.balance).toEqual({ amount: 630, currency: 'CNY' });
  });

  it('gives no balance for an unlimited key (hard_limit_usd 100000000), only the spend', async () => {
    relay.setUnlimited();
    relay.setUsedUsd(3);
    const s = await oneapiBilling.snapshot(ctx(), NOW);
    expect(s).toEqual({ at: NOW, spent: { amount: 3, currency: 'USD' } });
  });

  it('gives a zero balance for a spent quota (a real limit, not "none")', async () => {
    relay.setQuotaUsd(10);
    relay.setUsedUsd(10);
    const s = await oneapiBilling.snapshot(ctx(), NOW);
    expect(s.balance).toEqual({ amount: 0, currency: 'USD' });
  });

  it('balance() returns the balance of a reading', async () => {
    relay.setQuotaUsd(20);
    relay.setUsedUsd(5);
    expect(await oneapiBilling.balance(ctx())).toEqual({ amount: 15, currency: 'USD' });
  });

  it('balance() is undefined for an unlimited key', async () => {
    relay.setUnlimited();
    expect(await oneapiBilling.balance(ctx())).toBeUndefined();
  });

  it("turns new-api's HTTP 200 error body into a BillingApiError with its message", async () => {
    const body = JSON.stringify({ error: { message: 'Failed to retrieve quota', type: 'upstream_error' } });
    relay.fail({ status: 200, body });
    const err = await oneapiBilling.snapshot(ctx(), NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BillingApiError);
    expect((err as Error).message).toContain('Failed to retrieve quota');
  });

  it('turns an answer without total_usage into a BillingApiError naming the field', async () => {
    relay.fail({ status: 200, body: '{"object":"billing_subscription","hard_limit_usd":5}' });
    relay.fail({ status: 200, body: '{"object":"list"}' });
    await expect(oneapiBilling.snapshot(ctx(), NOW)).rejects.toThrow(/total_usage/);
  });

  it('turns an answer without hard_limit_usd into a BillingApiError naming the field', async () => {
    relay.fail({ status: 200, body: '{"object":"billing_subscription"}' });
    await expect(oneapiBilling.snapshot(ctx(), NOW)).rejects.toThrow(/hard_limit_usd/);
  });

  it("answers a wrong key with the relay's 401 message", async () => {
    const err = await oneapiBilling.snapshot(ctx({ key: 'sk-not-this-one' }), NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BillingApiError);
    expect((err as BillingApiError).status).toBe(401);
    expect((err as Error).message).toContain('无效的令牌');
  });
});

describeSnapshotFaults('oneapiBilling', oneapiBilling, (key) => startOneapiBillingFake({ key }));
