/**
 * The money side of one request: the key's rate limit and budget reservation before the upstream call (the
 * most the request can cost: ../usage/request-bounds.ts), then the usage (provider-reported, else estimated),
 * its check against the request's bounds (../usage/usage-check.ts), its cost and the ledger record when the
 * request ends, and the settlement of the reservation. Ledger writes and settlements run in the background; a
 * settlement the limit store refuses is retried and, failing that, kept (./keys/budget-settler.ts), never
 * dropped.
 */
import type { Background } from '../background.ts';
import type { GatewayConfig, RouteConfig } from '../config/schema.ts';
import type { BoundsInput } from '../endpoints/spec.ts';
import { BudgetExceededError, RateLimitError } from '../errors.ts';
import { BudgetSettler } from '../keys/budget-settler.ts';
import { budgetWindow } from '../keys/client-keys.ts';
import type { BudgetHold, LimitStore } from '../keys/types.ts';
import type { Logger, Principal, RequestSummary, Sleep } from '../ports.ts';
import type { Usage } from '../providers/types.ts';
import { costOf, type Priced, priceOf } from '../usage/pricing.ts';
import { RequestBounds } from '../usage/request-bounds.ts';
import type { TokenCounter, UsageRecord, UsageSink, UsageSource } from '../usage/types.ts';
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

/** What a request's account needs beyond the gateway's ports: the one settler of its limit store. */
export interface AccountDeps extends AccountingDeps {
  /** Made once per gateway ({@link accountDeps}): a settlement kept while the store was down follows a later one. */
  readonly settler: BudgetSettler | undefined;
}

/** The accounts' dependencies for one gateway: its ports plus one settler for its limit store. */
export function accountDeps(deps: AccountingDeps & { readonly sleep: Sleep }): AccountDeps {
  const { limits } = deps;
  return {
    ...deps,
    settler:
      limits === undefined
        ? undefined
        : new BudgetSettler({ limits, sleep: deps.sleep, logger: deps.logger }),
  };
}

/**
 * Takes one token of the key's rpm (nothing without an rpm or a limit store); throws the 429 of the error table.
 * A limit store that fails lets the request through (logged): the rate limit fails open, as the budget does.
 */
export async function takeRateToken(
  deps: Pick<AccountingDeps, 'limits' | 'logger'>,
  p: Principal,
  nowMs: number,
): Promise<void> {
  const { limits, logger } = deps;
  if (limits === undefined || p.rpm === undefined) return;
  const d = await limits.takeRate(p.keyId, p.rpm, nowMs).catch((err: unknown) => {
    logger.log('error', 'rate limit not enforced: limit store failed', {
      keyId: p.keyId,
      error: String(err),
    });
    return { ok: true } as const;
  });
  if (!d.ok) {
    throw new RateLimitError({
      code: 'rate_limit_exceeded',
      message: `Rate limit reached for this key: ${p.rpm} requests per minute.`,
      retryAfterSeconds: Math.max(1, Math.ceil(d.retryAfterMs / 1000)),
    });
  }
}

/** A reservation outlives its request's deadline by this much before anyone may release it. */
const HOLD_GRACE_MS = 60_000;

export class RequestAccount {
  private usage: Usage | undefined;
  private source: UsageSource = 'none';
  private priced: Priced | undefined;
  private hold: BudgetHold | undefined;
  /** What the request can cost at most, per target; set by {@link admit}. */
  private bounds: RequestBounds | undefined;
  /** The target whose answer the usage is, `provider/model` split. */
  private answeredBy: { readonly provider: string; readonly model: string } | undefined;
  /** The usage checked against the answering target's bounds (memo: cleared when either changes). */
  private checked: CheckedUsage | undefined;
  upstreamId: string | undefined;

  constructor(
    private readonly deps: AccountDeps,
    readonly principal: Principal,
    readonly recordId: string,
    /** Epoch ms the request arrived. */
    readonly arrivedAt: number,
  ) {}

  /**
   * The key's rate limit: one token of its rpm, taken before anything else the request makes the gateway do (a
   * stored conversation read, the budget hold); throws the 429 of the error table.
   */
  rate(): Promise<void> | undefined {
    // Most keys have no rpm: no promise, no await on the hot path.
    if (this.deps.limits === undefined || this.principal.rpm === undefined) return undefined;
    return takeRateToken(this.deps, this.principal, this.arrivedAt);
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
    const { limits, logger } = this.deps;
    const p = this.principal;
    if (limits !== undefined && p.budget !== undefined) {
      const hold: BudgetHold = {
        keyId: p.keyId,
        window: budgetWindow(p.budget.period, this.arrivedAt),
        limitUsd: p.budget.usd,
        amountUsd: bounds.reserveUsd(),
        holdId: this.recordId,
        expiresAtEpochMs: this.arrivedAt + totalMs + HOLD_GRACE_MS,
      };
      const ok = await limits.reserve(hold, this.arrivedAt).catch((err: unknown) => {
        logger.log('error', 'budget not enforced: limit store failed', {
          keyId: p.keyId,
          error: String(err),
        });
        return undefined;
      });
      if (ok === false) {
        throw new BudgetExceededError({
          code: 'budget_exceeded',
          message: `This key has used its budget of $${p.budget.usd} for ${hold.window}.`,
        });
      }
      if (ok === true) this.hold = hold;
    }
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

  /** Called once with the request's summary: writes the ledger record and settles the reservation. */
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
    };
    this.deps.usage?.record(record);
    this.report(record);
    const { hold } = this;
    const { settler } = this.deps;
    if (hold !== undefined && settler !== undefined) {
      const settle = settler.settle(hold, cost ?? 0, s.requestId);
      if (this.deps.background === undefined) void settle;
      else this.deps.background.add(settle);
    }
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
    const hold = this.hold;
    if (hold !== undefined && r.costUsd !== null && r.costUsd > hold.amountUsd + 1e-9) {
      // Possible only where a bound is an assumption (no output cap went upstream, an image model the table
      // does not know): the budget takes the real cost, so it may end above its limit by the difference.
      logger.log('warn', 'cost above its budget reservation', {
        ...ids,
        reservedUsd: hold.amountUsd,
        costUsd: r.costUsd,
      });
    }
  }
}
