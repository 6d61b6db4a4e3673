/**
 * Billing: the usage a relay reports against a local tokenizer, a stream's usage against the same call
 * unstreamed, the relay's own bill over a few requests against their reported usage, and the run's cost.
 */
import { buildStatement, type Statement } from '../../../core/billing/statement.ts';
import type { Money } from '../../../core/billing/types.ts';
import { estimateChatInputTokens } from '../../../core/usage/tokenizer.ts';
import type { UsageAggregate } from '../../../core/usage/types.ts';
import { answered, ask, callEvidence, describeFailure, record, user } from '../answers.ts';
import { type Counter, readCounter } from '../billing-read.ts';
import type { Json, Usage } from '../client.ts';
import { round } from '../stats.ts';
import type { Check, CheckContext, CheckOutcome } from '../types.ts';

const PARAGRAPH =
  'Lighthouses were once kept by families who lived at the foot of the tower, trimming the wick every few ' +
  'hours and winding the clockwork that turned the lens. Today most of them run on their own, watched from afar.';

/** Requests of different shapes: one message, a system prompt, a conversation. */
export const USAGE_SAMPLES: readonly Json[] = [
  ask(`Summarise in one sentence: ${PARAGRAPH}`),
  {
    messages: [
      { role: 'system', content: 'You are a terse assistant who answers in at most ten words.' },
      user(`What did lighthouse keepers do? ${PARAGRAPH}`),
    ],
  },
  {
    messages: [
      user('Name a famous lighthouse.'),
      {
        role: 'assistant',
        content: 'The Pharos of Alexandria, one of the Seven Wonders of the Ancient World.',
      },
      user('Why was it built, and when did it fall?'),
    ],
  },
];
/** Reported prompt tokens may differ from the local estimate by this share of it, or by MIN_SLACK tokens. */
export const USAGE_TOLERANCE = 0.2;
export const MIN_SLACK = 10;

/** Tokens of the message contents alone (what the local tokenizer sees before any message overhead). */
function contentTokens(ctx: CheckContext, body: Json): number {
  let n = 0;
  for (const m of Array.isArray(body.messages) ? body.messages : []) {
    const content: unknown = typeof m === 'object' && m !== null && 'content' in m ? m.content : undefined;
    if (typeof content === 'string') n += ctx.tokens.count(content);
  }
  return n;
}

const usageTokens: Check = {
  name: 'usage_tokens',
  suite: 'billing',
  title: 'Reported prompt tokens match a local tokenizer',
  required: true,
  async run(ctx) {
    const rows = [];
    for (const body of USAGE_SAMPLES) {
      const out = await ctx.client.chat({ ...body, temperature: 0 });
      record(ctx, out);
      if (!answered(out)) {
        return {
          status: 'fail',
          summary: `no answer: ${describeFailure(out)}`,
          evidence: { call: callEvidence(out) },
        };
      }
      const expected = estimateChatInputTokens(ctx.tokens, body);
      const slack = Math.max(MIN_SLACK, Math.round(expected * USAGE_TOLERANCE));
      const reported = out.usage?.promptTokens ?? null;
      rows.push({
        messages: Array.isArray(body.messages) ? body.messages.length : 0,
        localContentTokens: contentTokens(ctx, body),
        expected,
        reported,
        diff: reported === null ? null : reported - expected,
        slack,
        ok: reported !== null && Math.abs(reported - expected) <= slack,
      });
    }
    const evidence = {
      tokenizer: 'o200k_base (js-tiktoken)',
      rule: `|reported − (content tokens + 3 per message + 3)| ≤ max(${MIN_SLACK}, ${USAGE_TOLERANCE * 100} %)`,
      requests: rows,
    };
    const missing = rows.filter((r) => r.reported === null).length;
    if (missing > 0)
      return { status: 'fail', summary: `${missing} of ${rows.length} answers reported no usage`, evidence };
    const off = rows.find((r) => !r.ok);
    const pairs = rows.map((r) => `${r.reported}/${r.expected}`).join(', ');
    if (off !== undefined) {
      const ratio = round((off.reported ?? 0) / off.expected, 2);
      const summary = `reported ${off.reported} prompt tokens where ${off.expected} were expected (×${ratio}, slack ±${off.slack}); reported/expected: ${pairs}`;
      return { status: 'fail', summary, evidence };
    }
    return {
      status: 'pass',
      summary: `reported/expected prompt tokens ${pairs}, within tolerance`,
      evidence,
    };
  },
};

const streamUsage: Check = {
  name: 'stream_usage',
  suite: 'billing',
  title: "A stream's final usage chunk matches the unstreamed call",
  required: false,
  async run(ctx) {
    const body = { ...(USAGE_SAMPLES[0] ?? ask('Hello.')), temperature: 0 };
    const plain = await ctx.client.chat(body);
    const streamed = await ctx.client.stream(body);
    record(ctx, plain);
    record(ctx, streamed);
    const evidence = {
      plain: { ...callEvidence(plain), usage: plain.usage ?? null },
      streamed: { ...callEvidence(streamed), usage: streamed.usage ?? null },
    };
    if (!answered(plain) || !answered(streamed)) {
      const which = answered(plain) ? streamed : plain;
      return { status: 'fail', summary: `no answer: ${describeFailure(which)}`, evidence };
    }
    if (plain.usage === undefined) {
      return {
        status: 'skipped',
        summary: 'the unstreamed call reported no usage to compare with',
        evidence,
      };
    }
    if (streamed.usage === undefined) {
      return {
        status: 'fail',
        summary: 'no usage chunk at the end of the stream (stream_options.include_usage was sent)',
        evidence,
      };
    }
    const [a, b] = [streamed.usage.promptTokens, plain.usage.promptTokens];
    return a === b
      ? {
          status: 'pass',
          summary: `the stream reported ${a} prompt tokens, as the unstreamed call did`,
          evidence,
        }
      : {
          status: 'fail',
          summary: `the stream reported ${a} prompt tokens, the unstreamed call ${b}`,
          evidence,
        };
  },
};

/** Requests the incremental check sends between its two readings of the bill. */
export const INCREMENTAL_REQUESTS = 3;
/** The bill's difference may differ from the reported usage at the prices by this share, or MIN_USD. */
export const BILL_TOLERANCE = 0.1;
export const BILL_MIN_USD = 0.00001;
/** A bill that lags (relays update quotas in batches) is read again, this often and this far apart. */
const READINGS = 3;
const READING_GAP_MS = 2000;

type Measure = { readonly name: 'spent' | 'balance'; readonly at: (c: Counter) => Money | undefined };
const SPENT: Measure = { name: 'spent', at: (c) => c.spent };
const BALANCE: Measure = { name: 'balance', at: (c) => c.balance };

const incremental: Check = {
  name: 'incremental',
  suite: 'billing',
  title: "The relay's bill grows by the reported usage at the prices",
  required: false,
  async run(ctx): Promise<CheckOutcome> {
    const prices = ctx.subject.prices;
    if (prices === undefined)
      return { status: 'skipped', summary: 'no prices configured for the subject', evidence: {} };
    const before = await readCounter(ctx);
    if (!before.ok)
      return {
        status: 'skipped',
        summary: `no bill to read (${before.adapter}): ${before.reason}`,
        evidence: {},
      };
    const measure = before.value.spent !== undefined ? SPENT : BALANCE;
    const first = measure.at(before.value);
    if (first === undefined)
      return { status: 'skipped', summary: 'the bill shows neither spend nor a balance', evidence: {} };
    if (first.currency !== 'USD') {
      return {
        status: 'skipped',
        summary: `the bill is in ${first.currency}, the prices in USD`,
        evidence: { before: first },
      };
    }
    const usages: Usage[] = [];
    for (const [i, body] of USAGE_SAMPLES.slice(0, INCREMENTAL_REQUESTS).entries()) {
      const out = await ctx.client.chat({ ...body, temperature: 0 });
      record(ctx, out);
      if (out.usage === undefined) {
        const summary = `request ${i + 1} reported no usage (${answered(out) ? `HTTP ${out.status}` : describeFailure(out)}): nothing to compare the bill with`;
        return { status: 'skipped', summary, evidence: { call: callEvidence(out) } };
      }
      usages.push(out.usage);
    }
    const input = usages.reduce((n, u) => n + u.promptTokens, 0);
    const output = usages.reduce((n, u) => n + u.completionTokens, 0);
    const expected = (input * prices.input + output * prices.output) / 1e6;
    const tolerance = Math.max(BILL_MIN_USD, expected * BILL_TOLERANCE);
    let delta = Number.NaN;
    const readings: number[] = [];
    for (let r = 0; r < READINGS; r++) {
      if (r > 0) await ctx.sleep(READING_GAP_MS);
      const after = await readCounter(ctx);
      const last = after.ok ? measure.at(after.value) : undefined;
      if (last === undefined)
        return { status: 'skipped', summary: 'the second reading of the bill failed', evidence: {} };
      delta = measure.name === 'spent' ? last.amount - first.amount : first.amount - last.amount;
      readings.push(round(last.amount, 8));
      if (delta >= expected - tolerance) break;
    }
    const evidence = {
      adapter: before.adapter,
      measure: measure.name,
      before: round(first.amount, 8),
      readings,
      billedUsd: round(delta, 8),
      expectedUsd: round(expected, 8),
      toleranceUsd: round(tolerance, 8),
      requests: usages.length,
      tokens: { input, output },
      prices,
    };
    const what = `the bill's ${measure.name} moved $${round(delta, 6)} for ${usages.length} requests whose reported usage costs $${round(expected, 6)}`;
    return Math.abs(delta - expected) <= tolerance
      ? { status: 'pass', summary: `${what} (within ±$${round(tolerance, 6)})`, evidence }
      : {
          status: 'fail',
          summary: `${what} (×${round(delta / expected, 2)}; tolerance ±$${round(tolerance, 6)})`,
          evidence,
        };
  },
};

const cost: Check = {
  name: 'cost',
  suite: 'billing',
  title: "The run's cost at the configured prices",
  required: false,
  async run(ctx) {
    const prices = ctx.subject.prices;
    if (prices === undefined)
      return { status: 'skipped', summary: 'no prices configured for the subject', evidence: {} };
    const u = ctx.client.used;
    const evidence = {
      requests: u.requests,
      inputTokens: u.inputTokens,
      outputTokens: u.outputTokens,
      costUsd: round(u.costUsd, 6),
      prices,
    };
    if (u.requests === 0) return { status: 'skipped', summary: 'no requests were sent', evidence };
    if (u.inputTokens + u.outputTokens === 0) {
      return {
        status: 'fail',
        summary: `none of ${u.requests} requests reported usage: no cost can be computed`,
        evidence,
      };
    }
    const summary = `$${round(u.costUsd, 6)} for ${u.requests} requests (${u.inputTokens} in / ${u.outputTokens} out tokens) at $${prices.input}/$${prices.output} per 1M`;
    return { status: 'pass', summary, evidence };
  },
};

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

const invoice: Check = {
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
    const measure = opening.value.spent !== undefined ? SPENT : BALANCE;
    const first = measure.at(opening.value);
    if (first === undefined)
      return { status: 'skipped', summary: 'the bill shows neither spend nor a balance', evidence: {} };
    if (first.currency !== 'USD') {
      return {
        status: 'skipped',
        summary: `the bill is in ${first.currency}, the statement in USD`,
        evidence: { opening: first },
      };
    }
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

export const BILLING_CHECKS: readonly Check[] = [usageTokens, streamUsage, incremental, cost, invoice];
