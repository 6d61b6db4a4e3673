import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deepseekBilling } from '../../../../functions/core/billing/adapters/deepseek.ts';
import { BillingApiError, type BillingContext } from '../../../../functions/core/billing/types.ts';
import {
  type DeepseekBillingFake,
  startDeepseekBillingFake,
} from '../../../support/fake-billing-deepseek.ts';
import { billingTestContext } from './billing-context.ts';
import { describeSnapshotFaults, NOW } from './snapshot-faults.ts';

const KEY = 'sk-deepseek-test';
const CNY = {
  currency: 'CNY',
  total_balance: '110.00',
  granted_balance: '10.00',
  topped_up_balance: '100.00',
};
const USD = { currency: 'USD', total_balance: '15.50', granted_balance: '0.00', topped_up_balance: '15.50' };

describe('deepseekBilling', () => {
  const t = billingTestContext(KEY);
  let fake: DeepseekBillingFake;
  const ctx = (over: Partial<BillingContext> = {}) => t.ctx(fake.url, over);

  beforeAll(async () => {
    fake = await startDeepseekBillingFake({ key: KEY });
  });
  afterAll(async () => {
    await fake.close();
    await t.http.close();
  });
  beforeEach(() => fake.reset());

  it('is a snapshot bill', () => {
    expect(deepseekBilling.kind).toBe('snapshot');
    expect(deepseekBilling.type).toBe('deepseek');
  });

  it('reads /user/balance on the API host, outside the /v1 of the base URL, with the key as Bearer', async () => {
    expect(fake.url).toMatch(/\/v1$/);
    const s = await deepseekBilling.snapshot(ctx(), NOW);
    expect(s).toEqual({ at: NOW, balance: { amount: 110, currency: 'CNY' } });
    expect(fake.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/user/balance', `Bearer ${KEY}`],
    ]);
  });

  it('reads the same from a base URL without /v1', async () => {
    expect(await deepseekBilling.balance(t.ctx(fake.origin))).toEqual({ amount: 110, currency: 'CNY' });
    expect(fake.requests.map((r) => r.path)).toEqual(['/user/balance']);
  });

  it('picks the entry in the configured currency', async () => {
    fake.setBalances([CNY, USD]);
    const s = await deepseekBilling.snapshot(ctx({ options: { currency: 'USD' } }), NOW);
    expect(s.balance).toEqual({ amount: 15.5, currency: 'USD' });
  });

  it('takes the first entry, in its own currency, when none is configured or the account lacks it', async () => {
    fake.setBalances([USD, CNY]);
    expect(await deepseekBilling.balance(ctx())).toEqual({ amount: 15.5, currency: 'USD' });
    fake.setBalances([CNY]);
    expect(await deepseekBilling.balance(ctx({ options: { currency: 'USD' } }))).toEqual({
      amount: 110,
      currency: 'CNY',
    });
  });

  it('reads a spent account ("0.00", is_available false) as a zero balance', async () => {
    fake.setBalances([{ ...CNY, total_balance: '0.00', granted_balance: '0.00', topped_up_balance: '0.00' }]);
    fake.setAvailable(false);
    expect(await deepseekBilling.balance(ctx())).toEqual({ amount: 0, currency: 'CNY' });
  });

  it('balance() returns the same balance as a reading', async () => {
    const s = await deepseekBilling.snapshot(ctx(), NOW);
    expect(await deepseekBilling.balance(ctx())).toEqual(s.balance);
  });

  it('turns an empty balance_infos into a BillingApiError', async () => {
    fake.setBalances([]);
    await expect(deepseekBilling.snapshot(ctx(), NOW)).rejects.toThrow(/balance_infos is empty/);
  });

  it('turns an answer without balance_infos into a BillingApiError', async () => {
    fake.fail({ status: 200, body: '{"is_available":true}' });
    await expect(deepseekBilling.snapshot(ctx(), NOW)).rejects.toThrow(BillingApiError);
  });

  it('turns an entry whose total_balance is not a number into a BillingApiError', async () => {
    fake.setBalances([{ ...CNY, total_balance: 'lots' }]);
    await expect(deepseekBilling.snapshot(ctx(), NOW)).rejects.toThrow(/total_balance/);
  });

  it("answers a wrong key with DeepSeek's 401", async () => {
    const err = await deepseekBilling.balance(ctx({ key: 'sk-not-this-one' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BillingApiError);
    expect((err as BillingApiError).status).toBe(401);
    expect((err as Error).message).toContain('Authentication Fails');
  });
});

describeSnapshotFaults('deepseekBilling', deepseekBilling, (key) => startDeepseekBillingFake({ key }));
