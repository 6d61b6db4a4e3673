/**
 * `switchyard validate`: the pre-launch checklist as data. A run checks one or more *subjects* (a target —
 * an OpenAI-compatible base URL and key, Switchyard itself or a relay — with one model) through four suites;
 * each check ends pass / fail / skipped with its evidence, and a failed *required* check fails the run.
 */
import type { BillingType } from '../../core/config/presets.ts';
import type { HttpClient } from '../../core/providers/types.ts';
import type { TokenCounter } from '../../core/usage/types.ts';
import type { Counter, Reading } from './billing-read.ts';
import type { ValidateClient } from './client.ts';

export type Suite = 'connectivity' | 'stability' | 'exceptions' | 'billing';
export const SUITES: readonly Suite[] = ['connectivity', 'stability', 'exceptions', 'billing'];

export type CheckStatus = 'pass' | 'fail' | 'skipped';

/** What a check found. `evidence` holds the numbers and samples a reader needs to believe the verdict. */
export interface CheckOutcome {
  readonly status: CheckStatus;
  /** One line: what was seen (a skip says why). */
  readonly summary: string;
  readonly evidence: Readonly<Record<string, unknown>>;
}

export interface CheckResult extends CheckOutcome {
  /** `<suite>.<name>`, e.g. `connectivity.stream`. */
  readonly id: string;
  readonly suite: Suite;
  readonly title: string;
  readonly required: boolean;
  readonly ms: number;
}

/** USD per 1M tokens, for the billing suite's cost and the spend cap. */
export interface Prices {
  readonly input: number;
  readonly output: number;
}

/** One column of the report: a target with one of its models. */
export interface Subject {
  /** The target's name (`--target name=…`; `default` for `--base-url`). */
  readonly name: string;
  /** The OpenAI base URL, e.g. https://relay.example/v1 (no trailing slash). */
  readonly baseUrl: string;
  readonly key: string;
  readonly model: string;
  /** How to read the relay's balance / usage (`--billing`); undefined: probe one-api's endpoints. */
  readonly billing?: BillingType;
  readonly prices?: Prices;
}

export interface Limits {
  /** Requests per subject, all suites together; a check that would pass it is skipped. */
  readonly maxRequests: number;
  /** Spend per subject at `prices` (estimated before each call from its max_tokens). */
  readonly maxSpendUsd: number;
  /** `max_tokens` of every request the checks send. */
  readonly maxTokens: number;
  /** The top of the concurrency ramp (1, 4, 16, … up to this). */
  readonly concurrency: number;
  /** Per request, unless a check sets its own. */
  readonly timeoutMs: number;
  /** Times each sample prompt is asked for the consistency check. */
  readonly repeats: number;
  /** Requests at most in the rate-limit burst. */
  readonly burst: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxRequests: 200,
  maxSpendUsd: 0.5,
  maxTokens: 64,
  concurrency: 16,
  timeoutMs: 30_000,
  repeats: 3,
  burst: 30,
};

/** One step of the concurrency ramp. */
export interface RampStep {
  readonly concurrency: number;
  readonly requests: number;
  readonly ok: number;
  readonly latencyP50Ms: number | null;
  readonly latencyP95Ms: number | null;
  readonly ttftP50Ms: number | null;
}

/** Raw measurements the report draws (latency and TTFT distributions, the ramp). */
export interface Samples {
  readonly latencyMs: number[];
  readonly ttftMs: number[];
  readonly ramp: RampStep[];
}

/** The subject's validation window: when it began and the relay's bill as read before its first request. */
export interface RunWindow {
  readonly startedAt: string;
  /** Undefined when no check asked for it (no check has `readsOpeningBill`). */
  readonly opening?: Reading<Counter>;
}

export interface CheckContext {
  readonly subject: Subject;
  readonly window: RunWindow;
  readonly client: ValidateClient;
  readonly limits: Limits;
  readonly samples: Samples;
  readonly tokens: TokenCounter;
  /** The run's HTTP wire (keep-alive pool), for what a check reads besides the API (billing endpoints). */
  readonly http: HttpClient;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A progress line for the terminal (e.g. `ramp 4/16`). */
  progress(message: string): void;
}

export interface Check {
  /** The part after the suite: `stream`, `json_schema`, … */
  readonly name: string;
  readonly suite: Suite;
  readonly title: string;
  /** Required checks fail the run (exit code 1); the others are reported only. */
  readonly required: boolean;
  /** The runner reads the relay's bill before the subject's first request (the invoice check's opening). */
  readonly readsOpeningBill?: boolean;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}

export interface SubjectReport {
  readonly subject: Omit<Subject, 'key'>;
  readonly checks: readonly CheckResult[];
  readonly samples: Samples;
  /** What the run itself used on this subject: requests sent, tokens reported, cost at the prices. */
  readonly usage: {
    readonly requests: number;
    readonly inputTokens: number;
    readonly outputTokens: number;
    readonly costUsd: number | null;
  };
  readonly ms: number;
}

export interface ValidateReport {
  readonly tool: 'switchyard validate';
  readonly startedAt: string;
  readonly limits: Limits;
  readonly subjects: readonly SubjectReport[];
  /** No required check failed on any subject. */
  readonly passed: boolean;
}
