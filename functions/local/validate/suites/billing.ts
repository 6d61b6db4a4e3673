import { estimateChatInputTokens } from '../../../core/usage/tokenizer.ts';
import { answered, ask, callEvidence, describeFailure, record, user } from '../answers.ts';
import { readCounter } from '../billing-read.ts';
import type { Json, Usage } from '../client.ts';
import { round } from '../stats.ts';
import type { Check, CheckContext, CheckOutcome } from '../types.ts';
import {
  BILL_MIN_USD,
  BILL_TOLERANCE,
  invoice,
  READING_GAP_MS,
  READINGS,
  usdReading,
} from './billing-invoice.ts';

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
    const read = usdReading(before.value, 'the prices', 'before');
    if ('skipped' in read) return read.skipped;
    const { measure, first } = read;
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

export const BILLING_CHECKS: readonly Check[] = [usageTokens, streamUsage, incremental, cost, invoice];
