/**
 * Exceptions: the relay's errors, each classified into Switchyard's error table — a bad key, a model that
 * does not exist, a client timeout, a burst until the rate limit, and the balance left.
 */
import { randomBytes } from 'node:crypto';
import { answered, ask, callEvidence, describeFailure, record } from '../answers.ts';
import { readBalance } from '../billing-read.ts';
import { classifyError, excerpt } from '../classify.ts';
import type { HttpOutcome } from '../client.ts';
import { round } from '../stats.ts';
import type { Check, CheckContext } from '../types.ts';

const PING = ask('Reply with the word pong.', { temperature: 0 });

const invalidKey: Check = {
  name: 'invalid_key',
  suite: 'exceptions',
  title: 'A bogus key gets an authentication error',
  required: true,
  async run(ctx) {
    const out = await ctx.client.chat(PING, {
      key: `sk-switchyard-validate-bogus-${randomBytes(6).toString('hex')}`,
    });
    const evidence = callEvidence(out);
    const e = classifyError(out);
    if (e === null)
      return { status: 'fail', summary: `HTTP ${out.status}: the relay accepted a made-up key`, evidence };
    if (e.type !== 'authentication_error') {
      return {
        status: 'fail',
        summary: `expected 401 authentication_error, got ${describeFailure(out)}`,
        evidence,
      };
    }
    return { status: 'pass', summary: `HTTP ${e.status} ${e.type}/${e.code}`, evidence };
  },
};

const unknownModel: Check = {
  name: 'unknown_model',
  suite: 'exceptions',
  title: 'A model that cannot exist gets a model error',
  required: true,
  async run(ctx) {
    const model = `switchyard-validate-no-such-model-${randomBytes(4).toString('hex')}`;
    const out = await ctx.client.chat({ ...PING, model });
    const evidence = { model, ...callEvidence(out, model) };
    const e = classifyError(out, { model });
    if (e === null)
      return { status: 'fail', summary: `HTTP ${out.status}: the relay answered for ${model}`, evidence };
    if (e.code !== 'model_not_found') {
      return {
        status: 'fail',
        summary: `expected 404 (or a 400 naming the model), got ${describeFailure(out)}`,
        evidence,
      };
    }
    return { status: 'pass', summary: `HTTP ${e.status} ${e.type}/${e.code}`, evidence };
  },
};

/** The client timeout the check sets on a stream, and how long the call may take to end after it. */
export const TINY_TIMEOUT_MS = 5;
export const TIMEOUT_BOUND_MS = 1000;

const timeout: Check = {
  name: 'timeout',
  suite: 'exceptions',
  title: 'A tiny client timeout ends cleanly and leaves no stuck connection',
  required: true,
  async run(ctx) {
    const body = ask('Count from 1 to 30, separated by commas.', { temperature: 0 });
    const cut = await ctx.client.stream(body, { timeoutMs: TINY_TIMEOUT_MS });
    const e = classifyError(cut);
    const cutEvidence = { ...callEvidence(cut), timeoutMs: TINY_TIMEOUT_MS, boundMs: TIMEOUT_BOUND_MS };
    if (e === null) {
      const summary = `the whole stream arrived within ${TINY_TIMEOUT_MS} ms: no timeout to observe`;
      return { status: 'skipped', summary, evidence: { cut: cutEvidence } };
    }
    const next = await ctx.client.chat(PING);
    record(ctx, next);
    const evidence = { cut: cutEvidence, next: callEvidence(next) };
    if (e.type !== 'timeout_error') {
      return { status: 'fail', summary: `expected a client timeout, got ${describeFailure(cut)}`, evidence };
    }
    if (cut.latencyMs > TIMEOUT_BOUND_MS) {
      const summary = `the timed-out call took ${round(cut.latencyMs, 0)} ms to end (bound ${TIMEOUT_BOUND_MS} ms)`;
      return { status: 'fail', summary, evidence };
    }
    if (!answered(next)) {
      return {
        status: 'fail',
        summary: `the request after the timeout failed: ${describeFailure(next)}`,
        evidence,
      };
    }
    const summary = `timed out after ${round(cut.latencyMs, 0)} ms (timeout ${TINY_TIMEOUT_MS} ms); the next request answered`;
    return { status: 'pass', summary, evidence };
  },
};

/** Requests sent together in each wave of the rate-limit burst. */
export const BURST_WAVE = 10;

function burstSize(ctx: CheckContext): number {
  let n = ctx.limits.burst;
  while (n > 0 && !ctx.client.canAfford(n, PING)) n--;
  return n;
}

/** A 5xx, a timeout or no answer at all: the relay failed the request rather than limiting it. */
function brokeOn(o: HttpOutcome): boolean {
  const t = classifyError(o)?.type;
  return t === 'upstream_error' || t === 'timeout_error';
}

const rateLimit: Check = {
  name: 'rate_limit',
  suite: 'exceptions',
  title: 'A burst meets a clean rate limit (429 with Retry-After) or none',
  required: false,
  async run(ctx) {
    const n = burstSize(ctx);
    if (n === 0) return { status: 'skipped', summary: 'the caps cannot afford a burst', evidence: {} };
    const capNote = n < ctx.limits.burst ? ` (the run's caps allow ${n} of the ${ctx.limits.burst})` : '';
    const outs: HttpOutcome[] = [];
    // Until the first 429, or the first wave the relay could not serve (hammering it further shows nothing).
    while (outs.length < n && !outs.some((o) => o.status === 429 || brokeOn(o))) {
      ctx.progress(`burst ${outs.length}/${n}`);
      const wave = Math.min(BURST_WAVE, n - outs.length);
      outs.push(...(await Promise.all(Array.from({ length: wave }, () => ctx.client.chat(PING)))));
    }
    for (const o of outs) record(ctx, o);
    const statuses: Record<string, number> = {};
    for (const o of outs) {
      const key = o.status === null ? 'no answer' : String(o.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    const limited = outs.find((o) => o.status === 429);
    const row = limited === undefined ? null : classifyError(limited);
    const first429 =
      limited === undefined || row === null
        ? null
        : {
            after: outs.indexOf(limited) + 1,
            retryAfter: limited.headers['retry-after'] ?? limited.headers['retry-after-ms'] ?? null,
            retryAfterMs: row.retryAfterMs ?? null,
            openaiShaped: row.openaiShaped,
            error: row,
            body: excerpt(limited.text),
          };
    const evidence = { sent: outs.length, cap: n, wave: BURST_WAVE, statuses, first429 };
    const broken = outs.filter(brokeOn);
    if (broken[0] !== undefined) {
      const summary = `the burst broke the relay: ${broken.length}× ${describeFailure(broken[0])} in ${outs.length} requests`;
      return { status: 'fail', summary, evidence };
    }
    if (first429 === null) {
      return { status: 'pass', summary: `no 429 within ${outs.length} requests${capNote}`, evidence };
    }
    const shape = first429.openaiShaped ? 'an OpenAI-shaped body' : 'a body that is not OpenAI-shaped';
    if (first429.retryAfterMs === null) {
      return {
        status: 'fail',
        summary: `429 after ${first429.after} requests without a Retry-After (${shape})`,
        evidence,
      };
    }
    const summary = `429 after ${first429.after} requests, Retry-After ${first429.retryAfter} (${first429.retryAfterMs} ms), ${shape}`;
    return { status: 'pass', summary, evidence };
  },
};

const insufficientBalance: Check = {
  name: 'insufficient_balance',
  suite: 'exceptions',
  title: 'The relay has balance left (its billing endpoint)',
  required: false,
  async run(ctx) {
    const r = await readBalance(ctx);
    if (!r.ok) {
      return {
        status: 'skipped',
        summary: `no balance to read (${r.adapter}): ${r.reason}`,
        evidence: { adapter: r.adapter },
      };
    }
    const evidence = { adapter: r.adapter, balance: r.value ?? null };
    if (r.value === undefined)
      return { status: 'pass', summary: 'the relay reports an unlimited quota', evidence };
    const shown = `${round(r.value.amount, 4)} ${r.value.currency}`;
    return r.value.amount <= 0
      ? { status: 'fail', summary: `the balance is ${shown}: requests will be refused`, evidence }
      : { status: 'pass', summary: `balance ${shown}`, evidence };
  },
};

export const EXCEPTION_CHECKS: readonly Check[] = [
  invalidKey,
  unknownModel,
  timeout,
  rateLimit,
  insufficientBalance,
];
