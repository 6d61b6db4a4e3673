/**
 * Runs the checks on each subject in turn (never two subjects at once, so their timings do not disturb each
 * other), inside the run's caps. An optional check that throws {@link BudgetExhausted} is skipped with the
 * cap as its reason, a required one fails (the checklist did not complete); one that throws anything else
 * fails with the error as its evidence — a run always ends with a verdict for every check.
 */
import { performance } from 'node:perf_hooks';
import type { HttpClient } from '../../core/providers/types.ts';
import type { TokenCounter } from '../../core/usage/types.ts';
import { readCounter } from './billing-read.ts';
import { BudgetExhausted, ValidateClient } from './client.ts';
import type {
  Check,
  CheckOutcome,
  CheckResult,
  Limits,
  RunWindow,
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
  window: RunWindow,
  client: ValidateClient,
  samples: Samples,
  limits: Limits,
  deps: RunnerDeps,
): Promise<CheckOutcome> {
  try {
    return await check.run({
      subject,
      window,
      client,
      limits,
      samples,
      tokens: deps.tokens,
      http: deps.http,
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
    if (err instanceof BudgetExhausted) {
      // A required check the caps cut short is not a pass: the checklist did not complete.
      return check.required
        ? {
            status: 'fail',
            summary: `not completed: ${err.message} (raise --max-requests / --max-spend-usd)`,
            evidence: { cap: err.message },
          }
        : { status: 'skipped', summary: `not run: ${err.message}`, evidence: {} };
    }
    return {
      status: 'fail',
      summary: `the check itself failed: ${err instanceof Error ? err.message : String(err)}`,
      evidence: { error: String(err) },
    };
  }
}

/**
 * The outcome with the subject's own key taken out of its summary and evidence wherever a relay echoed it
 * (the pattern-based redaction knows `sk-…` keys, not every vendor's format).
 */
function withoutKey(outcome: CheckOutcome, key: string): CheckOutcome {
  if (key.length < 6) return outcome;
  const text = JSON.stringify(outcome);
  if (!text.includes(key)) return outcome;
  return JSON.parse(text.split(key).join('[key]')) as CheckOutcome;
}

/** A base URL as reports show it: user info and query values (where keys hide) masked. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username !== '' || u.password !== '') {
      u.username = '***';
      u.password = '';
    }
    for (const k of [...u.searchParams.keys()]) u.searchParams.set(k, '***');
    return u.toString().replace(/\/$/, '');
  } catch {
    return '[unparsable URL]';
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
  const window: RunWindow = {
    startedAt: deps.now().toISOString(),
    ...(checks.some((c) => c.readsOpeningBill === true)
      ? {
          opening: await readCounter({ subject, limits, http: deps.http, sleep: deps.sleep }),
        }
      : {}),
  };
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
    const outcome = withoutKey(
      await runCheck(check, subject, window, client, samples, limits, deps),
      subject.key,
    );
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
    subject: { ...visible, baseUrl: shownUrl(subject.baseUrl) },
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
