/**
 * OpenAI's Admin API, with an admin key as Bearer: `GET /organization/costs` gives the bill (daily buckets
 * of `amount.value` in the currency it names, USD), `GET /organization/usage/completions` and
 * `/organization/usage/embeddings` grouped by model give the tokens and requests behind it (the ledger counts
 * both kinds of request). All page with `has_more` / `next_page` → `page`.
 * Docs: https://platform.openai.com/docs/api-reference/usage/costs
 *       https://platform.openai.com/docs/api-reference/usage/completions
 *       https://platform.openai.com/docs/api-reference/usage/embeddings
 */
import { isRecord, numberOf } from '../http.ts';
import { type BillingAdapter, BillingApiError, type BillingContext, type DayFigures } from '../types.ts';
import { type FieldTable, keyOf, moneyOf, type Row, reportReader, usageFigures, utcDay } from './daily.ts';

const COSTS = '/organization/costs';
const COMPLETIONS = '/organization/usage/completions';
const EMBEDDINGS = '/organization/usage/embeddings';
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
/** An embeddings result: input tokens and requests (no output). */
const EMBEDDING_USAGE: FieldTable<'inputTokens' | 'requests'> = {
  inputTokens: ['input_tokens'],
  requests: ['num_model_requests'],
};

type Usage = Omit<DayFigures, 'cost'>;

/** Completions and embeddings together, as the ledger has them (models differ, so byModel just merges). */
function sum(a: Usage, b: Usage): Usage {
  const add = (x: number | undefined, y: number | undefined) =>
    x === undefined && y === undefined ? undefined : (x ?? 0) + (y ?? 0);
  const out: { -readonly [K in keyof Usage]: Usage[K] } = {};
  const input = add(a.inputTokens, b.inputTokens);
  const output = add(a.outputTokens, b.outputTokens);
  const requests = add(a.requests, b.requests);
  if (input !== undefined) out.inputTokens = input;
  if (output !== undefined) out.outputTokens = output;
  if (requests !== undefined) out.requests = requests;
  if (a.byModel !== undefined || b.byModel !== undefined) out.byModel = { ...a.byModel, ...b.byModel };
  return out;
}

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

  const byModel = { ...window, group_by: 'model', limit: BUCKETS_PER_PAGE };
  const completions = usageFigures(COMPLETIONS, await read(COMPLETIONS, byModel), USAGE);
  const embeddings = usageFigures(EMBEDDINGS, await read(EMBEDDINGS, byModel), EMBEDDING_USAGE);
  return { cost, ...sum(completions, embeddings) };
}

/**
 * The costs bucket decides whether the day is known: none → undefined. A bucket with no results is a day
 * OpenAI reports as costing nothing. Costs cover the whole organization, not only the gateway's traffic.
 */
export const openaiCostsBilling = { type: 'openai-costs', kind: 'daily', day } satisfies BillingAdapter;
