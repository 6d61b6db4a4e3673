/**
 * Anthropic's Admin API, with an admin key in `x-api-key`: `GET /organizations/cost_report` gives the bill
 * (daily buckets; `amount` is a decimal string in cents of `currency`), `GET /organizations/usage_report/messages`
 * grouped by model gives the tokens behind it. Both page with `has_more` / `next_page` → `page`.
 * Docs: https://platform.claude.com/docs/en/api/admin-api/usage-cost/get-cost-report
 *       https://platform.claude.com/docs/en/api/admin-api/usage-cost/get-messages-usage-report
 */
import { ANTHROPIC_VERSION } from '../../providers/anthropic/adapter.ts';
import { numberOf } from '../http.ts';
import { type BillingAdapter, BillingApiError, type BillingContext, type DayFigures } from '../types.ts';
import { type FieldTable, keyOf, moneyOf, type Row, reportReader, usageFigures, utcDay } from './daily.ts';

const COST_REPORT = '/organizations/cost_report';
const MESSAGES = '/organizations/usage_report/messages';
const KEY_HINT = 'the billing key must be an Anthropic Admin key (sk-ant-admin…): it reads the cost report';

/**
 * A messages usage result → the ledger's figures: the ledger's prompt tokens are every input token the
 * request was billed for — uncached, read from the cache, and written to it (5-minute and 1-hour entries).
 */
const USAGE: FieldTable<'inputTokens' | 'outputTokens'> = {
  inputTokens: [
    'uncached_input_tokens',
    'cache_read_input_tokens',
    'cache_creation.ephemeral_5m_input_tokens',
    'cache_creation.ephemeral_1h_input_tokens',
  ],
  outputTokens: ['output_tokens'],
};

function startOf(path: string, b: Row): number {
  const s = typeof b.starting_at === 'string' ? Date.parse(b.starting_at) : Number.NaN;
  if (Number.isNaN(s)) throw new BillingApiError(`${path}: a bucket has no RFC 3339 starting_at`);
  return s;
}

/** `amount` is in cents ("123.45" is $1.2345). */
function amountOf(r: Row): { amount: number; currency: string } {
  const cents = numberOf(r.amount);
  if (cents === undefined || typeof r.currency !== 'string') {
    throw new BillingApiError(`${COST_REPORT}: a result has no decimal amount and currency`);
  }
  return { amount: cents / 100, currency: r.currency };
}

async function day(ctx: BillingContext, date: string): Promise<DayFigures | undefined> {
  const { startMs, endMs } = utcDay(date);
  const headers = {
    'x-api-key': keyOf(ctx, 'an Anthropic Admin key'),
    'anthropic-version': ANTHROPIC_VERSION,
  };
  const window = {
    starting_at: new Date(startMs).toISOString(),
    ending_at: new Date(endMs).toISOString(),
    bucket_width: '1d',
  };
  const read = reportReader(ctx, { headers, startMs, startOf, keyHint: KEY_HINT });

  const costs = await read(COST_REPORT, window);
  if (costs === undefined) return undefined;
  const cost = moneyOf(COST_REPORT, costs.map(amountOf), ctx.options.currency);

  const usage = await read(MESSAGES, { ...window, 'group_by[]': ['model'] });
  return { cost, ...usageFigures(MESSAGES, usage, USAGE) };
}

/**
 * The cost bucket decides whether the day is known: none → undefined; a bucket with no results is a day
 * Anthropic reports as costing nothing. The report has no request counts, and covers the organization.
 */
export const anthropicCostReportBilling = {
  type: 'anthropic-cost-report',
  kind: 'daily',
  day,
} satisfies BillingAdapter;
