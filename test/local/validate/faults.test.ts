/**
 * Each misbehaviour of a relay fails exactly the checks that look for it — and no others — with evidence a
 * reader can act on. One fake relay on loopback, its fault switched per case, the whole checklist each time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUndiciClient } from '../../../functions/core/upstream/undici-client.ts';
import { localTokenCounter } from '../../../functions/local/token-counter.ts';
import { ALL_CHECKS } from '../../../functions/local/validate/checks.ts';
import { type RunnerDeps, runSubject } from '../../../functions/local/validate/runner.ts';
import {
  type CheckResult,
  DEFAULT_LIMITS,
  type Limits,
  type SubjectReport,
} from '../../../functions/local/validate/types.ts';
import {
  FAKE_RELAY_PRICES,
  type FakeRelay,
  type RelayFaults,
  startFakeRelay,
} from '../../support/fake-relay.ts';

const LIMITS: Limits = { ...DEFAULT_LIMITS, concurrency: 8, burst: 20, timeoutMs: 5000 };
const http = createUndiciClient();
const deps: RunnerDeps = { http, tokens: localTokenCounter(), sleep: async () => {}, now: () => new Date() };

let relay: FakeRelay;
beforeAll(async () => {
  relay = await startFakeRelay();
});
afterAll(async () => {
  await relay.close();
  await http.close();
});

async function runWith(faults: RelayFaults, checks = ALL_CHECKS): Promise<SubjectReport> {
  relay.setFaults(faults);
  const subject = {
    name: 'fake',
    baseUrl: relay.url,
    key: relay.key,
    model: 'fake-gpt',
    prices: FAKE_RELAY_PRICES,
  };
  return runSubject(subject, checks, LIMITS, deps);
}
const ids = (r: SubjectReport, status: CheckResult['status']): string[] =>
  r.checks.filter((c) => c.status === status).map((c) => c.id);
function check(r: SubjectReport, id: string): CheckResult {
  const c = r.checks.find((x) => x.id === id);
  if (c === undefined) throw new Error(`no check ${id}`);
  return c;
}

interface FaultCase {
  readonly fault: string;
  readonly faults: RelayFaults;
  readonly fails: readonly string[];
  readonly skips?: readonly string[];
  /** What the failed (or skipped) checks say about it. */
  readonly evidence: (r: SubjectReport) => void;
}

const CASES: readonly FaultCase[] = [
  {
    fault: 'a relay that buffers the whole stream',
    faults: { bufferStream: true },
    fails: ['connectivity.stream'],
    evidence: (r) => {
      const c = check(r, 'connectivity.stream');
      expect(c.summary).toMatch(
        /^not incremental: \d+ deltas arrived in \d read\(s\) within [\d.]+ ms \(1 burst\(s\)/,
      );
      expect(c.evidence).toMatchObject({ bursts: 1, done: true });
    },
  },
  {
    fault: 'a relay that reports three times the usage',
    faults: { usageFactor: 3 },
    fails: ['billing.usage_tokens'],
    evidence: (r) => {
      const c = check(r, 'billing.usage_tokens');
      expect(c.summary).toMatch(/^reported \d+ prompt tokens where \d+ were expected \(×(2\.9|3)/);
      for (const row of c.evidence.requests as { reported: number; expected: number }[]) {
        expect(row.reported / row.expected).toBeGreaterThan(2.7);
      }
    },
  },
  {
    fault: 'a relay that answers 500 above 4 requests in flight',
    faults: { failAboveConcurrency: 4 },
    // The burst is sent in waves of 10, so the rate-limit check sees the 500s too.
    fails: ['stability.concurrency', 'exceptions.rate_limit'],
    evidence: (r) => {
      expect(check(r, 'stability.concurrency').summary).toMatch(
        /^at concurrency 8 only \d+\/16 succeeded \(500 upstream_error\/upstream_server_error ×\d+\); success 1: 100 %, 4: 100 %, 8: \d+ %$/,
      );
      expect(r.samples.ramp.map((s) => s.ok === s.requests)).toEqual([true, true, false]);
      expect(check(r, 'exceptions.rate_limit').summary).toMatch(
        /^the burst broke the relay: \d+× HTTP 500 upstream_error\/upstream_server_error \(relay: server_error\) in 10 requests$/,
      );
    },
  },
  {
    fault: 'a relay that hands the next request a dead connection after a client gave up',
    faults: { failAfterAbort: true },
    fails: ['exceptions.timeout'],
    evidence: (r) => {
      const c = check(r, 'exceptions.timeout');
      expect(c.summary).toBe(
        'the request after the timeout failed: HTTP 502 upstream_error/upstream_server_error (relay: server_error)',
      );
      expect(c.evidence).toMatchObject({ cut: { error: { type: 'timeout_error' } }, next: { status: 502 } });
    },
  },
  {
    fault: 'a relay that accepts any key',
    faults: { acceptAnyKey: true },
    fails: ['exceptions.invalid_key'],
    evidence: (r) =>
      expect(check(r, 'exceptions.invalid_key').summary).toBe('HTTP 200: the relay accepted a made-up key'),
  },
  {
    fault: 'a relay that ignores response_format',
    faults: { ignoreJsonMode: true },
    fails: ['connectivity.json_object', 'connectivity.json_schema'],
    evidence: (r) => {
      for (const id of ['connectivity.json_object', 'connectivity.json_schema']) {
        expect(check(r, id).summary).toMatch(/^the content is not JSON: /);
        expect(check(r, id).evidence.content).toMatch(/^The answer is /);
      }
    },
  },
  {
    fault: 'a relay without a billing panel',
    faults: { noBilling: true },
    fails: [],
    skips: ['exceptions.insufficient_balance', 'billing.incremental', 'billing.invoice'],
    evidence: (r) => {
      expect(check(r, 'billing.invoice').summary).toMatch(
        /^no bill to read \(oneapi \(probed\)\): the relay has no such endpoint/,
      );
      expect(check(r, 'exceptions.insufficient_balance').summary).toMatch(
        /^no balance to read \(oneapi \(probed\)\): the relay has no such endpoint \(\/dashboard\/billing\/subscription: HTTP 404/,
      );
      expect(check(r, 'billing.incremental').summary).toMatch(
        /^no bill to read \(oneapi \(probed\)\): the relay has no such endpoint/,
      );
    },
  },
  {
    fault: 'a relay whose balance is used up',
    faults: { zeroBalance: true },
    fails: ['exceptions.insufficient_balance'],
    evidence: (r) => {
      const c = check(r, 'exceptions.insufficient_balance');
      expect(c.summary).toBe('the balance is 0 USD: requests will be refused');
      expect(c.evidence).toEqual({ adapter: 'oneapi (probed)', balance: { amount: 0, currency: 'USD' } });
    },
  },
  {
    fault: 'a relay that answers for any model name',
    faults: { acceptAnyModel: true },
    fails: ['exceptions.unknown_model'],
    evidence: (r) =>
      expect(check(r, 'exceptions.unknown_model').summary).toMatch(
        /^HTTP 200: the relay answered for switchyard-validate-no-such-model-[0-9a-f]{8}$/,
      ),
  },
  {
    fault: 'a relay that forgets earlier turns',
    faults: { forgetTurns: true },
    fails: ['stability.multi_turn'],
    evidence: (r) =>
      expect(check(r, 'stability.multi_turn').summary).toMatch(
        /^turn 2 answered "I do not know any code word\.", not the code word [a-z]+\d{3}$/,
      ),
  },
  {
    fault: 'a relay whose answers change at temperature 0',
    faults: { randomAnswers: true },
    fails: ['stability.consistency'],
    evidence: (r) => {
      const c = check(r, 'stability.consistency');
      expect(c.evidence.score).toBeLessThan(0.8);
      expect(c.summary).toMatch(/^similarity 0\.\d+ over 3 prompts × 3 \(lowest 0\.\d+\); needs ≥ 0\.8$/);
    },
  },
  {
    fault: 'a relay that drops the usage chunk of streams',
    faults: { noStreamUsage: true },
    fails: ['billing.stream_usage'],
    evidence: (r) => {
      expect(check(r, 'billing.stream_usage').summary).toBe(
        'no usage chunk at the end of the stream (stream_options.include_usage was sent)',
      );
      // The streams' cost is estimated (max_tokens: an upper bound) and the bill, which has their true
      // usage, falls between the statement's reported part and its total.
      const invoice = check(r, 'billing.invoice');
      expect(invoice.status).toBe('pass');
      expect(invoice.summary).toMatch(/of it estimated for \d+ requests without reported usage: they match/);
      const e = invoice.evidence as Record<string, number>;
      expect(e.billedUsd).toBeGreaterThan(e.reportedUsd as number);
      expect(e.billedUsd).toBeLessThan(e.statementUsd as number);
    },
  },
  {
    fault: 'a relay that reports no usage at all',
    faults: { noUsage: true },
    fails: ['billing.usage_tokens', 'billing.cost'],
    skips: ['billing.stream_usage', 'billing.incremental', 'billing.invoice'],
    evidence: (r) => {
      expect(check(r, 'billing.invoice').summary).toMatch(
        /^none of the run's \d+ billable requests reported usage: the statement holds estimates only/,
      );
      expect(check(r, 'billing.usage_tokens').summary).toBe('3 of 3 answers reported no usage');
      expect(check(r, 'billing.stream_usage').summary).toBe(
        'the unstreamed call reported no usage to compare with',
      );
      expect(check(r, 'billing.incremental').summary).toMatch(
        /^request 1 reported no usage \(HTTP 200\): nothing to compare/,
      );
      expect(check(r, 'billing.cost').summary).toMatch(
        /^none of \d+ requests reported usage: no cost can be computed$/,
      );
    },
  },
  {
    fault: 'a relay that bills twice the usage it reports',
    faults: { billFactor: 2 },
    fails: ['billing.incremental', 'billing.invoice'],
    evidence: (r) => {
      // Over the whole run: the bill shows twice what the run's statement lists, and says both figures.
      const invoice = check(r, 'billing.invoice');
      expect(invoice.summary).toMatch(
        /^the bill's spent moved \$([\d.]+) over the run; its statement \(ST-\d{4}-\d{2}-[0-9a-f]{8}\) lists \d+ requests for \$([\d.]+).*: the bill is off by \$[\d.]+ /,
      );
      const e = invoice.evidence as Record<string, number>;
      expect(e.billedUsd).toBeGreaterThan(1.8 * (e.reportedUsd as number));
      const c = check(r, 'billing.incremental');
      expect(c.summary).toMatch(
        /^the bill's spent moved \$[\d.]+ for 3 requests whose reported usage costs \$[\d.]+ \(×2; /,
      );
      expect(c.evidence.billedUsd).toBeCloseTo(2 * (c.evidence.expectedUsd as number), 6);
    },
  },
];

describe('validate against a faulty relay', () => {
  it.each(CASES)('$fault fails exactly $fails', async ({ faults, fails, skips = [], evidence }) => {
    const r = await runWith(faults);
    expect(ids(r, 'fail'), r.checks.map((c) => `${c.id}: ${c.summary}`).join('\n')).toEqual(fails);
    // The fake relay serves chat only: the Responses and Messages checks are skipped as "not served" in
    // every case, which is what a chat-only relay gets.
    expect(ids(r, 'skipped')).toEqual(['connectivity.responses', 'connectivity.messages', ...skips]);
    evidence(r);
    expect(JSON.stringify(r)).not.toContain(relay.key);
  });
});

describe('the rate-limit check', () => {
  const rateLimitOnly = ALL_CHECKS.filter((c) => c.name === 'rate_limit');
  const burst = async (retryAfter: boolean): Promise<CheckResult> => {
    const limited = await startFakeRelay({ rateLimit: { perSecond: 5, retryAfter } });
    try {
      const subject = { name: 'fake', baseUrl: limited.url, key: limited.key, model: 'fake-gpt' };
      return check(await runSubject(subject, rateLimitOnly, LIMITS, deps), 'exceptions.rate_limit');
    } finally {
      await limited.close();
    }
  };

  it('passes on a 429 that carries Retry-After, reporting it and the body shape', async () => {
    const c = await burst(true);
    expect(c.status).toBe('pass');
    expect(c.summary).toMatch(/^429 after \d+ requests, Retry-After 1 \(1000 ms\), an OpenAI-shaped body$/);
    expect(c.evidence).toMatchObject({ sent: 10, statuses: { 200: 5, 429: 5 } });
  });

  it('fails on a 429 without Retry-After', async () => {
    const c = await burst(false);
    expect(c.status).toBe('fail');
    expect(c.summary).toMatch(/^429 after \d+ requests without a Retry-After \(an OpenAI-shaped body\)$/);
  });

  it('stops the burst at the request cap and says so', async () => {
    relay.setFaults({});
    const subject = { name: 'fake', baseUrl: relay.url, key: relay.key, model: 'fake-gpt' };
    const r = await runSubject(subject, rateLimitOnly, { ...LIMITS, maxRequests: 7 }, deps);
    expect(check(r, 'exceptions.rate_limit').summary).toBe(
      "no 429 within 7 requests (the run's caps allow 7 of the 20)",
    );
  });
});
