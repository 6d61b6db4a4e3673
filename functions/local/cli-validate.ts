/**
 * `switchyard validate`: the pre-launch checklist against any OpenAI-compatible base URL — Switchyard itself
 * or a relay — or several side by side (`--target name=url,key,model`, repeated). Prints the caps before it
 * starts, a live progress line while it runs (stderr), then a summary table (or `--json`) and, with
 * `--report`, a self-contained HTML report. Exit code 1 when a required check failed, 2 on bad flags.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { BILLING_TYPES } from '../core/config/presets.ts';
import { abortableSleep } from '../core/system.ts';
import { createUndiciClient } from '../core/upstream/undici-client.ts';
import { textTable } from './text-table.ts';
import { localTokenCounter } from './token-counter.ts';
import { ALL_CHECKS } from './validate/checks.ts';
import { renderHtml } from './validate/report-html.ts';
import { type ProgressEvent, runValidation, subjectLabel } from './validate/runner.ts';
import {
  type Check,
  DEFAULT_LIMITS,
  type Limits,
  SUITES,
  type Subject,
  type ValidateReport,
} from './validate/types.ts';

export const VALIDATE_USAGE = `Usage: switchyard validate --base-url URL --key KEY --model M [--model M2 …] [options]
       switchyard validate --target name=URL,KEY,MODEL [--target …] [options]

  --concurrency N        top of the concurrency ramp (1, 4, 16, …; default ${DEFAULT_LIMITS.concurrency})
  --report FILE          write a self-contained HTML report (charts, one column per target)
  --json                 print the report as JSON instead of the table
  --price IN,OUT         USD per 1M input/output tokens: the billing suite's cost, and the spend cap
  --billing TYPE         how to read the relay's balance (${BILLING_TYPES.join(' | ')}; default: probe one-api)
  --suite NAME           only these suites (${SUITES.join(', ')}; repeatable)
  --max-requests N       per target (default ${DEFAULT_LIMITS.maxRequests})
  --max-spend-usd X      per target, at --price (default ${DEFAULT_LIMITS.maxSpendUsd})
  --max-tokens N         max_tokens of every request (default ${DEFAULT_LIMITS.maxTokens})
  --timeout-ms N         per request (default ${DEFAULT_LIMITS.timeoutMs})
  The key may come from SWITCHYARD_VALIDATE_KEY instead of --key (kept out of shell history).
`;

class UsageError extends Error {}
class HelpRequested extends Error {}

const urlSchema = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));

function number(flag: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${flag} must be a number ≥ ${min}, got "${v}"`);
  return n;
}

function url(flag: string, v: string): string {
  const r = urlSchema.safeParse(v);
  if (!r.success) throw new UsageError(`${flag}: ${r.error.issues[0]?.message ?? 'not a URL'} ("${v}")`);
  return r.data;
}

/** `name=url,key,model` — the key may contain '=' but not ','. */
function parseTarget(spec: string): { name: string; baseUrl: string; key: string; model: string } {
  const eq = spec.indexOf('=');
  const [u, key, model, ...rest] = eq === -1 ? [] : spec.slice(eq + 1).split(',');
  const name = spec.slice(0, eq);
  if (
    eq < 1 ||
    u === undefined ||
    key === undefined ||
    model === undefined ||
    rest.length > 0 ||
    key === '' ||
    model === ''
  ) {
    // Never echo the spec: it holds a key.
    throw new UsageError('--target must be name=URL,KEY,MODEL (three comma-separated parts after "name=")');
  }
  if (!/^[A-Za-z0-9._-]{1,40}$/.test(name))
    throw new UsageError(`--target name "${name}": use A-Z a-z 0-9 . _ -`);
  return { name, baseUrl: url('--target', u), key, model };
}

export function parseValidateArgs(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): {
  subjects: Subject[];
  limits: Limits;
  checks: readonly Check[];
  json: boolean;
  report: string | undefined;
} {
  const { values } = parseArgs({
    args: [...args],
    options: {
      'base-url': { type: 'string' },
      key: { type: 'string' },
      model: { type: 'string', multiple: true },
      target: { type: 'string', multiple: true },
      concurrency: { type: 'string' },
      report: { type: 'string' },
      json: { type: 'boolean' },
      price: { type: 'string' },
      billing: { type: 'string' },
      suite: { type: 'string', multiple: true },
      'max-requests': { type: 'string' },
      'max-spend-usd': { type: 'string' },
      'max-tokens': { type: 'string' },
      'timeout-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) throw new HelpRequested();
  let prices: Subject['prices'];
  if (values.price !== undefined) {
    const [i, o, ...more] = values.price.split(',').map(Number);
    if (i === undefined || o === undefined || more.length > 0 || !(i >= 0) || !(o >= 0)) {
      throw new UsageError(`--price must be IN,OUT in USD per 1M tokens, got "${values.price}"`);
    }
    prices = { input: i, output: o };
  }
  const billing = values.billing;
  if (billing !== undefined && !(BILLING_TYPES as readonly string[]).includes(billing)) {
    throw new UsageError(`--billing must be one of ${BILLING_TYPES.join(', ')}`);
  }
  const extra = {
    ...(prices === undefined ? {} : { prices }),
    ...(billing === undefined ? {} : { billing: billing as (typeof BILLING_TYPES)[number] }),
  };
  const subjects: Subject[] = [];
  for (const t of values.target ?? []) subjects.push({ ...parseTarget(t), ...extra });
  if (values['base-url'] !== undefined) {
    const key = values.key ?? env.SWITCHYARD_VALIDATE_KEY;
    if (key === undefined || key === '')
      throw new UsageError('--base-url needs --key (or SWITCHYARD_VALIDATE_KEY)');
    const models = values.model ?? [];
    if (models.length === 0) throw new UsageError('--base-url needs at least one --model');
    const baseUrl = url('--base-url', values['base-url']);
    for (const model of models) subjects.push({ name: 'default', baseUrl, key, model, ...extra });
  } else if (values.model !== undefined || values.key !== undefined) {
    throw new UsageError('--key and --model go with --base-url (or use --target name=URL,KEY,MODEL)');
  }
  if (subjects.length === 0) throw new UsageError('nothing to validate: give --base-url or --target');
  const suites = values.suite?.flatMap((s) => s.split(','));
  for (const s of suites ?? [])
    if (!(SUITES as readonly string[]).includes(s)) throw new UsageError(`unknown --suite ${s}`);
  const limits: Limits = {
    ...DEFAULT_LIMITS,
    concurrency: number('--concurrency', values.concurrency, 1) ?? DEFAULT_LIMITS.concurrency,
    maxRequests: number('--max-requests', values['max-requests'], 1) ?? DEFAULT_LIMITS.maxRequests,
    maxSpendUsd: number('--max-spend-usd', values['max-spend-usd'], 0) ?? DEFAULT_LIMITS.maxSpendUsd,
    maxTokens: number('--max-tokens', values['max-tokens'], 1) ?? DEFAULT_LIMITS.maxTokens,
    timeoutMs: number('--timeout-ms', values['timeout-ms'], 1) ?? DEFAULT_LIMITS.timeoutMs,
  };
  const checks = suites === undefined ? ALL_CHECKS : ALL_CHECKS.filter((c) => suites.includes(c.suite));
  return { subjects, limits, checks, json: values.json === true, report: values.report };
}

/** The caps, said before anything is sent. */
export function capsLine(subjects: readonly Subject[], limits: Limits): string {
  const p = subjects[0]?.prices;
  const spend =
    p === undefined
      ? `spend not priced (no --price): bounded by the request cap and max_tokens ${limits.maxTokens}`
      : `at most $${limits.maxSpendUsd} at $${p.input}/$${p.output} per 1M tokens, max_tokens ${limits.maxTokens}`;
  return `Validating ${subjects.map(subjectLabel).join(', ')} — per target: at most ${limits.maxRequests} requests, ${spend}, concurrency up to ${limits.concurrency}.`;
}

const CELL = { pass: 'pass', fail: 'FAIL', skipped: 'skip' } as const;

/** Rows: checks; columns: subjects. Then the failures, one line each. */
export function summaryTable(report: ValidateReport): string {
  const first = report.subjects[0];
  if (first === undefined) return '';
  const header = ['check', ...report.subjects.map((s) => subjectLabel(s.subject))];
  const rows = first.checks.map((c, i) => [
    `${c.id}${c.required ? '' : ' (optional)'}`,
    ...report.subjects.map((s) => CELL[s.checks[i]?.status ?? 'skipped']),
  ]);
  rows.push([
    'verdict',
    ...report.subjects.map((s) =>
      s.checks.some((c) => c.required && c.status === 'fail') ? 'FAIL' : 'pass',
    ),
  ]);
  const notes = report.subjects.flatMap((s) =>
    s.checks
      .filter((c) => c.status !== 'pass')
      .map(
        (c) =>
          `  ${subjectLabel(s.subject)} ${c.id}: ${c.status === 'fail' ? 'FAIL' : 'skipped'} — ${c.summary}`,
      ),
  );
  return `${textTable(header, rows)}${notes.length === 0 ? '' : `\n${notes.join('\n')}\n`}`;
}

function progressPrinter(stream: NodeJS.WriteStream): (e: ProgressEvent) => void {
  const tty = stream.isTTY === true;
  let line = '';
  return (e) => {
    if (e.kind === 'check-start') line = `[${e.subject}] ${e.index + 1}/${e.total} ${e.check}`;
    const text =
      e.kind === 'check-done'
        ? `[${e.subject}] ${e.result.id}: ${CELL[e.result.status]} (${e.result.ms} ms)`
        : e.kind === 'check-note'
          ? `${line} — ${e.message}`
          : line;
    if (tty) stream.write(`\r\x1b[2K${text}${e.kind === 'check-done' ? '\n' : ''}`);
    else if (e.kind === 'check-done') stream.write(`${text}\n`);
  };
}

export async function validateCommand(args: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseValidateArgs>;
  try {
    parsed = parseValidateArgs(args, process.env);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(VALIDATE_USAGE);
      return;
    }
    if (!(err instanceof UsageError) && !(err instanceof TypeError)) throw err;
    process.stderr.write(`${err.message}\n\n${VALIDATE_USAGE}`);
    process.exitCode = 2;
    return;
  }
  const { subjects, limits, checks } = parsed;
  process.stderr.write(`${capsLine(subjects, limits)}\n`);
  const http = createUndiciClient();
  try {
    const report = await runValidation(subjects, checks, limits, {
      http,
      tokens: localTokenCounter(),
      sleep: abortableSleep,
      now: () => new Date(),
      progress: progressPrinter(process.stderr),
    });
    if (parsed.report !== undefined) {
      await writeFile(parsed.report, renderHtml(report));
      process.stderr.write(`report: ${parsed.report}\n`);
    }
    process.stdout.write(parsed.json ? `${JSON.stringify(report, null, 2)}\n` : summaryTable(report));
    if (!report.passed) process.exitCode = 1;
  } finally {
    await http.close();
  }
}
