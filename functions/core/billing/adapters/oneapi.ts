/**
 * one-api / new-api relays (4sapi, DMXAPI, AIHubMix, Treerouter…): the OpenAI-compatible billing panel
 * `GET /dashboard/billing/subscription` (the quota, in dollars) and `GET /dashboard/billing/usage` (the usage,
 * `total_usage` in cents), both with the relay key as Bearer. The usage is cumulative — new-api and one-api
 * ignore the date range — so this is a snapshot bill: the reconciler diffs two readings.
 * Docs: https://github.com/QuantumNous/new-api-docs/blob/main/docs/en/api/fei-account-billing-panel.md
 * Source: https://github.com/QuantumNous/new-api/blob/main/controller/billing.go
 */
import { getJson, isRecord, numberOf } from '../http.ts';
import {
  type BillingAdapter,
  BillingApiError,
  type BillingContext,
  type Money,
  type Snapshot,
} from '../types.ts';

const SUBSCRIPTION = '/dashboard/billing/subscription';
const USAGE = '/dashboard/billing/usage';
/** The earliest `start_date` asked for: before any relay in the presets existed, so the range is "ever". */
const SINCE = '2023-01-01';
/** new-api and one-api report an unlimited quota as `hard_limit_usd: 100000000` (not a real limit). */
const UNLIMITED_USD = 100_000_000;

/**
 * new-api answers its own failures with HTTP 200 and `{"error":{"message","type"}}`, so a 2xx body is
 * checked for that before its fields are read.
 */
function body(path: string, json: unknown): Record<string, unknown> {
  if (!isRecord(json)) throw new BillingApiError(`${path}: the answer is not a JSON object`);
  const err = json.error;
  if (isRecord(err)) {
    const message = typeof err.message === 'string' ? err.message : JSON.stringify(err);
    throw new BillingApiError(`${path}: the relay answered an error: ${message}`);
  }
  return json;
}

function field(path: string, json: Record<string, unknown>, name: string): number {
  const n = numberOf(json[name]);
  if (n === undefined) {
    throw new BillingApiError(
      `${path}: no numeric \`${name}\` in the answer — is this a one-api/new-api relay? (else set billing.type)`,
    );
  }
  return n;
}

/** `YYYY-MM-DD` of the UTC day after `iso`: the exclusive end of a range that includes today. */
function dayAfter(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new BillingApiError(`oneapi: not an ISO time: ${iso}`);
  return new Date(t + 86_400_000).toISOString().slice(0, 10);
}

async function read(ctx: BillingContext, nowIso: string): Promise<Snapshot> {
  const currency = typeof ctx.options.currency === 'string' ? ctx.options.currency : 'USD';
  // new-api documents `total_usage` in units of $0.01; forks that send dollars are configured so.
  const perDollar = ctx.options.usageUnit === 'dollars' ? 1 : 100;
  const endDate = dayAfter(nowIso);
  // One after the other: relays rate-limit per key, and the reading is hourly, not latency-bound.
  const sub = body(SUBSCRIPTION, await getJson(ctx, SUBSCRIPTION));
  const usage = body(USAGE, await getJson(ctx, USAGE, { query: { start_date: SINCE, end_date: endDate } }));
  const hardLimit = field(SUBSCRIPTION, sub, 'hard_limit_usd');
  const spent: Money = { amount: field(USAGE, usage, 'total_usage') / perDollar, currency };
  // hard_limit_usd is the whole quota (what is left plus what was used), so the balance is it minus usage.
  const limited = hardLimit < UNLIMITED_USD;
  return {
    at: nowIso,
    spent,
    ...(limited ? { balance: { amount: hardLimit - spent.amount, currency } } : {}),
  };
}

/**
 * Amounts are in the relay's display currency: `*_usd` fields are dollars on a USD site, yuan on a site
 * set to CNY (`billing.currency: CNY`). A relay set to show tokens sends token counts, which no setting fixes.
 */
export const oneapiBilling = {
  type: 'oneapi',
  kind: 'snapshot',
  snapshot: read,
  async balance(ctx) {
    // balance() is given no time; the clock only bounds the range of a cumulative query that relays ignore.
    return (await read(ctx, new Date().toISOString())).balance;
  },
} satisfies BillingAdapter;
