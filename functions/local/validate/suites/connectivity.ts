/**
 * Connectivity: the relay answers a plain question, streams incrementally, and honours both JSON modes.
 */
import * as z from 'zod';
import { answered, ask, callEvidence, contentOf, describeFailure, record } from '../answers.ts';
import { excerpt } from '../classify.ts';
import type { StreamRead } from '../client.ts';
import { percentile, round } from '../stats.ts';
import type { Check, CheckOutcome } from '../types.ts';

/** Reads closer together than this belong to one burst (one write of the relay, split by the network). */
export const BURST_GAP_MS = 2;
/** A stream must arrive in at least this many bursts to count as incremental. */
export const MIN_BURSTS = 3;

const text: Check = {
  name: 'text',
  suite: 'connectivity',
  title: 'A plain question is answered',
  required: true,
  async run(ctx) {
    const out = await ctx.client.chat(
      ask('What is the capital of France? Answer in one word.', { temperature: 0 }),
    );
    record(ctx, out);
    const evidence = callEvidence(out);
    if (!answered(out)) return { status: 'fail', summary: `no answer: ${describeFailure(out)}`, evidence };
    return { status: 'pass', summary: `HTTP ${out.status} in ${round(out.latencyMs, 0)} ms`, evidence };
  },
};

/**
 * Groups the reads that carried content into bursts: a read BURST_GAP_MS or more after the *start* of the
 * current burst starts a new one. Measured from the burst's start, not from the previous read, so a fast
 * stream (a chunk a millisecond) counts as many bursts, while one write the network split into a few reads
 * microseconds apart stays one.
 */
export function bursts(reads: readonly StreamRead[]): number {
  let count = 0;
  let start: number | undefined;
  for (const r of reads) {
    if (r.deltas === 0) continue;
    if (start === undefined || r.atMs - start >= BURST_GAP_MS) {
      count++;
      start = r.atMs;
    }
  }
  return count;
}

const stream: Check = {
  name: 'stream',
  suite: 'connectivity',
  title: 'A stream arrives incrementally (TTFT and inter-chunk gaps)',
  required: true,
  async run(ctx) {
    const out = await ctx.client.stream(
      ask('Count from 1 to 30, separated by commas. Reply with the numbers only.', { temperature: 0 }),
    );
    record(ctx, out);
    const contentReads = out.reads.filter((r) => r.deltas > 0);
    const gaps = contentReads.slice(1).map((r, i) => r.atMs - (contentReads[i]?.atMs ?? r.atMs));
    const evidence = {
      ...callEvidence(out),
      reads: out.reads.length,
      contentReads: contentReads.length,
      deltas: contentReads.reduce((n, r) => n + r.deltas, 0),
      bursts: bursts(out.reads),
      ttftMs: out.ttftMs === null ? null : round(out.ttftMs),
      gapP50Ms: percentile(gaps, 50),
      gapMaxMs: gaps.length === 0 ? null : round(Math.max(...gaps)),
      spanMs:
        contentReads.length === 0
          ? null
          : round((contentReads.at(-1)?.atMs ?? 0) - (contentReads[0]?.atMs ?? 0)),
      done: out.done,
    };
    if (!answered(out))
      return { status: 'fail', summary: `no streamed answer: ${describeFailure(out)}`, evidence };
    if (evidence.bursts < MIN_BURSTS) {
      const summary =
        `not incremental: ${evidence.deltas} deltas arrived in ${contentReads.length} read(s) within ` +
        `${evidence.spanMs} ms (${evidence.bursts} burst(s); at least ${MIN_BURSTS} needed, ${BURST_GAP_MS} ms apart)`;
      return { status: 'fail', summary, evidence };
    }
    const summary =
      `${evidence.deltas} deltas in ${evidence.bursts} bursts, TTFT ${evidence.ttftMs} ms, ` +
      `gap p50 ${evidence.gapP50Ms} ms / max ${evidence.gapMaxMs} ms`;
    return { status: 'pass', summary, evidence };
  },
};

function parsed(content: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(content.trim()) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

const isJsonObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const jsonObject: Check = {
  name: 'json_object',
  suite: 'connectivity',
  title: 'response_format json_object answers a JSON object',
  required: true,
  async run(ctx) {
    const out = await ctx.client.chat({
      messages: [
        { role: 'system', content: 'Reply with a JSON object only.' },
        { role: 'user', content: 'Give the capital of Japan as JSON with the keys "city" and "country".' },
      ],
      response_format: { type: 'json_object' },
      temperature: 0,
    });
    record(ctx, out);
    const evidence = callEvidence(out);
    if (!answered(out)) return { status: 'fail', summary: `no answer: ${describeFailure(out)}`, evidence };
    const p = parsed(contentOf(out));
    if (!p.ok) return { status: 'fail', summary: `the content is not JSON: ${p.error}`, evidence };
    if (!isJsonObject(p.value))
      return { status: 'fail', summary: 'the content is JSON but not an object', evidence };
    return {
      status: 'pass',
      summary: `a JSON object with keys ${Object.keys(p.value).join(', ')}`,
      evidence,
    };
  },
};

/** The structured answer asked for: only types OpenAI's strict mode accepts, every key required. */
export const CAPITAL_SCHEMA = z.strictObject({
  city: z.string(),
  country: z.string(),
  population_millions: z.number(),
  coastal: z.boolean(),
  landmarks: z.array(z.string()),
});

/** The JSON schema sent: zod's, without `$schema` (not a keyword providers' strict modes accept). */
export function capitalJsonSchema(): Record<string, unknown> {
  const { $schema: _drop, ...schema } = z.toJSONSchema(CAPITAL_SCHEMA) as Record<string, unknown>;
  return schema;
}

const jsonSchema: Check = {
  name: 'json_schema',
  suite: 'connectivity',
  title: 'response_format json_schema answers JSON valid against the schema',
  required: true,
  async run(ctx): Promise<CheckOutcome> {
    const out = await ctx.client.chat({
      messages: [{ role: 'user', content: 'Describe the capital of Japan.' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'capital', strict: true, schema: capitalJsonSchema() },
      },
      temperature: 0,
    });
    record(ctx, out);
    const evidence = callEvidence(out);
    if (!answered(out)) return { status: 'fail', summary: `no answer: ${describeFailure(out)}`, evidence };
    const p = parsed(contentOf(out));
    if (!p.ok) return { status: 'fail', summary: `the content is not JSON: ${p.error}`, evidence };
    const v = CAPITAL_SCHEMA.safeParse(p.value);
    if (!v.success) {
      const issues = v.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      const first = issues[0];
      const summary = `${issues.length} schema issue(s), e.g. ${first?.path || '(root)'}: ${first?.message}`;
      return { status: 'fail', summary, evidence: { ...evidence, issues } };
    }
    return { status: 'pass', summary: `valid: ${excerpt(JSON.stringify(v.data), 80)}`, evidence };
  },
};

export const CONNECTIVITY_CHECKS: readonly Check[] = [text, stream, jsonObject, jsonSchema];
