// A fake DeepSeek balance API: GET /user/balance on the API host — not under the /v1 a provider config
// uses — with a Bearer API key, answering `{is_available, balance_infos:[{currency, total_balance,
// granted_balance, topped_up_balance}]}` (amounts as decimal strings).
// Docs: https://api-docs.deepseek.com/api/get-user-balance
import {
  type Answer,
  type BillingFakeBase,
  bearerAuth,
  json,
  startBillingServer,
} from './fake-billing-server.ts';

export interface BalanceInfo {
  readonly currency: string;
  readonly total_balance: string;
  readonly granted_balance: string;
  readonly topped_up_balance: string;
}

export interface DeepseekBillingFake extends BillingFakeBase {
  /** One entry per currency the account holds. */
  setBalances(infos: readonly BalanceInfo[]): void;
  setAvailable(available: boolean): void;
}

const DEFAULT_INFOS: readonly BalanceInfo[] = [
  { currency: 'CNY', total_balance: '110.00', granted_balance: '10.00', topped_up_balance: '100.00' },
];

/** DeepSeek's 401 (OpenAI-style error body, the key masked). */
const unauthorized = (auth: string | undefined): Answer => {
  const key = auth?.replace(/^Bearer\s+/i, '') ?? '';
  const masked = `****${key.slice(-4)}`;
  const message = `Authentication Fails, Your api key: ${masked} is invalid`;
  return json(
    { error: { message, type: 'authentication_error', param: null, code: 'invalid_request_error' } },
    401,
  );
};

export async function startDeepseekBillingFake(opts: { key?: string } = {}): Promise<DeepseekBillingFake> {
  let infos = DEFAULT_INFOS;
  let available = true;
  const core = await startBillingServer({
    basePath: '/v1',
    routes: { '/user/balance': () => json({ is_available: available, balance_infos: infos }) },
    authorize: bearerAuth(opts.key ?? 'sk-deepseek-test', unauthorized),
  });
  return {
    ...core,
    setBalances: (i) => {
      infos = i;
    },
    setAvailable: (a) => {
      available = a;
    },
    reset: () => {
      core.reset();
      infos = DEFAULT_INFOS;
      available = true;
    },
  };
}
