/**
 * Stability: the same questions give the same answers at temperature 0, a conversation remembers an earlier
 * turn, and the relay keeps answering as concurrency ramps up.
 */
import { randomInt } from 'node:crypto';
import { answered, ask, callEvidence, contentOf, describeFailure, record, user } from '../answers.ts';
import { classifyError, excerpt } from '../classify.ts';
import type { StreamOutcome } from '../client.ts';
import { meanPairwiseSimilarity, percentile, round } from '../stats.ts';
import type { Check, RampStep } from '../types.ts';

/** The fixed sample set of the consistency check. */
export const CONSISTENCY_PROMPTS = [
  'In one sentence, what is photosynthesis?',
  'List the three primary colours of paint, comma-separated.',
  'What is 17 multiplied by 3? Reply with the number only.',
] as const;
/** Mean pairwise token-set Jaccard similarity a relay must reach at temperature 0. */
export const MIN_SIMILARITY = 0.8;

const consistency: Check = {
  name: 'consistency',
  suite: 'stability',
  title: 'Answers at temperature 0 are consistent (token-set Jaccard similarity)',
  required: true,
  async run(ctx) {
    const n = ctx.limits.repeats;
    if (n < 2) return { status: 'skipped', summary: `repeats is ${n}: nothing to compare`, evidence: {} };
    const total = n * CONSISTENCY_PROMPTS.length;
    if (!ctx.client.canAfford(total, ask(CONSISTENCY_PROMPTS[0]))) {
      return { status: 'skipped', summary: `the caps cannot afford ${total} requests`, evidence: {} };
    }
    const prompts = [];
    for (const prompt of CONSISTENCY_PROMPTS) {
      const answers: string[] = [];
      for (let i = 0; i < n; i++) {
        ctx.progress(`consistency ${prompts.length * n + i + 1}/${total}`);
        const out = await ctx.client.chat(ask(prompt, { temperature: 0 }));
        record(ctx, out);
        if (!answered(out)) {
          const summary = `"${prompt}" try ${i + 1} got no answer: ${describeFailure(out)}`;
          return { status: 'fail', summary, evidence: { prompt, call: callEvidence(out) } };
        }
        answers.push(contentOf(out));
      }
      const similarity = round(meanPairwiseSimilarity(answers) ?? 1, 3);
      prompts.push({ prompt, similarity, answers: [...new Set(answers)].map((a) => excerpt(a, 120)) });
    }
    const score = round(prompts.reduce((s, p) => s + p.similarity, 0) / prompts.length, 3);
    const evidence = {
      score,
      threshold: MIN_SIMILARITY,
      metric: 'mean pairwise token-set Jaccard',
      repeats: n,
      prompts,
    };
    const worst = prompts.reduce((a, b) => (b.similarity < a.similarity ? b : a));
    const summary = `similarity ${score} over ${CONSISTENCY_PROMPTS.length} prompts × ${n} (lowest ${worst.similarity})`;
    return {
      status: score >= MIN_SIMILARITY ? 'pass' : 'fail',
      summary: `${summary}; needs ≥ ${MIN_SIMILARITY}`,
      evidence,
    };
  },
};

const CODE_WORDS = ['walrus', 'juniper', 'quasar', 'marigold', 'tangerine', 'obsidian', 'pelican', 'zephyr'];

const multiTurn: Check = {
  name: 'multi_turn',
  suite: 'stability',
  title: 'A conversation remembers an earlier turn',
  required: true,
  async run(ctx) {
    const word = `${CODE_WORDS[randomInt(CODE_WORDS.length)]}${randomInt(100, 1000)}`;
    const first = user(`The code word is ${word}. Reply OK.`);
    const one = await ctx.client.chat({ messages: [first], temperature: 0 });
    record(ctx, one);
    if (!answered(one)) {
      return {
        status: 'fail',
        summary: `turn 1 got no answer: ${describeFailure(one)}`,
        evidence: { turn1: callEvidence(one) },
      };
    }
    const messages = [
      first,
      { role: 'assistant', content: contentOf(one) },
      user('What is the code word? Reply with it only.'),
    ];
    const two = await ctx.client.chat({ messages, temperature: 0 });
    record(ctx, two);
    const evidence = { word, turn1: callEvidence(one), turn2: callEvidence(two) };
    if (!answered(two))
      return { status: 'fail', summary: `turn 2 got no answer: ${describeFailure(two)}`, evidence };
    const recalled = contentOf(two).toLowerCase().includes(word.toLowerCase());
    const said = excerpt(contentOf(two), 60);
    return recalled
      ? { status: 'pass', summary: `turn 2 recalled the code word from turn 1 ("${said}")`, evidence }
      : { status: 'fail', summary: `turn 2 answered "${said}", not the code word ${word}`, evidence };
  },
};

/** Success rate every ramp step must reach. */
export const MIN_SUCCESS = 0.95;
/** Requests each worker of a step sends one after the other (so a step keeps `c` requests in flight). */
export const ROUNDS = 2;

/** 1, 4, 16, … (×4) up to `top`, and `top` itself when the ladder steps over it. */
export function rampLevels(top: number): number[] {
  const levels: number[] = [];
  for (let c = 1; c <= top; c *= 4) levels.push(c);
  if (top >= 1 && levels.at(-1) !== top) levels.push(top);
  return levels;
}

const concurrency: Check = {
  name: 'concurrency',
  suite: 'stability',
  title: 'The relay keeps answering as concurrency ramps up',
  required: true,
  async run(ctx) {
    // A one-word answer: the ramp measures the relay under load, not the model's speed (and costs little).
    const body = ask('Reply with the word pong.', { temperature: 0 });
    const levels = rampLevels(ctx.limits.concurrency);
    const steps: (RampStep & { successRate: number; errors: Record<string, number> })[] = [];
    const unaffordable: number[] = [];
    for (const c of levels) {
      if (unaffordable.length > 0 || !ctx.client.canAfford(c * ROUNDS, body)) {
        unaffordable.push(c);
        continue;
      }
      ctx.progress(`ramp ${c}/${ctx.limits.concurrency}`);
      const worker = async (): Promise<StreamOutcome[]> => {
        const outs: StreamOutcome[] = [];
        for (let r = 0; r < ROUNDS; r++) outs.push(await ctx.client.stream(body));
        return outs;
      };
      const outs = (await Promise.all(Array.from({ length: c }, worker))).flat();
      const ok = outs.filter(answered);
      const errors: Record<string, number> = {};
      for (const o of outs) {
        if (answered(o)) continue;
        const e = classifyError(o);
        const key = e === null ? 'no content' : `${e.status ?? 'no answer'} ${e.type}/${e.code}`;
        errors[key] = (errors[key] ?? 0) + 1;
      }
      for (const o of ok) record(ctx, o);
      const ttfts = ok.flatMap((o) => (o.ttftMs === null ? [] : [o.ttftMs]));
      const step: RampStep = {
        concurrency: c,
        requests: outs.length,
        ok: ok.length,
        latencyP50Ms: percentile(
          ok.map((o) => o.latencyMs),
          50,
        ),
        latencyP95Ms: percentile(
          ok.map((o) => o.latencyMs),
          95,
        ),
        ttftP50Ms: percentile(ttfts, 50),
      };
      ctx.samples.ramp.push(step);
      steps.push({ ...step, successRate: round(ok.length / outs.length, 3), errors });
    }
    const skippedNote =
      unaffordable.length === 0 ? '' : `; steps ${unaffordable.join(', ')} skipped: over the run's caps`;
    const evidence = { levels, rounds: ROUNDS, threshold: MIN_SUCCESS, steps, unaffordable };
    if (steps.length === 0) {
      return { status: 'skipped', summary: `the caps cannot afford the first step${skippedNote}`, evidence };
    }
    const rates = steps.map((s) => `${s.concurrency}: ${round(s.successRate * 100, 0)} %`).join(', ');
    const bad = steps.find((s) => s.successRate < MIN_SUCCESS);
    if (bad !== undefined) {
      const why = Object.entries(bad.errors)
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ');
      const summary = `at concurrency ${bad.concurrency} only ${bad.ok}/${bad.requests} succeeded (${why}); success ${rates}`;
      return { status: 'fail', summary: `${summary}${skippedNote}`, evidence };
    }
    return {
      status: 'pass',
      summary: `success ${rates} (≥ ${MIN_SUCCESS * 100} % each)${skippedNote}`,
      evidence,
    };
  },
};

export const STABILITY_CHECKS: readonly Check[] = [consistency, multiTurn, concurrency];
