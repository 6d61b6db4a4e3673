/**
 * The admin API's billing page (./api.ts): the reconciliation reports per provider and day — each with its
 * verdict, drift and reason, as the reconciler stored them (functions/core/billing/reconcile.ts) — and each
 * provider's latest known balance.
 */
import type { ReportStore } from '../billing/reconcile.ts';
import { BILLING_ADAPTERS } from '../billing/registry.ts';
import type { Report } from '../billing/report.ts';
import type { Money } from '../billing/types.ts';
import { billingOf, type GatewayConfig } from '../config/schema.ts';
import { shiftDay } from '../days.ts';
import { NotFoundError } from '../errors.ts';
import { readJsonBody } from '../gateway/body.ts';
import type { GatewayRequest } from '../http.ts';
import { dayWindow } from './days.ts';
import { type ReconcileNow, reconcileNowAnswer, reconcileNowRequest } from './reconcile-now.ts';

/** What the billing paths need of the admin API's dependencies (./api.ts `AdminDeps`). */
export interface BillingDeps {
  /** The reconciliation reports; without them `GET /admin/v1/billing/reports` is a 404. */
  readonly reports?: Pick<ReportStore, 'list'>;
  /** Runs a reconciliation now; without it `POST /admin/v1/billing/reconcile` is a 404. */
  readonly reconcileNow?: ReconcileNow;
  readonly loadConfig: () => Promise<GatewayConfig>;
  readonly nowMs: () => number;
}

/** Largest body of a run-now request (`{"day", "provider"}`). */
const RECONCILE_MAX_BODY = 4 * 1024;

/** The status and JSON answer of `GET /admin/v1/billing/reports` or `POST /admin/v1/billing/reconcile`. */
export async function billingAnswer(
  d: BillingDeps,
  path: 'billing/reports' | 'billing/reconcile',
  req: GatewayRequest,
): Promise<{ readonly status: number; readonly value: unknown }> {
  if (path === 'billing/reports') {
    if (d.reports === undefined)
      throw new NotFoundError({
        code: 'unknown_url',
        message: 'This gateway reads no reconciliation reports.',
      });
    return {
      status: 200,
      value: await billingReports(d.reports, req.query ?? '', d.nowMs(), await d.loadConfig()),
    };
  }
  if (d.reconcileNow === undefined)
    throw new NotFoundError({ code: 'unknown_url', message: 'This gateway cannot run a reconciliation.' });
  const { json } = await readJsonBody(req, RECONCILE_MAX_BODY);
  const run = reconcileNowRequest(json, await d.loadConfig(), d.nowMs());
  return reconcileNowAnswer(run, await d.reconcileNow(run));
}

/** The most days one call reads (one report per provider and day). */
const MAX_DAYS = 92;
/** Days before the window a balance is looked for, for a provider whose bill reports one but the window has none. */
const BALANCE_LOOKBACK_DAYS = 7;

/**
 * A provider's balance as its latest report holds it. Only a report of a day still running carries one (the
 * balance is the run's reading, not the day's), and a report keeps no time but its day.
 */
export interface BalanceView {
  readonly provider: string;
  readonly balance: Money;
  readonly lowBalance: boolean;
  readonly day: string;
}

/**
 * GET /admin/v1/billing/reports?from=YYYY-MM-DD&to=YYYY-MM-DD (default: the last 7 days, UTC): the window's
 * reports and, per provider, the balance of its latest report that has one.
 */
export async function billingReports(
  reports: Pick<ReportStore, 'list'>,
  query: string,
  nowMs: number,
  config: GatewayConfig,
) {
  const q = new URLSearchParams(query);
  const { from, to } = dayWindow(q, nowMs, MAX_DAYS);
  const data = await reports.list(from, to);
  const latest = latestBalances(data);
  // A bill that reports balances but has none in the window (no run on its running days): one bounded look back.
  const missing = Object.entries(config.providers)
    .filter(([id, p]) => !latest.has(id) && BILLING_ADAPTERS[billingOf(p).type].balance !== undefined)
    .map(([id]) => id);
  if (missing.length > 0) {
    const before = latestBalances(
      await reports.list(shiftDay(from, -BALANCE_LOOKBACK_DAYS), shiftDay(from, -1)),
    );
    for (const id of missing) {
      const b = before.get(id);
      if (b !== undefined) latest.set(id, b);
    }
  }
  const balances = [...latest.values()].sort((a, b) => (a.provider < b.provider ? -1 : 1));
  return { object: 'list', from, to, data, balances };
}

/** Per provider, the balance of its latest report that carries one. */
function latestBalances(reports: readonly Report[]): Map<string, BalanceView> {
  const out = new Map<string, BalanceView>();
  for (const r of reports) {
    if (r.balance === undefined) continue;
    const had = out.get(r.provider);
    if (had !== undefined && had.day > r.day) continue;
    out.set(r.provider, {
      provider: r.provider,
      balance: r.balance,
      lowBalance: r.lowBalance ?? false,
      day: r.day,
    });
  }
  return out;
}
