/**
 * OpenAI's Admin API, with an admin key as Bearer: `GET /organization/costs` gives the bill (daily buckets
 * of `amount.value` in the currency it names, USD), `GET /organization/usage/completions` grouped by model
 * gives the tokens and requests behind it. Both page with `has_more` / `next_page` → `page`.
 * Docs: https://platform.openai.com/docs/api-reference/usage/costs
 *       https://platform.openai.com/docs/api-reference/usage/completions
 */
import { isRecord, numberOf } from '../http.ts';
import { type BillingAdapter, BillingApiError, type BillingContext, type DayFigures } from '../types.ts';
import { type FieldTable, keyOf, moneyOf, type Row, reportReader, usageFigures, utcDay } from './daily.ts';

const COSTS = '/organization/costs';
const COMPLETIONS = '/organization/usage/completions';
/** Buckets per page: the window holds one day; costs allow 1–180, completions with `1d` buckets 1–31. */
const BUCKETS_PER_PAGE = 31;
const KEY_HINT =
  "the billing key must be an OpenAI Admin key (sk-admin-…): it reads the organization's costs";

/**
 * A completions result → the ledger's figures. `input_tokens` already counts the cached ones
 * (`input_cached_tokens` is a part of it), as the ledger's prompt tokens do.
 */
const USAGE: FieldTable<'inputTokens' | 'outputTokens' | 'requests'> = {
  inputTokens: ['input_tokens'],
  outputTokens: ['output_tokens'],
  requests: ['num_model_requests'],
};

function startOf(path: string, b: Row): number {
  const s = numberOf(b.start_time);
  if (s === undefined) throw new BillingApiError(`${path}: a bucket has no numeric start_time`);
  return s * 1000;
}

function amountOf(r: Row): { amount: number; currency: string } {
  const a = r.amount;
  const value = isRecord(a) ? numberOf(a.value) : undefined;
  if (!isRecord(a) || value === undefined || typeof a.currency !== 'string') {
    throw new BillingApiError(`${COSTS}: a result has no amount {value, currency}`);
  }
  return { amount: value, currency: a.currency };
}

async function day(ctx: BillingContext, date: string): Promise<DayFigures | undefined> {
  const { startMs, endMs } = utcDay(date);
  const headers = { authorization: `Bearer ${keyOf(ctx, 'an OpenAI Admin key')}` };
  const window = { start_time: startMs / 1000, end_time: endMs / 1000, bucket_width: '1d' };
  const read = reportReader(ctx, { headers, startMs, startOf, keyHint: KEY_HINT });

  const costs = await read(COSTS, { ...window, limit: BUCKETS_PER_PAGE });
  if (costs === undefined) return undefined;
  const cost = moneyOf(COSTS, costs.map(amountOf), ctx.options.currency);

  const usage = await read(COMPLETIONS, { ...window, group_by: 'model', limit: BUCKETS_PER_PAGE });
  return { cost, ...usageFigures(COMPLETIONS, usage, USAGE) };
}

/**
 * The costs bucket decides whether the day is known: none → undefined. A bucket with no results is a day
 * OpenAI reports as costing nothing. Costs cover the whole organization, not only the gateway's traffic.
 */
export const openaiCostsBilling = { type: 'openai-costs', kind: 'daily', day } satisfies BillingAdapter;
