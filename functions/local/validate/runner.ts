/**
 * Runs the checks on each subject in turn (never two subjects at once, so their timings do not disturb each
 * other), inside the run's caps. A check that throws {@link BudgetExhausted} is skipped with the cap as its
 * reason; one that throws anything else fails with the error as its evidence — a run always ends with a
 * verdict for every check.
 */
import { performance } from 'node:perf_hooks';
import type { HttpClient } from '../../core/providers/types.ts';
import type { TokenCounter } from '../../core/usage/types.ts';
import { BudgetExhausted, ValidateClient } from './client.ts';
import type {
  Check,
  CheckOutcome,
  CheckResult,
  Limits,
  Samples,
  Subject,
  SubjectReport,
  ValidateReport,
} from './types.ts';

export interface RunnerDeps {
  readonly http: HttpClient;
  readonly tokens: TokenCounter;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now: () => Date;
  readonly progress?: (event: ProgressEvent) => void;
}

export type ProgressEvent =
  | {
      readonly kind: 'check-start';
      readonly subject: string;
      readonly check: string;
      readonly index: number;
      readonly total: number;
    }
  | {
      readonly kind: 'check-note';
      readonly subject: string;
      readonly check: string;
      readonly message: string;
    }
  | { readonly kind: 'check-done'; readonly subject: string; readonly result: CheckResult };

/** The column name of a subject: `name/model`, or the model alone for a single unnamed target. */
export const subjectLabel = (s: Pick<Subject, 'name' | 'model'>): string =>
  s.name === 'default' ? s.model : `${s.name}/${s.model}`;

async function runCheck(
  check: Check,
  subject: Subject,
  client: ValidateClient,
  samples: Samples,
  limits: Limits,
  deps: RunnerDeps,
): Promise<CheckOutcome> {
  try {
    return await check.run({
      subject,
      client,
      limits,
      samples,
      tokens: deps.tokens,
      sleep: deps.sleep,
      progress: (message) =>
        deps.progress?.({
          kind: 'check-note',
          subject: subjectLabel(subject),
          check: `${check.suite}.${check.name}`,
          message,
        }),
    });
  } catch (err) {
    if (err instanceof BudgetExhausted)
      return { status: 'skipped', summary: `not run: ${err.message}`, evidence: {} };
    return {
      status: 'fail',
      summary: `the check itself failed: ${err instanceof Error ? err.message : String(err)}`,
      evidence: { error: String(err) },
    };
  }
}

export async function runSubject(
  subject: Subject,
  checks: readonly Check[],
  limits: Limits,
  deps: RunnerDeps,
): Promise<SubjectReport> {
  const client = new ValidateClient(subject, limits, deps.http, deps.tokens);
  const samples: Samples = { latencyMs: [], ttftMs: [], ramp: [] };
  const results: CheckResult[] = [];
  const t0 = performance.now();
  for (const [i, check] of checks.entries()) {
    const id = `${check.suite}.${check.name}`;
    deps.progress?.({
      kind: 'check-start',
      subject: subjectLabel(subject),
      check: id,
      index: i,
      total: checks.length,
    });
    const started = performance.now();
    const outcome = await runCheck(check, subject, client, samples, limits, deps);
    const result: CheckResult = {
      ...outcome,
      id,
      suite: check.suite,
      title: check.title,
      required: check.required,
      ms: Math.round(performance.now() - started),
    };
    results.push(result);
    deps.progress?.({ kind: 'check-done', subject: subjectLabel(subject), result });
  }
  const { key: _key, ...visible } = subject;
  return {
    subject: visible,
    checks: results,
    samples,
    usage: {
      requests: client.used.requests,
      inputTokens: client.used.inputTokens,
      outputTokens: client.used.outputTokens,
      costUsd: subject.prices === undefined ? null : Math.round(client.used.costUsd * 1e6) / 1e6,
    },
    ms: Math.round(performance.now() - t0),
  };
}

export async function runValidation(
  subjects: readonly Subject[],
  checks: readonly Check[],
  limits: Limits,
  deps: RunnerDeps,
): Promise<ValidateReport> {
  const startedAt = deps.now().toISOString();
  const reports: SubjectReport[] = [];
  for (const s of subjects) reports.push(await runSubject(s, checks, limits, deps));
  return {
    tool: 'switchyard validate',
    startedAt,
    limits,
    subjects: reports,
    passed: reports.every((r) => r.checks.every((c) => !c.required || c.status !== 'fail')),
  };
}
