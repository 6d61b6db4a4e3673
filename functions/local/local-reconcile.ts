/**
 * Reconciliation on the local host. What `switchyard reconcile` (./cli-reconcile.ts) and the local gateway's
 * `POST /admin/v1/billing/reconcile` (./server.ts) both run with — billing keys from SWITCHYARD_BILLING_KEYS,
 * the store's config, ledger and reports, the system clock — built in one place; and the gateway's runner of
 * it: one run at a time, cut when the gateway closes.
 */
import * as z from 'zod';
import type { ReconcileNow, ReconcileNowRequest } from '../core/admin/reconcile-now.ts';
import {
  type BillingKeySource,
  type ReconcileDeps,
  type ReportStore,
  reconcile,
} from '../core/billing/reconcile.ts';
import type { Report } from '../core/billing/report.ts';
import type { GatewayConfig } from '../core/config/schema.ts';
import { ConflictError, ServerShuttingDownError } from '../core/errors.ts';
import type { ProviderKeySource } from '../core/ports.ts';
import type { HttpClient } from '../core/providers/types.ts';
import { abortableSleep, systemClock } from '../core/system.ts';
import type { UsageReader } from '../core/usage/types.ts';

/** The local billing settings (with `--stack` the CLI takes the stack's instead). */
export const billingEnvSchema = z.object({
  /** The default tolerance of the verdicts locally (with --stack: the stack's DriftTolerancePercent). */
  SWITCHYARD_DRIFT_TOLERANCE_PERCENT: z.coerce.number().min(0).default(2),
  /** JSON `{"<provider id>": "<admin / management key>"}`: keys of billing APIs (locally). */
  SWITCHYARD_BILLING_KEYS: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text.trim() === '') return {};
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const r = z.record(z.string(), z.string().min(1)).safeParse(json);
      if (r.success) return r.data;
      ctx.addIssue({ code: 'custom', message: 'must be JSON {"<provider id>": "key"}' });
      return z.NEVER;
    }),
});

/** The local billing settings, parsed once at start. */
export interface LocalBilling {
  /** Billing (admin / management) keys by provider id. */
  readonly keys: Readonly<Record<string, string>>;
  readonly tolerancePercent: number;
}

/** SWITCHYARD_BILLING_KEYS and SWITCHYARD_DRIFT_TOLERANCE_PERCENT, or an error naming each bad one (never its value). */
export function parseBillingEnv(env: NodeJS.ProcessEnv): LocalBilling {
  const r = billingEnvSchema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid environment:\n  ${lines.join('\n  ')}`);
  }
  return {
    keys: r.data.SWITCHYARD_BILLING_KEYS,
    tolerancePercent: r.data.SWITCHYARD_DRIFT_TOLERANCE_PERCENT,
  };
}

/** Billing keys from a fixed table (the environment's). */
export function staticBillingKeys(keys: Readonly<Record<string, string>>): BillingKeySource {
  const table = new Map(Object.entries(keys));
  return { key: async (id) => table.get(id) };
}

/** What a local run reads and writes, and with which keys. */
export interface LocalReconcileSources {
  readonly routes: { load(): Promise<GatewayConfig> };
  readonly usage: UsageReader;
  readonly reports: ReportStore;
  readonly billingKeys: BillingKeySource;
  readonly providerKeys: ProviderKeySource;
  readonly http: HttpClient;
  readonly tolerancePercent: number;
  /** Per billing API call (default the core's 15 s). */
  readonly timeoutMs?: number;
}

/** The deps of one run: the config as the store holds it now, the system clock and sleep. */
export async function localReconcileDeps(s: LocalReconcileSources): Promise<ReconcileDeps> {
  return {
    config: await s.routes.load(),
    usage: s.usage,
    reports: s.reports,
    billingKeys: s.billingKeys,
    providerKeys: s.providerKeys,
    http: s.http,
    clock: systemClock,
    sleep: abortableSleep,
    tolerancePercent: s.tolerancePercent,
    ...(s.timeoutMs === undefined ? {} : { timeoutMs: s.timeoutMs }),
  };
}

/**
 * The local gateway's run-now: the core's `reconcile` in-process, one run at a time per gateway (a second
 * request meanwhile is a 409 `reconcile_running`). `close` cuts a run's billing calls and waits, stores none of
 * its reports from then on, and ends it before its next provider with 503 `server_shutting_down`.
 */
export class LocalReconcileRunner {
  readonly #sources: LocalReconcileSources;
  readonly #stop = new AbortController();
  #running: Promise<Report[]> | undefined;

  constructor(sources: LocalReconcileSources) {
    this.#sources = sources;
  }

  readonly run: ReconcileNow = async (req) => {
    if (this.#stop.signal.aborted) throw this.#stop.signal.reason;
    if (this.#running !== undefined)
      throw new ConflictError({
        code: 'reconcile_running',
        message: 'A reconciliation is already running on this gateway; its reports are stored when it ends.',
      });
    const running = this.#runOnce(req);
    this.#running = running;
    try {
      return { status: 'done', reports: await running };
    } finally {
      this.#running = undefined;
    }
  };

  /** Stops the run going on, when there is one, and refuses later ones; resolves once it has ended. */
  async close(): Promise<void> {
    this.#stop.abort(
      new ServerShuttingDownError({
        code: 'server_shutting_down',
        message: 'The gateway is shutting down; the reconciliation was stopped.',
      }),
    );
    await this.#running?.catch(() => {});
  }

  async #runOnce(req: ReconcileNowRequest): Promise<Report[]> {
    const deps = await localReconcileDeps(this.#sources);
    const stop = this.#stop.signal;
    const store = deps.reports;
    // The one place a call's own signal is joined to the gateway's stop.
    const linked = (signal: AbortSignal | undefined) =>
      signal === undefined ? stop : AbortSignal.any([signal, stop]);
    const reports = await reconcile(
      {
        ...deps,
        http: { send: (r) => deps.http.send({ ...r, signal: linked(r.signal) }) },
        sleep: (ms, signal) => abortableSleep(ms, linked(signal)),
        // A cut call reads as the provider's failure: a stopped run stores nothing from then on.
        reports: {
          put: (report) => (stop.aborted ? Promise.resolve(false) : store.put(report)),
          get: (provider, day) => store.get(provider, day),
          list: (from, to) => store.list(from, to),
          addSnapshot: (provider, snapshot) => store.addSnapshot(provider, snapshot),
          snapshots: (provider, from, to) => store.snapshots(provider, from, to),
        },
        progress: (e) => {
          if (e.phase === 'start') stop.throwIfAborted();
        },
      },
      {
        day: req.day,
        takeSnapshots: true,
        ...(req.provider === undefined ? {} : { providers: [req.provider] }),
      },
    );
    // Stopped after its last provider began: that report was not stored, so the run answers none.
    stop.throwIfAborted();
    return reports;
  }
}
