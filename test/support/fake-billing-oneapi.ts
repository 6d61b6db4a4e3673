// A fake one-api / new-api relay billing panel: GET /v1/dashboard/billing/subscription and …/usage (and the
// same without /v1, as new-api serves both), Bearer relay key, the bodies new-api's controller/billing.go
// writes. Like new-api, it ignores the usage date range (the adapter's request is recorded for the tests).
// Docs: https://github.com/QuantumNous/new-api-docs/blob/main/docs/en/api/fei-account-billing-panel.md
import {
  type Answer,
  type BillingFakeBase,
  bearerAuth,
  json,
  startBillingServer,
} from './fake-billing-server.ts';

/** What new-api sends as the quota of a key with unlimited quota. */
export const UNLIMITED_USD = 100_000_000;

export interface OneapiBillingFake extends BillingFakeBase {
  /** Dollars used so far; `total_usage` carries it in the relay's unit (new-api: cents). */
  setUsedUsd(usd: number): void;
  /** The whole quota in dollars (`hard_limit_usd`: what is left plus what was used, as new-api reports it). */
  setQuotaUsd(usd: number): void;
  /** An unlimited-quota key: every `*_limit_usd` is 100000000. */
  setUnlimited(): void;
}

export interface OneapiBillingFakeOptions {
  readonly key?: string;
  /** The unit of `total_usage` on the wire: new-api's cents (default) or the dollars of some forks. */
  readonly usageUnit?: 'cents' | 'dollars';
}

/** new-api's TokenAuth answer to a missing or unknown key (`abortWithOpenAiMessage`, HTTP 401). */
const unauthorized = (): Answer =>
  json(
    {
      error: { message: '无效的令牌 (request id: 20250101000000000000000)', type: 'new_api_error', code: '' },
    },
    401,
  );

export async function startOneapiBillingFake(
  opts: OneapiBillingFakeOptions = {},
): Promise<OneapiBillingFake> {
  const perDollar = opts.usageUnit === 'dollars' ? 1 : 100;
  let usedUsd = 0;
  let quotaUsd = 100;

  const subscription = (): Answer =>
    json({
      object: 'billing_subscription',
      has_payment_method: true,
      soft_limit_usd: quotaUsd,
      hard_limit_usd: quotaUsd,
      system_hard_limit_usd: quotaUsd,
      access_until: 0,
    });
  const usage = (): Answer => json({ object: 'list', total_usage: usedUsd * perDollar });
  const routes: Record<string, () => Answer> = {};
  for (const prefix of ['', '/v1']) {
    routes[`${prefix}/dashboard/billing/subscription`] = subscription;
    routes[`${prefix}/dashboard/billing/usage`] = usage;
  }

  const core = await startBillingServer({
    basePath: '/v1',
    routes,
    authorize: bearerAuth(opts.key ?? 'sk-relay-test', unauthorized),
  });
  return {
    ...core,
    setUsedUsd: (usd) => {
      usedUsd = usd;
    },
    setQuotaUsd: (usd) => {
      quotaUsd = usd;
    },
    setUnlimited: () => {
      quotaUsd = UNLIMITED_USD;
    },
    reset: () => {
      core.reset();
      usedUsd = 0;
      quotaUsd = 100;
    },
  };
}
