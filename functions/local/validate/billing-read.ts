/**
 * The relay's own bill, read through the reconciler's billing adapters (functions/core/billing/adapters): the
 * subject's `billing` type, else one-api's panel (the billing API most relays expose). A relay without one
 * (404, an answer that is not the panel's JSON, an adapter without the reading) is reported as unavailable,
 * with the reason, so the checks that need it are skipped rather than failed.
 */
import { BILLING_ADAPTERS } from '../../core/billing/registry.ts';
import {
  type BillingAdapter,
  BillingApiError,
  type BillingContext,
  type Money,
  type Snapshot,
} from '../../core/billing/types.ts';
import type { CheckContext } from './types.ts';

export type Reading<T> =
  | { readonly ok: true; readonly value: T; readonly adapter: string }
  | { readonly ok: false; readonly reason: string; readonly adapter: string };

/** What the bill says now: spend so far and/or the balance left (either may be absent). */
export type Counter = Partial<Pick<Snapshot, 'spent' | 'balance'>>;

/** What a reading needs: the subject, the run's HTTP wire, its timeout and sleep. */
export type BillSource = Pick<CheckContext, 'subject' | 'http' | 'limits' | 'sleep'>;

function adapterOf(ctx: BillSource): BillingAdapter {
  return BILLING_ADAPTERS[ctx.subject.billing ?? 'oneapi'];
}

const label = (ctx: BillSource): string => ctx.subject.billing ?? 'oneapi (probed)';

function reasonOf(err: unknown): string {
  if (err instanceof BillingApiError && err.status === 404)
    return `the relay has no such endpoint (${err.message})`;
  return err instanceof Error ? err.message : String(err);
}

async function withContext<T>(
  ctx: BillSource,
  read: (adapter: BillingAdapter, bctx: BillingContext) => Promise<T> | undefined,
): Promise<Reading<T>> {
  const adapter = adapterOf(ctx);
  const bctx: BillingContext = {
    http: ctx.http,
    baseUrl: ctx.subject.baseUrl,
    key: ctx.subject.key,
    providerId: ctx.subject.name,
    options: {},
    timeoutMs: ctx.limits.timeoutMs,
    sleep: ctx.sleep,
  };
  try {
    const pending = read(adapter, bctx);
    if (pending === undefined) {
      return { ok: false, reason: `billing type ${adapter.type} has no such reading`, adapter: label(ctx) };
    }
    return { ok: true, value: await pending, adapter: label(ctx) };
  } catch (err) {
    return { ok: false, reason: reasonOf(err), adapter: label(ctx) };
  }
}

/** The balance left (value undefined: the relay shows none, e.g. an unlimited one-api quota). */
export function readBalance(ctx: BillSource): Promise<Reading<Money | undefined>> {
  return withContext(ctx, (a, b) => a.balance?.(b));
}

/** A snapshot (spend and/or balance), else the balance alone, for a before/after difference. */
export function readCounter(ctx: BillSource): Promise<Reading<Counter>> {
  return withContext(ctx, (a, b) => {
    if (a.snapshot !== undefined) return a.snapshot(b, new Date().toISOString());
    const balance = a.balance;
    if (balance === undefined) return undefined;
    return balance(b).then((m): Counter => (m === undefined ? {} : { balance: m }));
  });
}
