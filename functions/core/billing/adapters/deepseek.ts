/**
 * DeepSeek: `GET /user/balance` (Bearer API key) on the API host, outside the OpenAI-compatible `/v1`:
 * `{is_available, balance_infos: [{currency, total_balance, granted_balance, topped_up_balance}]}` with the
 * amounts as decimal strings, one entry per currency the account holds. No usage counter: a snapshot bill
 * read through balance deltas.
 * Docs: https://api-docs.deepseek.com/api/get-user-balance
 */
import { getJson, isRecord, numberOf } from '../http.ts';
import { BillingApiError, type BillingContext, type Money } from '../types.ts';
import { balanceOnlyBilling } from './balance-only.ts';

const PATH = '/user/balance';

/**
 * The host the balance lives on: the base URL without its OpenAI-compatibility suffix (`/v1`, or the
 * `/beta` of beta features), so `https://api.deepseek.com/v1` reads `https://api.deepseek.com/user/balance`
 * and a proxy's own path prefix is kept.
 */
function deepseekApiRoot(baseUrl: string): string {
  return baseUrl.replace(/\/(v1|beta)$/, '');
}

async function balanceOf(ctx: BillingContext): Promise<Money> {
  const json = await getJson({ ...ctx, baseUrl: deepseekApiRoot(ctx.baseUrl) }, PATH);
  const infos = isRecord(json) ? json.balance_infos : undefined;
  if (!Array.isArray(infos)) throw new BillingApiError(`${PATH}: no balance_infos list in the answer`);
  const entries = infos.filter(isRecord);
  const wanted = typeof ctx.options.currency === 'string' ? ctx.options.currency : undefined;
  // The configured currency when the account holds it, else the first (a CNY-only account reads CNY).
  const entry = entries.find((e) => e.currency === wanted) ?? entries[0];
  if (entry === undefined) throw new BillingApiError(`${PATH}: balance_infos is empty`);
  const amount = numberOf(entry.total_balance);
  const currency = entry.currency;
  if (amount === undefined || typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
    throw new BillingApiError(`${PATH}: an entry without a numeric total_balance and a currency code`);
  }
  return { amount, currency };
}

export const deepseekBilling = balanceOnlyBilling('deepseek', balanceOf);
