/**
 * The admin API's billing page (./api.ts): the reconciliation reports per provider and day — each with its
 * verdict, drift and reason, as the reconciler stored them (functions/core/billing/reconcile.ts).
 */
import type { ReportStore } from '../billing/reconcile.ts';
import { dayWindow } from './days.ts';

/** The most days one call reads (one report per provider and day). */
const MAX_DAYS = 92;

/** GET /admin/v1/billing/reports?from=YYYY-MM-DD&to=YYYY-MM-DD (default: the last 7 days, UTC). */
export async function billingReports(reports: Pick<ReportStore, 'list'>, query: string, nowMs: number) {
  const q = new URLSearchParams(query);
  const { from, to } = dayWindow(q, nowMs, MAX_DAYS);
  return { object: 'list', from, to, data: await reports.list(from, to) };
}
