/**
 * A synthetic two-subject `switchyard validate` run for the HTML report's tests: every suite, every status,
 * a required failure, a check one subject never ran, a long latency tail, a ramp that degrades — and relay
 * bodies carrying HTML/script injections in summaries and evidence.
 */
import type {
  CheckResult,
  RampStep,
  Samples,
  SubjectReport,
  ValidateReport,
} from '../../../functions/local/validate/types.ts';
import { DEFAULT_LIMITS } from '../../../functions/local/validate/types.ts';

/** The injection a hostile relay puts in its body; the report must show it as text. */
export const INJECTION = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

/** mulberry32: the same "random" samples on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Log-normal-ish samples around `median` ms. */
function samples(seed: number, n: number, median: number, spread: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return Math.round(median * Math.exp(spread * z));
  });
}

type Row = Omit<CheckResult, 'ms'> & { ms?: number };
const check = (r: Row): CheckResult => ({ ms: 420, ...r });

const base = (status: 'pass' | 'fail' | 'skipped'): Row[] => [
  {
    id: 'connectivity.plain',
    suite: 'connectivity',
    title: 'Plain text answer',
    required: true,
    status: 'pass',
    summary: 'answered "pong" in 612 ms',
    evidence: { status: 200, content: 'pong', usage: { prompt_tokens: 12, completion_tokens: 1 } },
  },
  {
    id: 'connectivity.stream',
    suite: 'connectivity',
    title: 'Streaming arrives incrementally',
    required: true,
    status,
    summary:
      status === 'pass'
        ? '14 chunks over 9 reads, TTFT 210 ms, max gap 80 ms'
        : `all 14 chunks arrived in one read after 1.9 s; body began ${INJECTION}`,
    evidence: {
      status: 200,
      reads: status === 'pass' ? 9 : 1,
      ttftMs: 210,
      gapsMs: [30, 41, 80],
      excerpt: INJECTION,
    },
  },
  {
    id: 'connectivity.json_schema',
    suite: 'connectivity',
    title: 'Structured output (json_schema)',
    required: false,
    status: 'pass',
    summary: 'valid against the schema sent',
    evidence: { parsed: { city: 'Paris', population: 2102650 } },
  },
  {
    id: 'stability.consistency',
    suite: 'stability',
    title: 'Consistency at temperature 0',
    required: false,
    status: 'pass',
    summary: 'similarity 0.97 over 3 prompts × 3 repeats',
    evidence: { similarity: 0.97, repeats: 3 },
  },
  {
    id: 'stability.ramp',
    suite: 'stability',
    title: 'Concurrency ramp',
    required: true,
    status,
    summary: status === 'pass' ? '100% success up to 16' : '62% success at 16 (6 × 500)',
    evidence: { steps: [1, 4, 16] },
  },
  {
    id: 'exceptions.invalid_key',
    suite: 'exceptions',
    title: 'Invalid key → auth error',
    required: true,
    status: 'pass',
    summary: '401 authentication_error / invalid_api_key',
    evidence: { status: 401, classified: { type: 'authentication_error', code: 'invalid_api_key' } },
  },
  {
    id: 'exceptions.balance',
    suite: 'exceptions',
    title: 'Insufficient balance',
    required: false,
    status: 'skipped',
    summary: 'the relay has no balance endpoint',
    evidence: {},
  },
  {
    id: 'billing.usage',
    suite: 'billing',
    title: 'Reported usage vs local count',
    required: false,
    status: 'pass',
    summary: 'prompt tokens within 2% of the local count',
    evidence: { reported: 120, counted: 118 },
  },
];

function ramp(seed: number, degrade: boolean): RampStep[] {
  return [1, 4, 16].map((c, i) => {
    const requests = c * 2;
    const ok = degrade && c === 16 ? 20 : requests;
    const lat = samples(seed + i, requests, 600 * (1 + (degrade ? i * 0.8 : i * 0.15)), 0.2).sort(
      (a, b) => a - b,
    );
    return {
      concurrency: c,
      requests,
      ok,
      latencyP50Ms: lat[Math.floor(requests * 0.5)] ?? null,
      latencyP95Ms: lat[Math.ceil(requests * 0.95) - 1] ?? null,
      ttftP50Ms: 200 + i * 40,
    };
  });
}

export function subjectReport(
  name: string,
  model: string,
  checks: CheckResult[],
  s: Samples,
  costUsd: number | null = 0.0123,
): SubjectReport {
  return {
    subject: {
      name,
      model,
      baseUrl: `https://${name}.relay.example/v1`,
      // A cost was measured only where prices were given.
      ...(costUsd === null ? {} : { prices: { input: 0.15, output: 0.6 } }),
    },
    checks,
    samples: s,
    usage: { requests: 57, inputTokens: 4120, outputTokens: 980, costUsd },
    ms: 18_400,
  };
}

/** The two-subject run both report tests render. */
export function twoSubjectReport(): ValidateReport {
  const good = base('pass').map(check);
  const bad = base('fail')
    .filter((c) => c.id !== 'billing.usage')
    .map(check);
  return {
    tool: 'switchyard validate',
    startedAt: '2026-11-02T09:30:00.000Z',
    limits: DEFAULT_LIMITS,
    passed: false,
    subjects: [
      subjectReport('default', 'gpt-4o-mini', good, {
        latencyMs: samples(1, 60, 700, 0.3),
        ttftMs: samples(2, 30, 220, 0.25),
        ramp: ramp(3, false),
      }),
      subjectReport(
        'relay-b',
        'deepseek-chat',
        bad,
        {
          latencyMs: [...samples(4, 54, 1100, 0.4), 30_000, 30_000],
          ttftMs: samples(5, 25, 480, 0.5),
          ramp: ramp(6, true),
        },
        null,
      ),
    ],
  };
}

/** Every check id of the run, as the report's rows must show them. */
export const CHECK_IDS = base('pass').map((c) => c.id);
