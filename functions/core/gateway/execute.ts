/**
 * The attempt loop: targets in route order, retries with backoff on the same target for retryable failures,
 * then the next target. It returns an opened upstream answer (first byte received, nothing sent to the
 * client yet) or throws the one client error that {@link finalError} picks.
 */
import { baseUrlsOf, type GatewayConfig, type RouteConfig, type TargetConfig } from '../config/schema.ts';
import type { ClientRequest, EndpointSpec, TargetCall } from '../endpoints/spec.ts';
import { ServerShuttingDownError } from '../errors.ts';
import { own } from '../json.ts';
import type { AttemptRecord, Clock, ProviderKeySource, Sleep } from '../ports.ts';
import { ADAPTERS } from '../providers/registry.ts';
import { type HttpClient, type ProviderAdapter, UnsupportedFieldError } from '../providers/types.ts';
import {
  AttemptError,
  type AttemptFailure,
  canFailOver,
  finalError,
  retryableOnSameTarget,
} from '../routing/failure.ts';
import { type HealthBoard, healthConfigOf, type PlannedTarget, targetId } from '../routing/health.ts';
import { backoffMs } from '../routing/retry.ts';
import { orderTargets } from '../routing/router.ts';
import { NO_SECRETS, type SecretMasker } from '../secrets.ts';
import { AttemptDiscarded, failureOf, type OpenedAttempt, openAttempt } from '../upstream/attempt.ts';
import { ClientGoneReason, TimeoutReason } from '../upstream/reasons.ts';
import { type Answer, acceptAnswer } from './answer.ts';
import { type HeadSource, readHead, type StreamHead } from './stream-head.ts';
import { allSkipped, healthIdsOf, lastStanding, openUntilOf, routeHealthIdsOf } from './target-health.ts';

export interface ExecuteDeps {
  readonly http: HttpClient;
  /** Wires of providers that do not speak plain HTTP from the core, by provider type (bedrock: the AWS SDK). */
  readonly transports?: Readonly<Partial<Record<string, HttpClient>>>;
  readonly providerKeys: ProviderKeySource;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly random: () => number;
  /** Every secret value the gateway holds, masked wherever upstream text is kept (default: none known). */
  readonly secrets?: SecretMasker;
  /** Shared target health (breakers, cool-downs, speeds); without it every target is always tried. */
  readonly health?: HealthBoard;
}

export interface ExecuteInput {
  readonly config: GatewayConfig;
  readonly route: RouteConfig;
  /** The client's endpoint, and its request. */
  readonly spec: EndpointSpec;
  readonly req: ClientRequest;
  readonly requestId: string;
  readonly stream: boolean;
  /** Aborted when the client leaves or the total deadline passes. */
  readonly signal: AbortSignal;
}

/** Counters the request's log line and metrics report. */
export class ExecStats {
  attempts = 0;
  retries = 0;
  fallbacks = 0;
  /** Time spent waiting on upstreams and backoff (not the gateway's own work). */
  upstreamMs = 0;
  readonly log: AttemptRecord[] = [];
  /** Request fields a provider dropped (no equivalent), for the log line. */
  readonly warnings: string[] = [];
  /** Served by a route's last target: every other one failed or was skipped for its health. */
  lastTarget = false;
}

export interface Executed {
  readonly opened: OpenedAttempt;
  readonly adapter: ProviderAdapter;
  readonly target: TargetConfig;
  /** When the winning attempt started (clock ms). */
  readonly startedAt: number;
  /** Streams: the pieces read before the answer was accepted, and the reader that reads the rest. */
  readonly head: StreamHead | undefined;
  /** Non-stream: the answer, read whole, translated and checked. */
  readonly answer: Answer | undefined;
  /** The winning attempt's call (its `complete` runs before the client sees the answer end). */
  readonly call: TargetCall;
}

function hostOf(url: string | undefined): string {
  if (url === undefined) return '';
  const i = url.indexOf('://');
  const rest = i === -1 ? url : url.slice(i + 3);
  const slash = rest.indexOf('/');
  return slash === -1 ? rest : rest.slice(0, slash);
}

/** Per-provider state that outlives a request: round-robin key index, the base URL that last worked. */
export class ProviderState {
  private readonly keyIndex = new Map<string, number>();
  private readonly urlIndex = new Map<string, number>();

  nextKey(provider: string, keys: readonly string[]): string | undefined {
    if (keys.length === 0) return undefined;
    const i = this.keyIndex.get(provider) ?? 0;
    this.keyIndex.set(provider, (i + 1) % keys.length);
    return keys[i % keys.length];
  }
  preferredUrl(provider: string): number {
    return this.urlIndex.get(provider) ?? 0;
  }
  worked(provider: string, index: number): void {
    if (index !== 0 || this.urlIndex.has(provider)) this.urlIndex.set(provider, index);
  }
}

/**
 * A stream is accepted once its head holds part of the answer; an error event before that is this attempt's
 * failure (retried or failed over like an error status), since nothing has reached the client yet.
 */
async function acceptHead(
  opened: OpenedAttempt,
  tc: TargetCall,
  idleMs: number,
  from: HeadSource,
): Promise<StreamHead> {
  let head: Awaited<ReturnType<typeof readHead>>;
  try {
    head = await readHead(opened, tc.stream(), idleMs, from);
  } catch (err) {
    const failure = failureOf(err, opened.controller.signal, from);
    opened.close(new AttemptDiscarded());
    throw failure;
  }
  if (head.failure === undefined) return head;
  opened.close(new AttemptDiscarded());
  throw new AttemptError(head.failure);
}

/** A whole answer that is not one fails the attempt (retried / failed over) like an error status. */
function checkedAnswer(opened: OpenedAttempt, tc: TargetCall, from: HeadSource): Answer {
  try {
    return acceptAnswer(opened, (text) => tc.answer(text), from);
  } catch (err) {
    opened.close(new AttemptDiscarded());
    throw err;
  }
}

/**
 * What a request whose own signal ended a step before any upstream call answers: the client gone (499), a
 * shutdown (503), else its deadline (504, as when no upstream answered in time).
 */
export function abandoned(signal: AbortSignal): unknown {
  const why: unknown = signal.reason;
  if (why instanceof ClientGoneReason || why instanceof ServerShuttingDownError) return why;
  return finalError([], true);
}

export async function execute(
  deps: ExecuteDeps,
  state: ProviderState,
  input: ExecuteInput,
  stats: ExecStats,
): Promise<Executed> {
  const { route, config, signal } = input;
  const failures: AttemptFailure[] = [];
  const deadlinePassed = () => signal.aborted && signal.reason instanceof TimeoutReason;
  const secrets = deps.secrets ?? NO_SECRETS;
  const board = deps.health;
  const healthOf = (t: TargetConfig) => healthConfigOf(route, own(config.providers, t.provider));
  const first = route.targets[0] as TargetConfig;
  const healthIds = (t: TargetConfig) => healthIdsOf(config, t);
  // A fresh instance's first request for these targets waits (capped) for what the fleet knows of them.
  const warming = board?.ready(routeHealthIdsOf(config, route));
  if (warming !== undefined) await warming;
  const ordered = orderTargets(route, {
    random: deps.random,
    config,
    stream: input.stream,
    ...(board === undefined ? {} : { speeds: board, explorePercent: healthOf(first).explorePercent }),
  });
  const planned: readonly PlannedTarget[] =
    board === undefined
      ? ordered.map((target) => ({ target, id: targetId(target), status: 'healthy' }))
      : board.plan(ordered, healthOf);
  const skipped: PlannedTarget[] = [];
  const skip = (p: PlannedTarget) => {
    skipped.push(p);
    const { provider, model } = p.target;
    stats.log.push({ provider, model, host: '', outcome: 'skipped', ms: 0 });
  };
  for (const [ti, { target, id, status }] of planned.entries()) {
    if (ti > 0) stats.fallbacks++;
    const provider = own(config.providers, target.provider);
    if (provider === undefined) continue; // config validation makes this unreachable
    const baseUrls = baseUrlsOf(provider);
    // Several base URLs: their own breakers decide (below); the target's own state is not used.
    const urlIds =
      board !== undefined && baseUrls.length > 1 && healthOf(target).enabled ? healthIds(target) : [];
    let claimed = false;
    if (board !== undefined && status !== 'healthy' && urlIds.length === 0) {
      // Open: skipped at once. Half-open: one request probes it (here or on another instance), the rest skip.
      claimed =
        status === 'half-open' && (await board.claimProbe(id, route.timeouts.firstByteMs * 2, signal));
      if (signal.aborted) {
        if (claimed) board.release(id);
        throw abandoned(signal);
      }
      if (!claimed) {
        skip(planned[ti] as PlannedTarget);
        continue;
      }
    }
    const urlDown = (i: number) => board?.down(urlIds[i] as string) === true;
    if (urlIds.length > 0) {
      board?.watch(urlIds);
      if (urlIds.every((_, i) => urlDown(i))) {
        // Every base URL's breaker is open: skipped like an open target.
        const soonest = [...urlIds].sort(
          (x, y) => openUntilOf(board, x) - openUntilOf(board, y),
        )[0] as string;
        skip({ target, id: soonest, status: 'open' });
        continue;
      }
    }
    /** The breaker an attempt on base URL `i` counts toward. */
    const healthIdAt = (i: number) => urlIds[i] ?? id;
    const skipUrl =
      urlIds.length === 0 ? undefined : (i: number) => urlDown(i) && !urlIds.every((_, j) => urlDown(j));
    const adapter = ADAPTERS[provider.type];
    const keys = await deps.providerKeys.keys(target.provider);
    const transport = adapter.transport ?? deps.transports?.[adapter.type] ?? deps.http;
    for (let retry = 0; retry <= route.retry.attempts; retry++) {
      let tc: TargetCall;
      try {
        const made = input.spec.callFor(input.req, {
          providerId: target.provider,
          adapter,
          provider,
          model: target.model,
          apiKey: state.nextKey(target.provider, keys),
          requestId: input.requestId,
          epochMs: deps.clock.epochMs(),
        });
        // Only Responses makes its call asynchronously (a stored conversation): the others cost no tick here.
        tc = made instanceof Promise ? await made : made;
      } catch (err) {
        // A stored conversation read under the request's signal, which ended (deadline, client, shutdown).
        if (signal.aborted) throw abandoned(signal);
        if (!(err instanceof UnsupportedFieldError)) throw err;
        // Nothing was sent: not an attempt. The next target (maybe another provider type) may take it.
        failures.push({ kind: 'unsupported', message: err.message, param: err.param });
        stats.log.push({
          provider: target.provider,
          model: target.model,
          host: '',
          outcome: 'unsupported',
          ms: 0,
        });
        break;
      }
      if (retry === 0 && tc.call.warnings !== undefined) {
        for (const w of tc.call.warnings) stats.warnings.push(`${target.provider}: ${w}`);
      }
      if (retry > 0) stats.retries++;
      stats.attempts++;
      const startedAt = deps.clock.now();
      const startedEpoch = deps.clock.epochMs();
      let urlIndex = state.preferredUrl(target.provider);
      const outcome = (ms: number) => ({
        id: healthIdAt(urlIndex),
        provider: target.provider,
        cfg: healthOf(target),
        startedAt: startedEpoch,
        ms,
        stream: input.stream,
        probe: claimed,
        ...(urlIds.length === 0 ? {} : { speedId: id }),
      });
      const startIndex = urlIndex;
      const from: HeadSource = { provider: target.provider, secrets };
      try {
        const opened = await openAttempt({
          provider: target.provider,
          secrets,
          adapter,
          transport,
          baseUrls,
          startIndex,
          call: tc.call,
          timeouts: route.timeouts,
          requestSignal: signal,
          epochMs: deps.clock.epochMs,
          readAll: !input.stream,
          maxResponseBytes: route.maxResponseBytes,
          streamType: input.stream ? tc.streamType : undefined,
          skipUrl,
        });
        urlIndex = opened.baseUrlIndex;
        const head = input.stream ? await acceptHead(opened, tc, route.timeouts.idleMs, from) : undefined;
        const answer = input.stream ? undefined : checkedAnswer(opened, tc, from);
        state.worked(target.provider, opened.baseUrlIndex);
        const ms = Math.round((deps.clock.now() - startedAt) * 100) / 100;
        stats.log.push({
          provider: target.provider,
          model: target.model,
          host: hostOf(baseUrls[opened.baseUrlIndex]),
          outcome: 'ok',
          status: opened.response.status,
          ms,
        });
        board?.success(outcome(ms));
        stats.lastTarget =
          board !== undefined &&
          lastStanding(planned, skipped, ti, (p) => healthIds(p.target).every((h) => board.down(h)));
        return { opened, adapter, target, startedAt, head, answer, call: tc };
      } catch (err) {
        const ms = Math.round((deps.clock.now() - startedAt) * 100) / 100;
        stats.upstreamMs += deps.clock.now() - startedAt;
        // A request cut short by its own deadline or client says nothing about the target (a probe's claim
        // is freed for the next request).
        if (err instanceof AttemptError && err.failure.urlIndex !== undefined)
          urlIndex = err.failure.urlIndex;
        if (claimed && (signal.aborted || !(err instanceof AttemptError))) board?.release(id);
        if (err instanceof ClientGoneReason) throw err;
        // The host is stopping: no retry, no next target.
        if (signal.reason instanceof ServerShuttingDownError) throw signal.reason;
        if (!(err instanceof AttemptError)) throw err;
        const f = err.failure;
        failures.push(f);
        if (!signal.aborted) board?.failure(outcome(ms), f);
        claimed = false; // its verdict is in, or its claim freed: a retry is no probe
        stats.log.push({
          provider: target.provider,
          model: target.model,
          host: hostOf(baseUrls[urlIndex]),
          outcome: f.kind,
          ...(f.status === undefined ? {} : { status: f.status }),
          ms,
          ...(f.detail === undefined ? {} : { error: f.detail }),
        });
        if (deadlinePassed()) throw finalError(failures, true);
        if (input.spec.recover?.(input.req, f, target.provider) === true) {
          // The same target, called differently: not one of the route's retries, and its failure is not the
          // request's (a later failure is what the client hears about).
          failures.pop();
          retry--;
          continue;
        }
        if (!canFailOver(f.kind)) throw finalError(failures, false);
        if (!retryableOnSameTarget(f.kind) || retry === route.retry.attempts) break;
        // Its breaker opened (this failure, another request's, or the fleet's): the next target, now.
        if (board !== undefined && healthOf(target).enabled && healthIds(target).every((h) => board.down(h)))
          break;
        const delay = backoffMs(retry, route.retry, f.retryAfterMs, deps.random);
        if (delay === undefined) break;
        const waitStart = deps.clock.now();
        try {
          await deps.sleep(delay, signal);
        } catch {
          if (signal.reason instanceof ClientGoneReason) throw signal.reason;
          if (signal.reason instanceof ServerShuttingDownError) throw signal.reason;
          throw finalError(failures, true);
        } finally {
          stats.upstreamMs += deps.clock.now() - waitStart;
        }
      }
    }
  }
  if (board !== undefined && skipped.length > 0 && !failures.some((f) => f.kind !== 'unsupported'))
    throw allSkipped(board, skipped, deps.clock.epochMs());
  throw finalError(failures, deadlinePassed());
}
