// What every billing adapter test starts from: a real HTTP client, fake time for the adapter's waits, and
// the BillingContext that points it at a fake; and the BillingApiError a failing call throws.
import { expect } from 'vitest';
import { BillingApiError, type BillingContext } from '../../../../functions/core/billing/types.ts';
import { createUndiciClient } from '../../../../functions/core/upstream/undici-client.ts';

export interface BillingTestContext {
  readonly http: ReturnType<typeof createUndiciClient>;
  /** Every wait the adapter asked for (ms); fake time: the wait returns at once. */
  readonly slept: number[];
  /** A context for `baseUrl` with the billing key `key` (or `over.key`: another, or undefined for none). */
  ctx(baseUrl: string, over?: Partial<BillingContext>): BillingContext;
}

/** Close `http` after the suite. */
export function billingTestContext(key: string): BillingTestContext {
  const http = createUndiciClient();
  const slept: number[] = [];
  return {
    http,
    slept,
    ctx: (baseUrl, over = {}) => ({
      http,
      baseUrl,
      key,
      providerId: 'test-provider',
      options: {},
      timeoutMs: 2_000,
      sleep: async (ms) => {
        slept.push(ms);
      },
      ...over,
    }),
  };
}

/** Runs `read` and returns the BillingApiError it throws. */
export async function failure(read: () => Promise<unknown>): Promise<BillingApiError> {
  const err = await read().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BillingApiError);
  return err as BillingApiError;
}
