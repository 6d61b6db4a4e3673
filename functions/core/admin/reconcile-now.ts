/**
 * The admin API's "run a reconciliation now" (./api.ts): `POST /admin/v1/billing/reconcile` with
 * `{"day"?: "YYYY-MM-DD", "provider"?: "<provider id>"}`. The body is checked here, once; the run itself is the
 * host's port: the local host runs the core's `reconcile` in-process and answers its reports, the Lambda host
 * hands the day to the reconciler function and answers at once.
 */
import * as z from 'zod';
import type { Report } from '../billing/report.ts';
import type { GatewayConfig } from '../config/schema.ts';
import { shiftDay } from '../days.ts';
import { InvalidRequestError } from '../errors.ts';
import { own } from '../json.ts';

/** One run: a UTC day, and one provider of the config (absent: every provider). */
export interface ReconcileNowRequest {
  readonly day: string;
  readonly provider?: string;
}

/** `done`: the run finished here, with its reports; `started`: handed to the reconciler, which stores them. */
export type ReconcileNowOutcome =
  | { readonly status: 'done'; readonly reports: readonly Report[] }
  | { readonly status: 'started' };

/** The host's port: runs (or starts) a reconciliation; a ConflictError when one is already running. */
export type ReconcileNow = (req: ReconcileNowRequest) => Promise<ReconcileNowOutcome>;

/** How far back a run may go: the billing page's own window. */
export const RECONCILE_MAX_DAYS_BACK = 92;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `2026-02-30` is not one (Date would roll it over to March). */
function isCalendarDay(d: string): boolean {
  const t = Date.parse(`${d}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === d;
}

const body = z.strictObject({
  day: z
    .string()
    .regex(DAY, 'must be a day (YYYY-MM-DD)')
    .refine(isCalendarDay, 'must be a day of the calendar')
    .optional(),
  provider: z.string().min(1).max(256).optional(),
});

function invalid(message: string, param: string | null): InvalidRequestError {
  return new InvalidRequestError({ code: 'invalid_request', message, param });
}

/** The run a body asks for, checked against the config and today (UTC), or a 400 naming the field. */
export function reconcileNowRequest(
  json: unknown,
  config: GatewayConfig,
  nowMs: number,
): ReconcileNowRequest {
  const r = body.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    if (issue?.code === 'unrecognized_keys')
      throw invalid(
        `unknown field ${issue.keys.join(', ')}: send {"day"?, "provider"?}`,
        issue.keys[0] ?? null,
      );
    const param = issue === undefined || issue.path.length === 0 ? null : issue.path.join('.');
    throw invalid(`${param ?? 'body'}: ${issue?.message ?? 'invalid'}`, param);
  }
  const today = new Date(nowMs).toISOString().slice(0, 10);
  const day = r.data.day ?? today;
  if (day > today) throw invalid(`day ${day} is in the future (today is ${today}, UTC)`, 'day');
  const oldest = shiftDay(today, -RECONCILE_MAX_DAYS_BACK);
  if (day < oldest)
    throw invalid(`day ${day} is more than ${RECONCILE_MAX_DAYS_BACK} days back (oldest: ${oldest})`, 'day');
  const provider = r.data.provider;
  if (provider !== undefined && own(config.providers, provider) === undefined)
    throw invalid(
      `no provider ${JSON.stringify(provider)} in the config (known: ${Object.keys(config.providers).join(', ')})`,
      'provider',
    );
  return { day, ...(provider === undefined ? {} : { provider }) };
}

/** The answer to a run: 200 with its reports when it finished here, 202 when the reconciler took it. */
export function reconcileNowAnswer(
  req: ReconcileNowRequest,
  outcome: ReconcileNowOutcome,
): { readonly status: number; readonly value: unknown } {
  const run = { day: req.day, provider: req.provider ?? null };
  if (outcome.status === 'started')
    return { status: 202, value: { object: 'reconcile.run', status: 'started', ...run } };
  return { status: 200, value: { object: 'reconcile.run', status: 'done', ...run, data: outcome.reports } };
}
