// What every snapshot-kind billing adapter does when its API misbehaves (one suite, run against each
// adapter's fake): a 429 is waited out (fake time) and retried, a 500 that lasts, a timeout that lasts and
// a broken body each end as a BillingApiError naming the cause, never the key.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BillingAdapter, BillingContext } from '../../../../functions/core/billing/types.ts';
import type { BillingFakeBase } from '../../../support/fake-billing-server.ts';
import { billingTestContext, failure } from './billing-context.ts';

export const NOW = '2025-06-15T10:00:00.000Z';

export function describeSnapshotFaults(
  name: string,
  adapter: BillingAdapter,
  start: (key: string) => Promise<BillingFakeBase>,
): void {
  describe(`${name} when the billing API misbehaves`, () => {
    const key = 'sk-fault-suite-secret-0000';
    const t = billingTestContext(key);
    let fake: BillingFakeBase;
    const snapshot = (over: Partial<BillingContext> = {}) => adapter.snapshot!(t.ctx(fake.url, over), NOW);

    beforeAll(async () => {
      fake = await start(key);
    });
    afterAll(async () => {
      await fake.close();
      await t.http.close();
    });
    beforeEach(() => {
      fake.reset();
      t.slept.length = 0;
    });

    it('waits out a 429 for its retry-after and then reads the bill', async () => {
      fake.fail({ status: 429, retryAfter: '2' });
      const s = await snapshot();
      expect(s.at).toBe(NOW);
      expect(t.slept).toEqual([2_000]);
    });

    it('gives up on a 500 that lasts after three tries, as a BillingApiError with the status', async () => {
      fake.fail({ status: 500, times: 3 });
      const err = await failure(() => snapshot());
      expect(err.status).toBe(500);
      expect(err.message).toContain('HTTP 500');
      expect(fake.requests).toHaveLength(3);
      expect(t.slept).toEqual([500, 1_000]);
    });

    it('gives up on an API slower than the call timeout, as a BillingApiError saying so', async () => {
      fake.fail({ delayMs: 1_500, times: 3 });
      const err = await failure(() => snapshot({ timeoutMs: 100 }));
      expect(err.message).toMatch(/timed out after 100 ms/);
    });

    it('turns a broken JSON body into a BillingApiError', async () => {
      fake.fail({ brokenJson: true });
      const err = await failure(() => snapshot());
      expect(err.message).toMatch(/not JSON/);
    });

    it('turns a wrong key into a BillingApiError with the 401 that never shows the key', async () => {
      const wrong = 'sk-wrong-key-9a8b7c6d5e4f';
      const err = await failure(() => snapshot({ key: wrong }));
      expect(err.status).toBe(401);
      expect(err.message).not.toContain(wrong);
      expect(err.message).not.toContain('9a8b7c6d5e4f');
    });

    it('turns a missing key into a BillingApiError with the 401', async () => {
      const err = await failure(() => snapshot({ key: undefined }));
      expect(err.status).toBe(401);
    });
  });
}
