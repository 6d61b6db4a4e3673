/**
 * What the daily-kind adapters share: the UTC day's window, the page envelope of OpenAI's and Anthropic's
 * admin reports (`{data: [bucket], has_more, next_page}`) and the reading of a day from them, and rows read
 * through a field table (each figure the sum of named fields, every one required) and added up per model.
 */

import { DAY_MS } from '../../days.ts';
import { own } from '../../json.ts';
import { allPages, type GetOptions, isRecord, numberOf, type Page } from '../http.ts';
import { BillingApiError, type BillingContext, type DayFigures, type Money } from '../types.ts';

export type Row = Readonly<Record<string, unknown>>;

/** `YYYY-MM-DD` → the UTC day's start (inclusive) and end (exclusive), epoch ms. */
export function utcDay(day: string): { readonly startMs: number; readonly endMs: number } {
  const startMs = /^\d{4}-\d{2}-\d{2}$/.test(day) ? Date.parse(`${day}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(startMs)) throw new BillingApiError(`not a UTC day (YYYY-MM-DD): ${day}`);
  return { startMs, endMs: startMs + DAY_MS };
}

/** The admin key the adapter needs, or an error saying where it goes. */
export function keyOf(ctx: BillingContext, what: string): string {
  if (ctx.key === undefined || ctx.key === '') {
    throw new BillingApiError(`${ctx.providerId}: no billing key configured (${what})`);
  }
  return ctx.key;
}

/**
 * Rethrows a 401/403 with what key the API wants: a provider's "invalid key" does not say that the
 * gateway's ordinary API key cannot read the bill.
 */
export async function withKeyHint<T>(p: Promise<T>, hint: string): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof BillingApiError && (err.status === 401 || err.status === 403)) {
      throw new BillingApiError(`${err.message} (${hint})`, err.status, err);
    }
    throw err;
  }
}

/** Reads one page of an admin report: its buckets and the cursor of the next page. */
function bucketPage(path: string): (json: unknown) => Page<Row> {
  return (json) => {
    if (!isRecord(json) || !Array.isArray(json.data)) {
      throw new BillingApiError(`${path}: the answer has no \`data\` list of buckets`);
    }
    const items = json.data.map((b, i) => {
      if (!isRecord(b) || !Array.isArray(b.results)) {
        throw new BillingApiError(`${path}: data[${i}] is not a bucket with a \`results\` list`);
      }
      return b;
    });
    if (json.has_more !== true) return { items, next: undefined };
    if (typeof json.next_page !== 'string' || json.next_page === '') {
      throw new BillingApiError(`${path}: has_more is true but next_page is missing`);
    }
    return { items, next: json.next_page };
  };
}

/**
 * The results of every bucket that starts at `dayStartMs`, or undefined when no bucket does (the provider
 * has no figures for the day). Such buckets are merged: an API that pages inside a bucket repeats it.
 */
function resultsOf(
  path: string,
  buckets: readonly Row[],
  startOf: (b: Row) => number,
  dayStartMs: number,
): Row[] | undefined {
  const mine = buckets.filter((b) => startOf(b) === dayStartMs);
  return mine.length === 0 ? undefined : mine.flatMap((b) => rowsOf(path, b.results));
}

function rowsOf(path: string, results: unknown): Row[] {
  const list = Array.isArray(results) ? results : [];
  return list.map((r, i) => {
    if (!isRecord(r)) throw new BillingApiError(`${path}: results[${i}] is not an object`);
    return r;
  });
}

/** How an adapter reads its admin reports for one UTC day. */
export interface ReportDay {
  /** The auth headers (and API version) of every request. */
  readonly headers: Readonly<Record<string, string>>;
  /** The day's start, epoch ms (see {@link utcDay}). */
  readonly startMs: number;
  /** A bucket's start, epoch ms; throws naming `path` when the bucket has none. */
  startOf(path: string, bucket: Row): number;
  /** What key a refused key should have been (see {@link withKeyHint}). */
  readonly keyHint: string;
}

/**
 * A reader of one report for the day: every page (the `page` cursor), then the results of the day's
 * bucket(s), undefined when there is none.
 */
export function reportReader(
  ctx: BillingContext,
  day: ReportDay,
): (path: string, query: NonNullable<GetOptions['query']>) => Promise<Row[] | undefined> {
  return async (path, query) => {
    const opts = { query, headers: day.headers, cursorParam: 'page' };
    const buckets = await withKeyHint(allPages(ctx, path, opts, bucketPage(path)), day.keyHint);
    return resultsOf(path, buckets, (b) => day.startOf(path, b), day.startMs);
  };
}

/** Each figure: the sum of these fields of a row (dotted paths into nested objects). */
export type FieldTable<K extends string> = Readonly<Record<K, readonly string[]>>;

/** A row's figures through its table; a field that is absent or not a number is a changed API. */
export function figuresOf<K extends string>(path: string, row: Row, table: FieldTable<K>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const [figure, fields] of Object.entries(table) as [K, readonly string[]][]) {
    let sum = 0;
    for (const field of fields) {
      let v: unknown = row;
      for (const part of field.split('.')) v = isRecord(v) ? v[part] : undefined;
      const n = numberOf(v);
      if (n === undefined) throw new BillingApiError(`${path}: a result has no numeric \`${field}\``);
      sum += n;
    }
    out[figure] = sum;
  }
  return out;
}

/**
 * The day's cost: the sum of its amounts, all in one currency (upper-cased ISO 4217). A day without amounts
 * costs 0 in `fallback` (the configured `billing.currency`, else USD).
 */
export function moneyOf(
  path: string,
  amounts: readonly { readonly amount: number; readonly currency: string }[],
  fallback: unknown,
): Money {
  const currencies = new Set(amounts.map((a) => a.currency.toUpperCase()));
  if (currencies.size > 1) {
    throw new BillingApiError(`${path}: amounts in several currencies (${[...currencies].join(', ')})`);
  }
  const currency = [...currencies][0] ?? (typeof fallback === 'string' ? fallback : 'USD');
  return { amount: amounts.reduce((s, a) => s + a.amount, 0), currency };
}

type ModelFigures = { cost?: number; inputTokens?: number; outputTokens?: number; requests?: number };
type Figure = keyof ModelFigures;

/** Adds up figures per model (and the day's totals), for `DayFigures.byModel`. */
export class ModelTotals {
  /** No prototype: a bill's model named `constructor` or `__proto__` is just a model. */
  readonly byModel: Record<string, ModelFigures> = Object.create(null);
  readonly total: ModelFigures = {};

  add(model: unknown, figures: Partial<Record<Figure, number>>): void {
    const name = typeof model === 'string' && model !== '' ? model : '(unknown)';
    const into = own(this.byModel, name) ?? {};
    this.byModel[name] = into;
    for (const [k, v] of Object.entries(figures) as [Figure, number | undefined][]) {
      if (v === undefined) continue;
      into[k] = (into[k] ?? 0) + v;
      this.total[k] = (this.total[k] ?? 0) + v;
    }
  }

  /**
   * The totals of `reported` (the figures the provider's rows carry: 0 when it sent no rows) and the
   * per-model detail, as `DayFigures` fields.
   */
  figures(reported: readonly ('inputTokens' | 'outputTokens' | 'requests')[]): Omit<DayFigures, 'cost'> {
    const out: { -readonly [K in keyof DayFigures]?: DayFigures[K] } = {};
    for (const k of reported) out[k] = this.total[k] ?? 0;
    if (Object.keys(this.byModel).length > 0) out.byModel = this.byModel;
    return out;
  }
}

/**
 * A usage report's results added up per model through `table`, as `DayFigures` fields (its figures, and
 * `byModel`); none when the report had no bucket for the day.
 */
export function usageFigures<K extends 'inputTokens' | 'outputTokens' | 'requests'>(
  path: string,
  results: readonly Row[] | undefined,
  table: FieldTable<K>,
): Omit<DayFigures, 'cost'> {
  if (results === undefined) return {};
  const totals = new ModelTotals();
  for (const r of results) totals.add(r.model, figuresOf(path, r, table));
  return totals.figures(Object.keys(table) as K[]);
}
