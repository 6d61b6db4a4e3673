// A fake SiliconFlow user API: GET /v1/user/info with a Bearer API key, answering the documented body
// (`{code:20000, message:'OK', status:true, data:{…, balance, chargeBalance, totalBalance}}`, amounts as
// decimal strings). Docs: https://docs.siliconflow.cn/cn/api-reference/userinfo/get-user-info
import {
  type Answer,
  type BillingFakeBase,
  bearerAuth,
  json,
  startBillingServer,
} from './fake-billing-server.ts';

export interface SiliconflowBillingFake extends BillingFakeBase {
  /** `totalBalance` (and optionally its parts: granted `balance`, topped-up `chargeBalance`), as strings. */
  setBalance(total: string, parts?: { balance?: string; chargeBalance?: string }): void;
}

/** A SiliconFlow error body, as its error-code FAQ shows one: `{"code":20012,"message":"…","data":null}`. */
export const siliconflowError = (code: number, message: string): string =>
  JSON.stringify({ code, message, data: null });

/** SiliconFlow's 401 to a missing or wrong key: a plain-text body. */
const unauthorized = (): Answer => ({ status: 401, text: 'Invalid token', contentType: 'text/plain' });

const DEFAULTS = { balance: '0.88', chargeBalance: '88.00', totalBalance: '88.88' };

export async function startSiliconflowBillingFake(
  opts: { key?: string } = {},
): Promise<SiliconflowBillingFake> {
  let balances = { ...DEFAULTS };
  const info = (): Answer =>
    json({
      code: 20000,
      message: 'OK',
      status: true,
      data: {
        id: 'userid',
        name: '',
        image: 'user_avatar_image_url',
        email: 'user_email_address',
        isAdmin: false,
        balance: balances.balance,
        status: 'normal',
        introduction: '',
        role: '',
        chargeBalance: balances.chargeBalance,
        totalBalance: balances.totalBalance,
      },
    });
  const core = await startBillingServer({
    basePath: '/v1',
    routes: { '/v1/user/info': info },
    authorize: bearerAuth(opts.key ?? 'sk-siliconflow-test', unauthorized),
  });
  return {
    ...core,
    setBalance: (total, parts = {}) => {
      balances = { ...balances, ...parts, totalBalance: total };
    },
    reset: () => {
      core.reset();
      balances = { ...DEFAULTS };
    },
  };
}
