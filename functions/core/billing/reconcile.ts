/**
 * The reconciliation job: for each provider and UTC day, the ledger against the provider's bill, one report
 * each. The scheduled Lambda and `switchyard reconcile` run this same function. One provider failing (its
 * API down, a timeout, a bad answer) gives that provider a `provider-error` report; the others go on.
 * Re-running for the same day and snapshots gives the same reports (stored only when they change).
 */
import { redactSecrets } from '../bytes.ts';
import {
  type BillingConfig,
  baseUrlsOf,
  billingOf,
  type GatewayConfig,
  type ProviderConfig,
} from '../config/schema.ts';
import { dayStart, shiftDay } from '../days.ts';
import type { Clock, Sleep } from '../ports.ts';
import type { HttpClient } from '../providers/types.ts';
import { SecretMasker } from '../secrets.ts';
import type { UsageReader } from '../usage/types.ts';
import { BILLING_ADAPTERS } from './registry.ts';
import {
  DEFAULT_TOLERANCE_PERCENT,
  EMPTY_LEDGER,
  judge,
  type LedgerFigures,
  type Report,
  type SampleCheck,
  toUsd,
} from './report.ts';
import { snapshotWindow } from './snapshots.ts';
import type { BillingAdapter, BillingContext, Money, Snapshot } from './types.ts';

/** Where reports and snapshots are kept (DynamoDB reports table; the same table locally). */
export interface ReportStore {
  /** Stores the report unless the stored one says the same; true when it was written. */
  put(report: Report): Promise<boolean>;
  get(provider: string, day: string): Promise<Report | undefined>;
  list(fromDay: string, toDay: string): Promise<Report[]>;
  addSnapshot(provider: string, snapshot: Snapshot): Promise<void>;
  /** Snapshots of a provider with `at` in [fromIso, toIso], oldest first. */
  snapshots(provider: string, fromIso: string, toIso: string): Promise<Snapshot[]>;
}

/** Billing (admin / management) keys by provider id; undefined: use the provider's own API key. */
export interface BillingKeySource {
  key(providerId: string): Promise<string | undefined>;
}

export interface ReconcileMetrics {
  /** One report (non-partial reports carry the drift the alarm watches). */
  report(report: Report): void;
  balance(provider: string, balance: Money, low: boolean): void;
}

export interface ReconcileDeps {
  readonly config: GatewayConfig;
  readonly usage: UsageReader;
  readonly reports: ReportStore;
  readonly billingKeys: BillingKeySource;
  /** The provider's own API keys (a billing key falls back to the first). */
  readonly providerKeys: { keys(providerId: string): Promise<readonly string[]> };
  readonly http: HttpClient;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly metrics?: ReconcileMetrics;
  /** Told when a provider starts and ends (the CLI's progress display). */
  readonly progress?: (event: { provider: string; phase: 'start' | 'done'; report?: Report }) => void;
  /** Per billing API call; default 15 s. */
  readonly timeoutMs?: number;
  /** Drift still called ok when a provider's `billing.tolerancePercent` says nothing (default 2). */
  readonly tolerancePercent?: number;
  /**
   * Secrets masked by value in every report reason (the key each billing call used is added to it as well);
   * a billing API that echoes its key in an error never puts it into a stored report.
   */
  readonly secrets?: SecretMasker;
}

export interface ReconcileRequest {
  /** UTC `YYYY-MM-DD`. */
  readonly day: string;
  /** Only these provider ids (default: every provider in the config). */
  readonly providers?: readonly string[];
  /** Take a snapshot of snapshot-kind bills first (scheduled runs and the CLI do). */
  readonly takeSnapshots: boolean;
}

export { shiftDay } from '../days.ts';

const nextDay = (day: string): string => shiftDay(day, 1);

async function ledgerOfRecords(
  usage: UsageReader,
  sinceIso: string,
  untilIso: string,
  provider: string,
): Promise<LedgerFigures> {
  const f = { ...EMPTY_LEDGER };
  // A page at a time: a window of a busy provider is never held in memory.
  await usage.eachRecord(sinceIso, untilIso, (r) => {
    if (r.provider !== provider) return;
    f.costUsd += r.costUsd ?? 0;
    f.inputTokens += r.inputTokens;
    f.outputTokens += r.outputTokens;
    f.requests += 1;
    f.unpricedRequests += r.costUsd === null && r.inputTokens + r.outputTokens > 0 ? 1 : 0;
  });
  return { ...f, costUsd: Math.round(f.costUsd * 1e9) / 1e9 };
}

/** The day's ledger figures per provider, from its aggregates (read once per run, for every provider). */
async function ledgerOfDay(usage: UsageReader, day: string): Promise<(provider: string) => LedgerFigures> {
  const by = new Map<string, { -readonly [K in keyof LedgerFigures]: number }>();
  for (const a of await usage.aggregates(day, day)) {
    const f = by.get(a.provider) ?? { ...EMPTY_LEDGER };
    f.costUsd += a.costUsd;
    f.inputTokens += a.inputTokens;
    f.outputTokens += a.outputTokens;
    f.requests += a.requests;
    f.unpricedRequests += a.unpricedRequests;
    by.set(a.provider, f);
  }
  return (provider) => {
    const f = by.get(provider) ?? EMPTY_LEDGER;
    return { ...f, costUsd: Math.round(f.costUsd * 1e9) / 1e9 };
  };
}

/** Runs the reconciliation of `day` for every (or the given) provider; reports in config order. */
export async function reconcile(deps: ReconcileDeps, req: ReconcileRequest): Promise<Report[]> {
  const ids = Object.keys(deps.config.providers).filter(
    (id) => req.providers === undefined || req.providers.includes(id),
  );
  const out: Report[] = [];
  const ledgerOf = await ledgerOfDay(deps.usage, req.day);
  const run = { ...deps, secrets: deps.secrets ?? new SecretMasker() };
  for (const id of ids) {
    const provider = deps.config.providers[id] as ProviderConfig;
    deps.progress?.({ provider: id, phase: 'start' });
    const report = await reconcileOne(run, req, id, provider, ledgerOf(id));
    await deps.reports.put(report);
    deps.metrics?.report(report);
    deps.progress?.({ provider: id, phase: 'done', report });
    out.push(report);
  }
  return out;
}

async function contextOf(
  deps: RunDeps,
  id: string,
  p: ProviderConfig,
  billing: BillingConfig,
): Promise<BillingContext> {
  const key = (await deps.billingKeys.key(id)) ?? (await deps.providerKeys.keys(id))[0];
  if (key !== undefined) deps.secrets.add([key]);
  return {
    http: deps.http,
    baseUrl: (billing.baseUrl ?? baseUrlsOf(p)[0] ?? '').replace(/\/+$/, ''),
    key,
    providerId: id,
    options: billing,
    timeoutMs: deps.timeoutMs ?? 15_000,
    sleep: deps.sleep,
  };
}

/** A run's dependencies: one masker that learns each key the run uses. */
type RunDeps = ReconcileDeps & { readonly secrets: SecretMasker };

async function reconcileOne(
  deps: RunDeps,
  req: ReconcileRequest,
  id: string,
  p: ProviderConfig,
  dayLedger: LedgerFigures,
): Promise<Report> {
  const billing = billingOf(p);
  const adapter = BILLING_ADAPTERS[billing.type];
  const nowIso = new Date(deps.clock.epochMs()).toISOString();
  const partial = nowIso < dayStart(nextDay(req.day));
  const base = {
    provider: id,
    day: req.day,
    billingType: billing.type,
    tolerancePercent: billing.tolerancePercent ?? deps.tolerancePercent ?? DEFAULT_TOLERANCE_PERCENT,
    partial,
  };
  if (adapter.kind === 'none') {
    return {
      ...base,
      verdict: 'unverifiable',
      reason: `no billing API to compare with (billing: ${billing.type}): ledger only`,
      ledger: dayLedger,
    };
  }
  const ctx = await contextOf(deps, id, p, billing);
  let balance: { balance?: Money; lowBalance?: boolean } = {};
  try {
    if (adapter.kind === 'snapshot' && req.takeSnapshots && adapter.snapshot !== undefined) {
      await deps.reports.addSnapshot(id, await adapter.snapshot(ctx, nowIso));
    }
    const money = await adapter.balance?.(ctx);
    if (money !== undefined) {
      const low = billing.lowBalance !== undefined && money.amount < billing.lowBalance;
      deps.metrics?.balance(id, money, low);
      // The balance is now's, not the day's: only a running day's report carries it, so the report of a day
      // that is over stays the same however often it is run again.
      if (partial) balance = { balance: money, lowBalance: low };
    }
    const compared =
      adapter.kind === 'daily'
        ? await daily(deps, ctx, adapter, req.day, dayLedger, base.tolerancePercent)
        : await snapshots(deps, ctx, req.day, dayLedger, base.tolerancePercent);
    return { ...base, ...compared, ...balance };
  } catch (err) {
    const reason = redactSecrets(deps.secrets.mask(err instanceof Error ? err.message : String(err)));
    return {
      ...base,
      verdict: 'provider-error',
      reason: `the billing API failed: ${reason}`,
      ledger: dayLedger,
      ...balance,
    };
  }
}

type Compared = Omit<Report, 'provider' | 'day' | 'billingType' | 'tolerancePercent' | 'partial'>;

function compare(
  ledger: LedgerFigures,
  cost: Money,
  tokens: { inputTokens?: number; outputTokens?: number; requests?: number },
  billing: BillingContext['options'],
  tolerance: number,
): Compared {
  const usdRate = typeof billing.usdRate === 'number' ? billing.usdRate : undefined;
  const costUsd = toUsd(cost, usdRate);
  const providerFigures = { cost, ...tokens, ...(costUsd === undefined ? {} : { costUsd }) };
  if (costUsd === undefined) {
    return {
      verdict: 'unverifiable',
      reason: `the bill is in ${cost.currency} and no billing.usdRate is configured to compare it in USD`,
      ledger,
      providerFigures,
    };
  }
  const j = judge(ledger, { ...providerFigures, costUsd }, tolerance);
  return { ...j, ledger, providerFigures };
}

async function daily(
  deps: ReconcileDeps,
  ctx: BillingContext,
  adapter: BillingAdapter,
  day: string,
  ledger: LedgerFigures,
  tolerance: number,
): Promise<Compared> {
  const figures = await adapter.day?.(ctx, day);
  if (figures === undefined) {
    return { verdict: 'unverifiable', reason: `the provider reports nothing for ${day}`, ledger };
  }
  const tokens = {
    ...(figures.inputTokens === undefined ? {} : { inputTokens: figures.inputTokens }),
    ...(figures.outputTokens === undefined ? {} : { outputTokens: figures.outputTokens }),
    ...(figures.requests === undefined ? {} : { requests: figures.requests }),
  };
  const compared = compare(ledger, figures.cost, tokens, ctx.options, tolerance);
  if (adapter.generation === undefined) return compared;
  const samples = await sampleChecks(deps, ctx, adapter, day);
  if (samples.length === 0) return { ...compared, samples };
  const bad = samples.filter((s) => !s.match);
  if (bad.length === 0 || compared.verdict !== 'ok') return { ...compared, samples };
  return {
    ...compared,
    samples,
    verdict: 'drift',
    reason: `${bad.length} of ${samples.length} sampled requests differ from the provider's own record (first: ${bad[0]?.requestId})`,
  };
}

/** Checks up to `billing.sample` (default 5) of the day's answered requests one by one, oldest first. */
async function sampleChecks(
  deps: ReconcileDeps,
  ctx: BillingContext,
  adapter: BillingAdapter,
  day: string,
): Promise<SampleCheck[]> {
  const n = typeof ctx.options.sample === 'number' ? ctx.options.sample : 5;
  if (n === 0 || adapter.generation === undefined) return [];
  // Read only as far as the first n answered requests of the provider (not the whole day).
  const records = await deps.usage.firstRecords(
    dayStart(day),
    dayStart(nextDay(day)),
    n,
    (r) => r.provider === ctx.providerId && r.upstreamId !== null && r.status < 300,
  );
  const out: SampleCheck[] = [];
  for (const r of records) {
    const g = await adapter.generation(ctx, r.upstreamId as string);
    if (g === undefined) continue;
    const providerTokens =
      g.inputTokens === undefined || g.outputTokens === undefined
        ? undefined
        : ([g.inputTokens, g.outputTokens] as [number, number]);
    const costOk = r.costUsd !== null && Math.abs(g.costUsd - r.costUsd) <= Math.max(1e-6, g.costUsd * 0.02);
    const tokensOk =
      providerTokens === undefined ||
      (providerTokens[0] === r.inputTokens && providerTokens[1] === r.outputTokens);
    out.push({
      requestId: r.requestId,
      upstreamId: r.upstreamId as string,
      ledgerCostUsd: r.costUsd,
      providerCostUsd: g.costUsd,
      ledgerTokens: [r.inputTokens, r.outputTokens],
      ...(providerTokens === undefined ? {} : { providerTokens }),
      match: costOk && tokensOk,
    });
  }
  return out;
}

/** Snapshot-kind bills: the ledger between the two readings around the day, against their difference. */
async function snapshots(
  deps: ReconcileDeps,
  ctx: BillingContext,
  day: string,
  dayLedger: LedgerFigures,
  tolerance: number,
): Promise<Compared> {
  const id = ctx.providerId;
  // Readings from a day before to a day after: the ones nearest the day's edges bound the window.
  const around = await deps.reports.snapshots(id, dayStart(shiftDay(day, -1)), dayStart(shiftDay(day, 2)));
  const w = snapshotWindow(around, dayStart(day), dayStart(nextDay(day)));
  if ('reason' in w) {
    return { verdict: 'unverifiable', reason: w.reason, ledger: dayLedger };
  }
  const ledger = await ledgerOfRecords(deps.usage, w.from.at, w.to.at, id);
  return { ...compare(ledger, w.spent, {}, ctx.options, tolerance), window: { from: w.from, to: w.to } };
}
