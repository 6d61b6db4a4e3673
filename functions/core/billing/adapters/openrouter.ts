/**
 * OpenRouter, with a management key as Bearer: `GET /activity?date=` gives one UTC day per model and
 * endpoint (`usage` in USD, requests, tokens), `GET /credits` the credits bought and used, and
 * `GET /generation?id=` one request as OpenRouter billed it, for the sampled checks.
 * Docs: https://openrouter.ai/docs/api/api-reference/analytics/get-user-activity
 *       https://openrouter.ai/docs/api/api-reference/credits/get-credits
 *       https://openrouter.ai/docs/api/api-reference/generations/get-generation
 */
import { getJson, isRecord, numberOf } from '../http.ts';
import {
  type BillingAdapter,
  BillingApiError,
  type BillingContext,
  type DayFigures,
  type GenerationFigures,
  type Money,
} from '../types.ts';
import { type FieldTable, figuresOf, keyOf, ModelTotals, utcDay, withKeyHint } from './daily.ts';

const ACTIVITY = '/activity';
const CREDITS = '/credits';
const GENERATION = '/generation';
const KEY_HINT = 'the billing key must be an OpenRouter management key: it reads activity and credits';

/**
 * An activity row → the ledger's figures. `usage` is what OpenRouter charged in credits; a BYOK request's
 * inference (`byok_usage_inference`) is billed by the upstream provider, not here. `completion_tokens`
 * already counts the reasoning tokens (`reasoning_tokens` is a part of it), as the ledger's do.
 */
const ACTIVITY_FIELDS: FieldTable<'cost' | 'inputTokens' | 'outputTokens' | 'requests'> = {
  cost: ['usage'],
  inputTokens: ['prompt_tokens'],
  outputTokens: ['completion_tokens'],
  requests: ['requests'],
};

function dataOf(path: string, json: unknown): unknown {
  if (!isRecord(json) || !('data' in json)) throw new BillingApiError(`${path}: the answer has no \`data\``);
  return json.data;
}

const bearer = (ctx: BillingContext) => ({
  authorization: `Bearer ${keyOf(ctx, 'an OpenRouter management key')}`,
});

async function day(ctx: BillingContext, date: string): Promise<DayFigures | undefined> {
  utcDay(date); // a malformed day fails here, not as a 400 from the API
  const json = await withKeyHint(getJson(ctx, ACTIVITY, { query: { date }, headers: bearer(ctx) }), KEY_HINT);
  const data = dataOf(ACTIVITY, json);
  if (!Array.isArray(data)) throw new BillingApiError(`${ACTIVITY}: \`data\` is not a list`);
  const totals = new ModelTotals();
  for (const [i, row] of data.entries()) {
    if (!isRecord(row) || typeof row.date !== 'string') {
      throw new BillingApiError(`${ACTIVITY}: data[${i}] is not an activity row with a date`);
    }
    // A relay that ignores `date` answers the whole 30 days: only the asked day's rows count.
    if (row.date.slice(0, 10) !== date) continue;
    totals.add(row.model, figuresOf(ACTIVITY, row, ACTIVITY_FIELDS));
  }
  const cost = totals.total.cost;
  if (cost === undefined) return undefined;
  return {
    cost: { amount: cost, currency: 'USD' },
    ...totals.figures(['inputTokens', 'outputTokens', 'requests']),
  };
}

async function balance(ctx: BillingContext): Promise<Money> {
  const json = await withKeyHint(getJson(ctx, CREDITS, { headers: bearer(ctx) }), KEY_HINT);
  const data = dataOf(CREDITS, json);
  const bought = isRecord(data) ? numberOf(data.total_credits) : undefined;
  const used = isRecord(data) ? numberOf(data.total_usage) : undefined;
  if (bought === undefined || used === undefined) {
    throw new BillingApiError(`${CREDITS}: no numeric data.total_credits and data.total_usage`);
  }
  return { amount: bought - used, currency: 'USD' };
}

/** The provider's own count (`native_tokens_*`, what the upstream usage said), else OpenRouter's. */
function tokens(data: Record<string, unknown>, kind: 'prompt' | 'completion'): number | undefined {
  return numberOf(data[`native_tokens_${kind}`]) ?? numberOf(data[`tokens_${kind}`]);
}

async function generation(ctx: BillingContext, upstreamId: string): Promise<GenerationFigures | undefined> {
  let json: unknown;
  try {
    json = await getJson(ctx, GENERATION, { query: { id: upstreamId }, headers: bearer(ctx) });
  } catch (err) {
    // OpenRouter records a generation shortly after it ends: not found yet is not an error.
    if (err instanceof BillingApiError && err.status === 404) return undefined;
    throw err;
  }
  const data = dataOf(GENERATION, json);
  const costUsd = isRecord(data) ? numberOf(data.total_cost) : undefined;
  if (!isRecord(data) || costUsd === undefined) {
    throw new BillingApiError(`${GENERATION}: no numeric data.total_cost for ${upstreamId}`);
  }
  const inputTokens = tokens(data, 'prompt');
  const outputTokens = tokens(data, 'completion');
  return {
    costUsd,
    ...(inputTokens === undefined ? {} : { inputTokens }),
    ...(outputTokens === undefined ? {} : { outputTokens }),
  };
}

/**
 * A day with no activity rows is undefined, not $0: OpenRouter only keeps the last 30 completed UTC days,
 * so an empty answer does not prove that nothing was spent.
 */
export const openrouterBilling = {
  type: 'openrouter',
  kind: 'daily',
  day,
  balance,
  generation,
} satisfies BillingAdapter;
