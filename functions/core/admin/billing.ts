/**
 * The admin API's billing page (./api.ts): the reconciliation reports per provider and day — each with its
 * verdict, drift and reason, as the reconciler stored them (functions/core/billing/reconcile.ts).
 */

import type { ReportStore } from '../billing/reconcile.ts';
import { InvalidRequestError } from '../errors.ts';

const DAY_MS = 86_400_000;
/** The most days one call reads (one report per provider and day). */
const MAX_DAYS = 92;

function day(q: URLSearchParams, name: string, fallback: string): string {
  const v = q.get(name) ?? fallback;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || !Number.isFinite(Date.parse(`${v}T00:00:00Z`)))
    throw new InvalidRequestError({
      code: 'invalid_request',
      message: `${name}: a day (YYYY-MM-DD)`,
      param: name,
    });
  return v;
}

/** GET /admin/v1/billing/reports?from=YYYY-MM-DD&to=YYYY-MM-DD (default: the last 7 days, UTC). */
export async function billingReports(reports: Pick<ReportStore, 'list'>, query: string, nowMs: number) {
  const q = new URLSearchParams(query);
  const to = day(q, 'to', new Date(nowMs).toISOString().slice(0, 10));
  const from = day(
    q,
    'from',
    new Date(Date.parse(`${to}T00:00:00Z`) - 6 * DAY_MS).toISOString().slice(0, 10),
  );
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1;
  if (days < 1 || days > MAX_DAYS)
    throw new InvalidRequestError({
      code: 'invalid_request',
      message: `from..to is 1 to ${MAX_DAYS} days`,
      param: 'from',
    });
  return { object: 'list', from, to, data: await reports.list(from, to) };
}
