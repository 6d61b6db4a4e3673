/**
 * `switchyard validate`'s four suites against a well-behaved fake relay on loopback: every required check
 * passes, the optional ones pass or skip with a reason, and what the checks send and measure is what the
 * checklist asks for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUndiciClient } from '../../../functions/core/upstream/undici-client.ts';
import { localTokenCounter } from '../../../functions/local/token-counter.ts';
import { ALL_CHECKS } from '../../../functions/local/validate/checks.ts';
import { type RunnerDeps, runSubject, runValidation } from '../../../functions/local/validate/runner.ts';
import { capitalJsonSchema } from '../../../functions/local/validate/suites/connectivity.ts';
import { CONSISTENCY_PROMPTS } from '../../../functions/local/validate/suites/stability.ts';
import {
  type CheckResult,
  DEFAULT_LIMITS,
  type Limits,
  type Subject,
  type SubjectReport,
} from '../../../functions/local/validate/types.ts';
import type { RecordedRequest } from '../../support/fake-openai.ts';
import { FAKE_RELAY_PRICES, type FakeRelay, startFakeRelay } from '../../support/fake-relay.ts';

const LIMITS: Limits = { ...DEFAULT_LIMITS, concurrency: 8, burst: 20, timeoutMs: 5000 };
const http = createUndiciClient();
const deps: RunnerDeps = { http, tokens: localTokenCounter(), sleep: async () => {}, now: () => new Date() };

let relay: FakeRelay;
let report: SubjectReport;
const subject = (over: Partial<Subject> = {}): Subject => ({
  name: 'fake',
  baseUrl: relay.url,
  key: relay.key,
  model: 'fake-gpt',
  prices: FAKE_RELAY_PRICES,
  ...over,
});
const check = (r: SubjectReport, id: string): CheckResult => {
  const c = r.checks.find((x) => x.id === id);
  if (c === undefined) throw new Error(`no check ${id}`);
  return c;
};
const chatBodies = (): Record<string, unknown>[] =>
  relay.requests
    .filter((r: RecordedRequest) => r.path === '/v1/chat/completions')
    .map((r) => r.body as Record<string, unknown>);

beforeAll(async () => {
  relay = await startFakeRelay();
  report = await runSubject(subject(), ALL_CHECKS, LIMITS, deps);
});
afterAll(async () => {
  await relay.close();
  await http.close();
});

describe('validate against a well-behaved relay', () => {
  it('passes every required check', () => {
    const required = report.checks.filter((c) => c.required);
    expect(required.map((c) => c.id)).toEqual([
      'connectivity.text',
      'connectivity.stream',
      'connectivity.json_object',
      'connectivity.json_schema',
      'stability.consistency',
      'stability.multi_turn',
      'stability.concurrency',
      'exceptions.invalid_key',
      'exceptions.unknown_model',
      'exceptions.timeout',
      'billing.usage_tokens',
    ]);
    for (const c of required)
      expect(`${c.id}: ${c.status} — ${c.summary}`).toBe(`${c.id}: pass — ${c.summary}`);
  });

  it('passes the optional checks too, saying what it saw', () => {
    expect(check(report, 'exceptions.rate_limit').summary).toBe('no 429 within 20 requests');
    expect(check(report, 'exceptions.insufficient_balance').summary).toMatch(/^balance 99\.9\d+ USD$/);
    expect(check(report, 'billing.stream_usage').status).toBe('pass');
    expect(check(report, 'billing.incremental').summary).toMatch(/within ±\$/);
    expect(check(report, 'billing.cost').summary).toMatch(
      /^\$0\.\d+ for \d+ requests \(\d+ in \/ \d+ out tokens\) at \$2\/\$8 per 1M$/,
    );
    // The relay serves chat only: the two other APIs are skipped as not served (optional, each with advice).
    const others = new Set(['connectivity.responses', 'connectivity.messages']);
    for (const c of report.checks) if (!others.has(c.id)) expect(c.status, c.id).toBe('pass');
  });

  it("holds the relay's bill over the whole run against the run's own statement of it", () => {
    const invoice = check(report, 'billing.invoice');
    expect(invoice.status).toBe('pass');
    const e = invoice.evidence as {
      billedUsd: number;
      statementUsd: number;
      reportedUsd: number;
      toleranceUsd: number;
      statements: { number: string; lines: { model: string; requests: number; costUsd: number }[] }[];
    };
    // The statement is built by the monthly statement's code from every billable call of the run: one line
    // for the subject's model whose requests are the answered calls and whose cost the bill moved by.
    const [statement, ...more] = e.statements;
    expect(more).toEqual([]);
    expect(statement?.number).toMatch(/^ST-\d{4}-\d{2}-[0-9a-f]{8}$/);
    expect(statement?.lines.map((l) => l.model)).toEqual(['fake-gpt']);
    const answered = relay.requests.filter((r) => r.path === '/v1/chat/completions').length;
    expect(statement?.lines[0]?.requests).toBeGreaterThan(answered / 2);
    expect(statement?.lines[0]?.requests).toBeLessThanOrEqual(answered);
    expect(e.statementUsd).toBe(statement?.lines[0]?.costUsd);
    expect(e.billedUsd).toBeGreaterThanOrEqual(e.reportedUsd - e.toleranceUsd);
    expect(e.billedUsd).toBeLessThanOrEqual(e.statementUsd + e.toleranceUsd);
    expect(invoice.summary).toMatch(/: they match \(±\$[\d.]+\)$/);
  });

  it('tells a chat-only relay apart: no Responses, no Messages, and what the gateway config should say', () => {
    const responses = check(report, 'connectivity.responses');
    expect(responses.status).toBe('skipped');
    expect(responses.summary).toMatch(/^not served \(HTTP 404\); .*endpoints: \[chat, embeddings\]/);
    expect(check(report, 'connectivity.messages').status).toBe('skipped');
    const sent = relay.requests.filter((r) => r.path === '/v1/responses' || r.path === '/v1/messages');
    expect(sent.map((r) => r.path).sort()).toEqual(['/v1/messages', '/v1/responses']);
  });

  it('measures a stream read by read: many bursts, TTFT and the gaps between chunks', () => {
    const e = check(report, 'connectivity.stream').evidence;
    expect(e.bursts).toBeGreaterThanOrEqual(10);
    expect(e.ttftMs).toBeGreaterThan(0);
    expect(e.gapP50Ms).toBeGreaterThanOrEqual(2);
    expect(e.gapMaxMs).toBeGreaterThanOrEqual(e.gapP50Ms as number);
  });

  it('sends a json_schema built from the zod schema it validates with', () => {
    const body = chatBodies().find(
      (b) => (b.response_format as { type?: string } | undefined)?.type === 'json_schema',
    );
    expect(body?.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'capital', strict: true, schema: capitalJsonSchema() },
    });
    expect(capitalJsonSchema()).toMatchObject({
      type: 'object',
      required: ['city', 'country', 'population_millions', 'coastal', 'landmarks'],
    });
  });

  it('asks each consistency prompt `repeats` times at temperature 0 and reports the similarity', () => {
    for (const prompt of CONSISTENCY_PROMPTS) {
      const asked = chatBodies().filter(
        (b) => JSON.stringify(b.messages) === JSON.stringify([{ role: 'user', content: prompt }]),
      );
      expect(asked.map((b) => b.temperature)).toEqual([0, 0, 0]);
    }
    expect(check(report, 'stability.consistency').evidence).toMatchObject({ score: 1, threshold: 0.8 });
  });

  it('ramps concurrency 1, 4, 8 with streamed requests and keeps each step for the report', () => {
    expect(report.samples.ramp.map((s) => [s.concurrency, s.requests, s.ok])).toEqual([
      [1, 2, 2],
      [4, 8, 8],
      [8, 16, 16],
    ]);
    for (const s of report.samples.ramp) expect(s.ttftP50Ms).toBeGreaterThan(0);
    expect(report.samples.latencyMs.length).toBeGreaterThan(30);
    expect(report.samples.ttftMs.length).toBeGreaterThan(25);
  });

  it('classifies each provoked error into the error table', () => {
    expect(check(report, 'exceptions.invalid_key').evidence.error).toMatchObject({
      status: 401,
      type: 'authentication_error',
      code: 'invalid_api_key',
      openaiShaped: true,
    });
    expect(check(report, 'exceptions.unknown_model').evidence.error).toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
    const timeout = check(report, 'exceptions.timeout').evidence as { cut: { error: unknown } };
    expect(timeout.cut.error).toMatchObject({ type: 'timeout_error' });
  });

  it('never writes the key into the report', () => {
    expect(JSON.stringify(report)).not.toContain(relay.key);
  });
});

describe('validate with fewer means', () => {
  it('skips the ramp steps the request cap cannot afford, and says so', async () => {
    const ramp = ALL_CHECKS.filter((c) => c.name === 'concurrency');
    const r = await runSubject(subject(), ramp, { ...LIMITS, maxRequests: 12, concurrency: 16 }, deps);
    const c = check(r, 'stability.concurrency');
    expect(c.status).toBe('pass');
    expect(c.summary).toMatch(/steps 16 skipped: over the run's caps$/);
    expect(r.samples.ramp.map((s) => s.concurrency)).toEqual([1, 4]);
  });

  it('skips the bill and cost checks without prices', async () => {
    const billing = ALL_CHECKS.filter((c) => c.suite === 'billing');
    const { prices: _none, ...unpriced } = subject();
    const r = await runValidation([unpriced], billing, LIMITS, deps);
    const s = r.subjects[0];
    if (s === undefined) throw new Error('no subject');
    expect(check(s, 'billing.incremental')).toMatchObject({
      status: 'skipped',
      summary: 'no prices configured for the subject',
    });
    expect(check(s, 'billing.cost')).toMatchObject({
      status: 'skipped',
      summary: 'no prices configured for the subject',
    });
    expect(check(s, 'billing.invoice')).toMatchObject({
      status: 'skipped',
      summary: 'no prices configured for the subject',
    });
    expect(r.passed).toBe(true);
  });

  it('reads no bill when the subject says its relay has none', async () => {
    const bill = ALL_CHECKS.filter((c) =>
      ['insufficient_balance', 'incremental', 'invoice'].includes(c.name),
    );
    const r = await runSubject(subject({ billing: 'none' }), bill, LIMITS, deps);
    expect(r.checks.map((c) => [c.id, c.status, c.summary])).toEqual([
      [
        'exceptions.insufficient_balance',
        'skipped',
        'no balance to read (none): billing type none has no such reading',
      ],
      ['billing.incremental', 'skipped', 'no bill to read (none): billing type none has no such reading'],
      ['billing.invoice', 'skipped', 'no bill to read (none): billing type none has no such reading'],
    ]);
    expect(r.usage.requests).toBe(0);
  });

  it('reports an unlimited one-api quota as a pass, not a zero balance', async () => {
    const unlimited = await startFakeRelay({ quotaUsd: 100_000_000 });
    try {
      const balance = ALL_CHECKS.filter((c) => c.name === 'insufficient_balance');
      const r = await runSubject(
        subject({ baseUrl: unlimited.url, key: unlimited.key }),
        balance,
        LIMITS,
        deps,
      );
      expect(check(r, 'exceptions.insufficient_balance')).toMatchObject({
        status: 'pass',
        summary: 'the relay reports an unlimited quota',
      });
    } finally {
      await unlimited.close();
    }
  });
});
