/**
 * The money side of one request: the key's rate limit and budget reservation before the upstream call (the
 * most the request can cost: ../usage/request-bounds.ts) — one store write for both — then the usage
 * (provider-reported, else estimated), its check against the request's bounds (../usage/usage-check.ts), its
 * cost and the ledger record when the request ends. The record carries the reservation, and the ledger's fold
 * settles it (functions/aws/stores/limit-items.ts): the ledger writer's retries and spool are the
 * settlement's, so a settlement is never dropped and the request makes no call of its own for it.
 */
import type { Background } from '../background.ts';
import type { GatewayConfig, RouteConfig } from '../config/schema.ts';
import type { BoundsInput } from '../endpoints/spec.ts';
import { BudgetExceededError, RateLimitError } from '../errors.ts';
import { budgetWindow } from '../keys/client-keys.ts';
import type { Admission, AdmitDecision, LimitStore, Reservation } from '../keys/types.ts';
import type { AttemptRecord, Logger, Principal, RequestSummary } from '../ports.ts';
import type { Usage } from '../providers/types.ts';
import { costOf, type Priced, priceOf } from '../usage/pricing.ts';
import { RequestBounds } from '../usage/request-bounds.ts';
import {
  MAX_TRIED_STEPS,
  type TokenCounter,
  type Tried,
  type UsageRecord,
  type UsageSink,
  type UsageSource,
} from '../usage/types.ts';
import { type CheckedUsage, checkUsage } from '../usage/usage-check.ts';

export interface AccountingDeps {
  /** Shared counters for keys with an rpm or a budget; without it those limits are not enforced. */
  readonly limits?: LimitStore;
  readonly usage?: UsageSink;
  /** For estimates when an upstream reports no usage (reservations bound text by its bytes, no tokenizer). */
  readonly tokens?: TokenCounter;
  readonly background?: Background;
  readonly logger: Logger;
}

/**
 * One admission (rate token and/or reservation) through the limit store; throws the 429 or 402 of the error
 * table. A limit store that fails lets the request through (logged): limits fail open.
 */
async function admitThrough(
  deps: Pick<AccountingDeps, 'limits' | 'logger'>,
  p: Principal,
  a: Omit<Admission, 'keyId' | 'shards'>,
): Promise<AdmitDecision | undefined> {
  const { limits, logger } = deps;
  if (limits === undefined) return undefined;
  const d = await limits.admit({ keyId: p.keyId, shards: p.limitShards ?? 1, ...a }).catch((err: unknown) => {
    logger.log('error', 'rate limit and budget not enforced: limit store failed', {
      keyId: p.keyId,
      error: String(err),
    });
    return undefined;
  });
  if (d === undefined || d.ok) return d;
  if (d.reason === 'rate') {
    throw new RateLimitError({
      code: 'rate_limit_exceeded',
      message: `Rate limit reached for this key: ${p.rpm} requests per minute.`,
      retryAfterSeconds: Math.max(1, Math.ceil(d.retryAfterMs / 1000)),
    });
  }
  throw new BudgetExceededError({
    code: 'budget_exceeded',
    message: `This key has used its budget of $${p.budget?.usd} for ${d.window}.`,
  });
}

/**
 * Takes one token of the key's rpm (nothing without an rpm or a limit store); throws the 429 of the error table.
 * `requestKey` is unique per request (it picks the key's limit shard).
 */
export async function takeRateToken(
  deps: Pick<AccountingDeps, 'limits' | 'logger'>,
  p: Principal,
  nowMs: number,
  requestKey: string,
): Promise<void> {
  if (deps.limits === undefined || p.rpm === undefined) return;
  await admitThrough(deps, p, { requestKey, nowEpochMs: nowMs, rpm: p.rpm });
}

/** A reservation outlives its request's deadline by this much before anyone may release it. */
const HOLD_GRACE_MS = 60_000;

export class RequestAccount {
  private usage: Usage | undefined;
  private source: UsageSource = 'none';
  private priced: Priced | undefined;
  private reservation: Reservation | undefined;
  /** What the request can cost at most, per target; set by {@link admit}. */
  private bounds: RequestBounds | undefined;
  /** The target whose answer the usage is, `provider/model` split. */
  private answeredBy: { readonly provider: string; readonly model: string } | undefined;
  /** The usage checked against the answering target's bounds (memo: cleared when either changes). */
  private checked: CheckedUsage | undefined;
  upstreamId: string | undefined;

  constructor(
    private readonly deps: AccountingDeps,
    readonly principal: Principal,
    readonly recordId: string,
    /** Epoch ms the request arrived. */
    readonly arrivedAt: number,
  ) {}

  /**
   * The rate limit of a key without a budget: one token of its rpm, taken before anything else the request
   * makes the gateway do (a stored conversation read); throws the 429 of the error table. A key with a budget
   * takes its token in {@link admit}, in the same write as its reservation (one store round trip, and a 402
   * takes no token); its stored conversation is then read before a 429.
   */
  rate(): Promise<void> | undefined {
    // Most keys have no rpm: no promise, no await on the hot path.
    const p = this.principal;
    if (this.deps.limits === undefined || p.rpm === undefined || p.budget !== undefined) return undefined;
    return takeRateToken(this.deps, p, this.arrivedAt, this.recordId);
  }

  /**
   * The request's bounds, and the budget reservation at the most it can cost; throws the 402 of the error table.
   * A key without a budget makes no store call: nothing to wait for (undefined).
   */
  admit(config: GatewayConfig, route: RouteConfig, bounds: BoundsInput): Promise<void> | undefined {
    // Every request's usage is checked against its bounds, with or without a budget.
    this.bounds = new RequestBounds(config, route, bounds.op, bounds.body, bounds.extraInputTokens ?? 0);
    if (this.deps.limits === undefined || this.principal.budget === undefined) return undefined;
    return this.reserve(this.bounds, route.timeouts.totalMs);
  }

  private async reserve(bounds: RequestBounds, totalMs: number): Promise<void> {
    const p = this.principal;
    if (p.budget === undefined) return;
    const d = await admitThrough(this.deps, p, {
      requestKey: this.recordId,
      nowEpochMs: this.arrivedAt,
      ...(p.rpm === undefined ? {} : { rpm: p.rpm }),
      budget: {
        window: budgetWindow(p.budget.period, this.arrivedAt),
        limitUsd: p.budget.usd,
        amountUsd: bounds.reserveUsd(),
        expiresAtEpochMs: this.arrivedAt + totalMs + HOLD_GRACE_MS,
      },
    });
    if (d?.ok === true) this.reservation = d.reservation;
  }

  /** The target that answers: its price applies to the usage, its bounds check it. */
  target(config: GatewayConfig, provider: string, model: string): void {
    this.priced = priceOf(config, provider, model);
    this.answeredBy = { provider, model };
    this.checked = undefined;
  }

  /** Usage as the provider reported it, or an estimate. */
  use(usage: Usage, source: UsageSource): void {
    this.usage = usage;
    this.source = source;
    this.checked = undefined;
  }

  get hasUsage(): boolean {
    return this.usage !== undefined;
  }

  /**
   * A provider's report checked against the answering target's bounds. The gateway's own estimates are not
   * checked: they are counted from what was sent and received.
   */
  private checkOf(usage: Usage, source: UsageSource): CheckedUsage {
    const by = this.answeredBy;
    if (source !== 'provider' || by === undefined || this.bounds === undefined) return { billed: usage };
    return checkUsage(usage, this.bounds.of(by.provider, by.model));
  }

  private get check(): CheckedUsage | undefined {
    if (this.usage === undefined) return undefined;
    this.checked ??= this.checkOf(this.usage, this.source);
    return this.checked;
  }

  /** USD of the request so far, implausible counts at their bounds; undefined when unpriced or no usage. */
  get costUsd(): number | undefined {
    const c = this.check;
    return c === undefined || this.priced === undefined ? undefined : costOf(c.billed, this.priced.price);
  }

  /** Tokens and cost for the request's log line and metrics (estimates included; `unpriced` when no price). */
  metricsFields(): Pick<
    RequestSummary,
    | 'inputTokens'
    | 'outputTokens'
    | 'cachedInputTokens'
    | 'cacheWriteTokens'
    | 'costUsd'
    | 'unpriced'
    | 'implausibleUsage'
  > {
    const u = this.usage;
    if (u === undefined) return {};
    const cost = this.costUsd;
    const read = u.cachedInputTokens ?? 0;
    const written = u.cacheWriteTokens ?? 0;
    return {
      inputTokens: u.inputTokens,
      outputTokens: u.outputTokens,
      // Only when there were some: most requests touch no prompt cache, and the log line stays short.
      ...(read > 0 ? { cachedInputTokens: read } : {}),
      ...(written > 0 ? { cacheWriteTokens: written } : {}),
      ...(cost === undefined ? { unpriced: true } : { costUsd: cost }),
      ...(this.check?.implausible === undefined ? {} : { implausibleUsage: true }),
    };
  }

  /** USD of a reported usage at this request's price and bounds (for the `usage.cost` of a stream's usage chunk). */
  costOf(usage: Usage): number | undefined {
    return this.priced === undefined
      ? undefined
      : costOf(this.checkOf(usage, 'provider').billed, this.priced.price);
  }

  /** Called once with the request's summary: writes the ledger record, which settles the reservation. */
  finish(s: RequestSummary, route: string | undefined): UsageRecord {
    const u = this.usage;
    const cost = this.costUsd;
    const record: UsageRecord = {
      requestId: s.requestId,
      recordId: this.recordId,
      time: new Date(this.arrivedAt).toISOString(),
      keyId: this.principal.keyId,
      // An account is made only for a spec's request, whose id the gateway has set by then; 'chat' is what
      // a record from before the field reads as, should a caller ever leave it out.
      endpoint: s.endpoint ?? 'chat',
      route: route ?? null,
      provider: s.provider ?? null,
      model: s.model ?? null,
      status: s.status,
      errorCode: s.errorCode ?? null,
      inputTokens: u?.inputTokens ?? 0,
      outputTokens: u?.outputTokens ?? 0,
      cachedInputTokens: u?.cachedInputTokens ?? 0,
      cacheWriteTokens: u?.cacheWriteTokens ?? 0,
      reasoningTokens: u?.reasoningTokens ?? 0,
      costUsd: cost ?? null,
      priceVersion: cost === undefined ? null : (this.priced?.version ?? null),
      latencyMs: s.latencyMs,
      ttftMs: s.ttftMs ?? null,
      attempts: s.attempts,
      stream: s.stream,
      usageSource: u === undefined ? 'none' : this.source,
      upstreamId: this.upstreamId ?? null,
      ...(this.check?.implausible === undefined ? {} : { implausible: this.check.implausible }),
      ...(this.reservation === undefined ? {} : { reservation: this.reservation }),
      ...(s.attemptLog.length > 1 ? { tried: triedOf(s) } : {}),
    };
    this.deps.usage?.record(record);
    this.report(record);
    return record;
  }

  /** Log lines an operator acts on: a report that cannot be true, a cost above its reservation. */
  private report(r: UsageRecord): void {
    const { logger } = this.deps;
    const ids = {
      requestId: r.requestId,
      keyId: r.keyId,
      route: r.route,
      provider: r.provider,
      model: r.model,
    };
    if (r.implausible !== undefined) {
      const { usage, priced } = this;
      logger.log('error', 'implausible usage', {
        ...ids,
        reason: r.implausible,
        inputTokens: r.inputTokens,
        outputTokens: r.outputTokens,
        // What the report alone would have cost, and what the request was charged instead.
        reportedUsd: usage === undefined || priced === undefined ? null : costOf(usage, priced.price),
        chargedUsd: r.costUsd,
      });
    }
    const hold = this.reservation;
    if (hold !== undefined && r.costUsd !== null && r.costUsd > hold.usd + 1e-9) {
      // Possible only where a bound is an assumption (no output cap went upstream, an image model the table
      // does not know): the budget takes the real cost, so it may end above its limit by the difference.
      logger.log('warn', 'cost above its budget reservation', {
        ...ids,
        reservedUsd: hold.usd,
        costUsd: r.costUsd,
      });
    }
  }
}

/** The record's copy of a request's attempt log: no host, no upstream text (those stay in the log line). */
function triedOf(s: RequestSummary): Tried {
  return {
    retries: s.retries,
    fallbacks: s.fallbacks,
    // A longer way keeps its first steps and its last (the one that answered, or the last failure).
    steps: (s.attemptLog.length <= MAX_TRIED_STEPS
      ? s.attemptLog
      : [
          ...s.attemptLog.slice(0, MAX_TRIED_STEPS - 1),
          s.attemptLog[s.attemptLog.length - 1] as AttemptRecord,
        ]
    ).map((a) => ({
      provider: a.provider,
      model: a.model,
      outcome: a.outcome,
      ...(a.status === undefined ? {} : { status: a.status }),
      ms: a.ms,
    })),
  };
}
