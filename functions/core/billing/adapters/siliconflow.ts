/**
 * SiliconFlow: `GET /user/info` (Bearer API key) reports the account's balances as decimal strings —
 * `balance` (granted), `chargeBalance` (topped up) and `totalBalance` (their sum), in CNY on
 * api.siliconflow.cn. No usage counter exists, so this is a snapshot bill read through balance deltas.
 * Docs: https://docs.siliconflow.cn/cn/api-reference/userinfo/get-user-info
 */
import { getJson, isRecord, numberOf } from '../http.ts';
import { BillingApiError, type BillingContext, type Money } from '../types.ts';
import { balanceOnlyBilling } from './balance-only.ts';

const PATH = '/user/info';
/** The `code` of a successful answer; errors carry others (`{"code":20012,"message":…,"data":null}`). */
const OK_CODE = 20000;

async function totalBalance(ctx: BillingContext): Promise<Money> {
  const json = await getJson(ctx, PATH);
  if (!isRecord(json)) throw new BillingApiError(`${PATH}: the answer is not a JSON object`);
  if (json.code !== OK_CODE || json.status !== true) {
    const message = typeof json.message === 'string' ? json.message : 'no message';
    throw new BillingApiError(`${PATH}: SiliconFlow answered code ${String(json.code)}: ${message}`);
  }
  const amount = isRecord(json.data) ? numberOf(json.data.totalBalance) : undefined;
  if (amount === undefined) throw new BillingApiError(`${PATH}: no numeric data.totalBalance in the answer`);
  // The international site (api.siliconflow.com) bills in USD: its config says `currency: USD`.
  return { amount, currency: typeof ctx.options.currency === 'string' ? ctx.options.currency : 'CNY' };
}

export const siliconflowBilling = balanceOnlyBilling('siliconflow', totalBalance);
