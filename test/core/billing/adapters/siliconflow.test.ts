import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { siliconflowBilling } from '../../../../functions/core/billing/adapters/siliconflow.ts';
import { BillingApiError, type BillingContext } from '../../../../functions/core/billing/types.ts';
import {
  type SiliconflowBillingFake,
  siliconflowError,
  startSiliconflowBillingFake,
} from '../../../support/fake-billing-siliconflow.ts';
import { billingTestContext } from './billing-context.ts';
import { describeSnapshotFaults, NOW } from './snapshot-faults.ts';

const KEY = 'sk-siliconflow-test';

describe('siliconflowBilling', () => {
  const t = billingTestContext(KEY);
  let fake: SiliconflowBillingFake;
  const ctx = (over: Partial<BillingContext> = {}) => t.ctx(fake.url, over);

  beforeAll(async () => {
    fake = await startSiliconflowBillingFake({ key: KEY });
  });
  afterAll(async () => {
    await fake.close();
    await t.http.close();
  });
  beforeEach(() => fake.reset());

  it('is a snapshot bill', () => {
    expect(siliconflowBilling.kind).toBe('snapshot');
    expect(siliconflowBilling.type).toBe('siliconflow');
  });

  it('reads the totalBalance string as the balance, in CNY by default', async () => {
    fake.setBalance('123.45', { balance: '3.45', chargeBalance: '120.00' });
    expect(await siliconflowBilling.snapshot(ctx(), NOW)).toEqual({
      at: NOW,
      balance: { amount: 123.45, currency: 'CNY' },
    });
  });

  it('reads /v1/user/info with the API key as Bearer', async () => {
    await siliconflowBilling.snapshot(ctx(), NOW);
    expect(fake.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/v1/user/info', `Bearer ${KEY}`],
    ]);
  });

  it('reads a zero balance as 0, not as missing', async () => {
    fake.setBalance('0.00', { balance: '0', chargeBalance: '0' });
    expect((await siliconflowBilling.snapshot(ctx(), NOW)).balance).toEqual({ amount: 0, currency: 'CNY' });
  });

  it('keeps the configured currency (the international site bills in USD)', async () => {
    fake.setBalance('9.50');
    expect(await siliconflowBilling.balance(ctx({ options: { currency: 'USD' } }))).toEqual({
      amount: 9.5,
      currency: 'USD',
    });
  });

  it('balance() returns the same balance as a reading', async () => {
    fake.setBalance('42.10');
    const s = await siliconflowBilling.snapshot(ctx(), NOW);
    expect(await siliconflowBilling.balance(ctx())).toEqual(s.balance);
  });

  it.each([
    [
      'an error body (code 50603)',
      siliconflowError(50603, 'System is too busy now. Please try again later.'),
    ],
    ['a code other than 20000', JSON.stringify({ code: 30011, message: 'quota check failed', status: true })],
    [
      'status false',
      JSON.stringify({ code: 20000, message: 'account suspended', status: false, data: null }),
    ],
  ])('turns %s into a BillingApiError with the message', async (_, body) => {
    fake.fail({ status: 200, body });
    const err = await siliconflowBilling.snapshot(ctx(), NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BillingApiError);
    expect((err as Error).message).toContain(JSON.parse(body).message);
  });

  it('turns a totalBalance that is not a number into a BillingApiError naming the field', async () => {
    fake.setBalance('n/a');
    await expect(siliconflowBilling.snapshot(ctx(), NOW)).rejects.toThrow(/totalBalance/);
  });

  it("answers a wrong key with SiliconFlow's 401", async () => {
    const err = await siliconflowBilling.balance(ctx({ key: 'sk-not-this-one' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BillingApiError);
    expect((err as BillingApiError).status).toBe(401);
    expect((err as Error).message).toContain('Invalid token');
  });
});

describeSnapshotFaults('siliconflowBilling', siliconflowBilling, (key) =>
  startSiliconflowBillingFake({ key }),
);
