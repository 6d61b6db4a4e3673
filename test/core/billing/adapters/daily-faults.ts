// What every daily-kind billing adapter does when its API misbehaves (one suite, run against each adapter's
// fake): a 429 is waited out for its retry-after (fake time) and retried, a 500, a timeout or a broken body
// that lasts ends as a BillingApiError naming the cause, a refused key says which key the API wants, and no
// message ever carries the key.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BillingContext } from '../../../../functions/core/billing/types.ts';
import type { BillingFakeBase } from '../../../support/fake-billing-server.ts';
import { billingTestContext, failure } from './billing-context.ts';

export interface DailyFaultTarget<F extends BillingFakeBase> {
  /** Starts the fake with figures for a day `read` asks for. */
  start(key: string): Promise<F>;
  seed(fake: F): void;
  /** One adapter call (e.g. `day(ctx, '2025-08-24')`) and what it returns for the seeded figures. */
  read(ctx: BillingContext): Promise<unknown>;
  readonly expected: unknown;
  /** The path (under the base URL) of the call's first request. */
  readonly firstPath: string;
  /** Words of the hint a refused key gets. */
  readonly keyHint: RegExp;
}

export function describeDailyFaults<F extends BillingFakeBase>(name: string, t: DailyFaultTarget<F>): void {
  describe(`${name} when the billing API misbehaves`, () => {
    const key = 'sk-fault-suite-secret-0000';
    const c = billingTestContext(key);
    let fake: F;
    let requestsPerRead = 0;
    const ctx = (over: Partial<BillingContext> = {}) => c.ctx(fake.url, over);

    beforeAll(async () => {
      fake = await t.start(key);
      t.seed(fake);
      await t.read(ctx());
      requestsPerRead = fake.requests.length;
    });
    afterAll(async () => {
      await fake.close();
      await c.http.close();
    });
    beforeEach(() => {
      fake.reset();
      t.seed(fake);
      c.slept.length = 0;
    });

    it('waits out a 429 for its retry-after (fake time), then reads the same figures', async () => {
      fake.fail({ status: 429, retryAfter: '2' });
      expect(await t.read(ctx())).toEqual(t.expected);
      expect(c.slept).toEqual([2_000]);
      expect(fake.requests).toHaveLength(requestsPerRead + 1);
    });

    it('retries a 500 with backoff, then fails with the status and the path once it lasts', async () => {
      fake.fail({ status: 500, times: Number.POSITIVE_INFINITY });
      const err = await failure(() => t.read(ctx()));
      expect(err.status).toBe(500);
      expect(err.message).toContain(`${t.firstPath}: HTTP 500`);
      expect(fake.requests).toHaveLength(3);
      expect(c.slept).toEqual([500, 1_000]);
    });

    it('fails with "timed out" when every try outlasts the call timeout', async () => {
      fake.fail({ delayMs: 2_000, times: Number.POSITIVE_INFINITY });
      const err = await failure(() => t.read(ctx({ timeoutMs: 100 })));
      expect(err.message).toBe(`${t.firstPath}: timed out after 100 ms`);
      expect(fake.requests).toHaveLength(3);
    });

    it('fails on a body cut in the middle of the JSON', async () => {
      fake.fail({ brokenJson: true });
      const err = await failure(() => t.read(ctx()));
      expect(err.message).toBe(`${t.firstPath}: the answer is not JSON`);
      expect(fake.requests).toHaveLength(1);
    });

    it('fails at once on a refused key, saying which key it needs, without the key', async () => {
      const err = await failure(() => t.read(c.ctx(fake.url, { key: `${key}-wrong` })));
      expect(err.status).toBe(401);
      expect(err.message).toMatch(t.keyHint);
      expect(err.message).not.toContain(key);
      expect(fake.requests).toHaveLength(1);
    });

    it('fails before any request when no billing key is configured', async () => {
      const err = await failure(() => t.read(c.ctx(fake.url, { key: undefined })));
      expect(err.message).toMatch(/^test-provider: no billing key configured \(/);
      expect(fake.requests).toHaveLength(0);
    });
  });
}
