/**
 * The `billing.invoice` check: the relay's bill read before a subject's first request and after its last, held
 * against the window's statement (built by the same code as the monthly statement).
 */
import { buildStatement, type Statement } from '../../../core/billing/statement.ts';
import type { Money } from '../../../core/billing/types.ts';
import type { UsageAggregate } from '../../../core/usage/types.ts';
import { type Counter, readCounter } from '../billing-read.ts';
import { round } from '../stats.ts';
import type { Check, CheckContext, CheckOutcome } from '../types.ts';

/** The bill's difference may differ from the reported usage at the prices by this share, or MIN_USD. */
export const BILL_TOLERANCE = 0.1;
export const BILL_MIN_USD = 0.00001;
/** A bill that lags (relays update quotas in batches) is read again, this often and this far apart. */
export const READINGS = 3;
export const READING_GAP_MS = 2000;

export type Measure = { readonly name: 'spent' | 'balance'; readonly at: (c: Counter) => Money | undefined };
export const SPENT: Measure = { name: 'spent', at: (c) => c.spent };
export const BALANCE: Measure = { name: 'balance', at: (c) => c.balance };

/**
 * The validation window's statement, built by the same code finance's monthly statement is
 * ({@link buildStatement}), from the run's own ledger of billable calls: one key (`validate`), the subject as
 * its provider. A window that crosses a month boundary gets one statement per month.
 */
export function windowStatements(ctx: CheckContext): Statement[] {
  const days = [...ctx.client.ledger].sort(([a], [b]) => (a < b ? -1 : 1));
  const months = [...new Set(days.map(([day]) => day.slice(0, 7)))];
  return months.map((month) =>
    buildStatement({
      month,
      issuer: 'switchyard validate',
      by: 'key',
      keys: [],
      reports: [],
      aggregates: days.map(
        ([day, d]): UsageAggregate => ({
          day,
          keyId: 'validate',
          provider: ctx.subject.name,
          model: ctx.subject.model,
          requests: d.requests,
          errors: 0,
          inputTokens: d.inputTokens,
          outputTokens: d.outputTokens,
          cachedInputTokens: 0,
          reasoningTokens: 0,
          costUsd: d.costUsd,
          unpricedRequests: 0,
          estimatedRequests: d.estimatedRequests,
          estimatedInputTokens: d.estimatedInputTokens,
          estimatedOutputTokens: d.estimatedOutputTokens,
          estimatedCostUsd: d.estimatedCostUsd,
        }),
      ),
    }),
  );
}

/**
 * What a bill reading is measured by (its spend, else its balance) and its figure in USD — or the outcome
 * that skips the check: no figure, or another currency than `against`'s.
 */
export function usdReading(
  value: Counter,
  against: string,
  evidenceKey: string,
): { readonly measure: Measure; readonly first: Money } | { readonly skipped: CheckOutcome } {
  const measure = value.spent !== undefined ? SPENT : BALANCE;
  const first = measure.at(value);
  if (first === undefined)
    return {
      skipped: { status: 'skipped', summary: 'the bill shows neither spend nor a balance', evidence: {} },
    };
  if (first.currency !== 'USD')
    return {
      skipped: {
        status: 'skipped',
        summary: `the bill is in ${first.currency}, ${against} in USD`,
        evidence: { [evidenceKey]: first },
      },
    };
  return { measure, first };
}

export const invoice: Check = {
  name: 'invoice',
  suite: 'billing',
  title: "The relay's bill for the run matches Switchyard's statement of it",
  required: false,
  readsOpeningBill: true,
  async run(ctx): Promise<CheckOutcome> {
    const prices = ctx.subject.prices;
    if (prices === undefined)
      return { status: 'skipped', summary: 'no prices configured for the subject', evidence: {} };
    const opening = ctx.window.opening;
    if (opening === undefined || !opening.ok) {
      const reason = opening === undefined ? 'no opening reading was taken' : opening.reason;
      return {
        status: 'skipped',
        summary: `no bill to read (${opening?.adapter ?? 'none'}): ${reason}`,
        evidence: {},
      };
    }
    const read = usdReading(opening.value, 'the statement', 'opening');
    if ('skipped' in read) return read.skipped;
    const { measure, first } = read;
    const statements = windowStatements(ctx);
    const total = statements.reduce(
      (t, s) => ({
        requests: t.requests + s.total.requests,
        costUsd: t.costUsd + s.total.costUsd,
        estimatedRequests: t.estimatedRequests + s.total.estimatedRequests,
        estimatedCostUsd: t.estimatedCostUsd + s.total.estimatedCostUsd,
        inputTokens: t.inputTokens + s.total.inputTokens,
        outputTokens: t.outputTokens + s.total.outputTokens,
      }),
      { requests: 0, costUsd: 0, estimatedRequests: 0, estimatedCostUsd: 0, inputTokens: 0, outputTokens: 0 },
    );
    if (total.requests === 0)
      return { status: 'skipped', summary: 'the run sent no billable request', evidence: {} };
    if (total.estimatedRequests === total.requests) {
      const summary = `none of the run's ${total.requests} billable requests reported usage: the statement holds estimates only, nothing to hold the bill against`;
      return { status: 'skipped', summary, evidence: {} };
    }
    // The statement's reported part is what the bill must show; the estimated part (calls without usage,
    // at the prompt's tokens and max_tokens) is an upper bound the relay may or may not have billed.
    const reported = total.costUsd - total.estimatedCostUsd;
    const tolerance = Math.max(BILL_MIN_USD, total.costUsd * BILL_TOLERANCE);
    const [low, high] = [reported - tolerance, total.costUsd + tolerance];
    let delta = Number.NaN;
    const readings: number[] = [];
    for (let r = 0; r < READINGS; r++) {
      if (r > 0) await ctx.sleep(READING_GAP_MS);
      const after = await readCounter(ctx);
      const last = after.ok ? measure.at(after.value) : undefined;
      if (last === undefined)
        return { status: 'skipped', summary: 'the closing reading of the bill failed', evidence: {} };
      delta = measure.name === 'spent' ? last.amount - first.amount : first.amount - last.amount;
      readings.push(round(last.amount, 8));
      if (delta >= low) break;
    }
    const evidence = {
      adapter: opening.adapter,
      measure: measure.name,
      window: { from: ctx.window.startedAt, to: new Date().toISOString() },
      opening: round(first.amount, 8),
      readings,
      billedUsd: round(delta, 8),
      statementUsd: round(total.costUsd, 8),
      reportedUsd: round(reported, 8),
      estimatedUsd: round(total.estimatedCostUsd, 8),
      toleranceUsd: round(tolerance, 8),
      statements: statements.map((s) => ({
        number: s.number,
        month: s.month,
        lines: s.teams.flatMap((t) => t.keys.flatMap((k) => k.lines)),
        total: s.total,
      })),
      prices,
    };
    const estimated =
      total.estimatedRequests === 0
        ? ''
        : `, $${round(total.estimatedCostUsd, 6)} of it estimated for ${total.estimatedRequests} requests without reported usage`;
    const what = `the bill's ${measure.name} moved $${round(delta, 6)} over the run; its statement (${statements.map((s) => s.number).join(', ')}) lists ${total.requests} requests for $${round(total.costUsd, 6)}${estimated}`;
    if (delta >= low && delta <= high)
      return { status: 'pass', summary: `${what}: they match (±$${round(tolerance, 6)})`, evidence };
    const off = delta > high ? delta - total.costUsd : delta - reported;
    return {
      status: 'fail',
      summary: `${what}: the bill is off by $${round(off, 6)} (tolerance ±$${round(tolerance, 6)}; other traffic on the key during the run counts too)`,
      evidence,
    };
  },
};
