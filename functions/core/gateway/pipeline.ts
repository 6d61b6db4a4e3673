/**
 * The request path of every proxied endpoint, as named steps over its spec: read the body, route it, admit it
 * (rate limit, budget), open an answer (the attempt loop), then answer whole or relay the stream — and account
 * for it when it ends. Nothing here knows an endpoint's shape: the spec does.
 */
import type { Background } from '../background.ts';
import type { GatewayConfig, RouteConfig, TargetConfig } from '../config/schema.ts';
import type { ClientRequest, EndpointSpec } from '../endpoints/spec.ts';
import { NotFoundError, PermissionDeniedError, type ServerShuttingDownError } from '../errors.ts';
import type { GatewayResponse } from '../http.ts';
import { type Json, own } from '../json.ts';
import type { KeyStore, Logger, Principal, RouteStore } from '../ports.ts';
import type { SecretMasker } from '../secrets.ts';
import type { ResponseStorage } from '../stores/response-store.ts';
import { ClientGoneReason, TimeoutReason } from '../upstream/reasons.ts';
import { linkAbort } from '../upstream/signals.ts';
import { estimatedUsage } from '../usage/estimate.ts';
import type { TokenCounter } from '../usage/types.ts';
import type { RequestAccount } from './accounting.ts';
import { readJsonBody } from './body.ts';
import { abandoned, type ExecuteDeps, type Executed, execute, type ProviderState } from './execute.ts';
import { JSON_TYPE, type RequestScope, round } from './scope.ts';
import { relay, type StreamOutcome } from './stream.ts';

const encoder = new TextEncoder();

export interface PipelineDeps extends ExecuteDeps {
  readonly routes: RouteStore;
  readonly keys: KeyStore;
  readonly tokens?: TokenCounter;
  readonly logger: Logger;
  readonly background?: Background;
  /** Stored Responses (`store`, `previous_response_id`); undefined when the host keeps none. */
  readonly responses?: ResponseStorage;
  readonly secrets: SecretMasker;
  readonly maxBody: number;
  readonly state: ProviderState;
  /** The request controllers in flight (shutdown aborts them). */
  readonly inflight: Set<AbortController>;
  readonly stopping: () => boolean;
  readonly shuttingDown: () => ServerShuttingDownError;
}

/** The route of a model, when this key may use it (404 / 403 of the error table otherwise). */
export function routeFor(config: GatewayConfig, model: string, principal: Principal): RouteConfig {
  const route = own(config.routes, model);
  if (route === undefined) {
    throw new NotFoundError({
      code: 'model_not_found',
      message: `The model '${model}' does not exist.`,
      param: 'model',
    });
  }
  if (principal.allowedModels !== undefined && !principal.allowedModels.has(model)) {
    throw new PermissionDeniedError({
      code: 'model_not_allowed',
      message: `This key may not use the model '${model}'.`,
      param: 'model',
    });
  }
  return route;
}

/** Step 3: what the request depends on besides its body (a stored conversation), loaded by the spec. */
async function prepare(
  d: PipelineDeps,
  scope: RequestScope,
  spec: EndpointSpec,
  read: ClientRequest<Json, undefined>,
  principal: Principal,
  route: string,
  arrivedAt: number,
  signal: AbortSignal,
): Promise<ClientRequest> {
  if (spec.prepare === undefined) return read;
  const state = await spec.prepare(read, {
    keyId: principal.keyId,
    signal,
    route,
    requestId: scope.requestId,
    epochMs: arrivedAt,
    responses: d.responses,
    tokens: d.tokens,
    secrets: d.secrets,
    logger: d.logger,
    background: d.background,
    warn: (w) => scope.stats.warnings.push(w),
  });
  return { ...read, state };
}

/**
 * The request's own signal: the client gone, the total deadline or a shutdown, whichever first. `release`
 * undoes what it set up; `unlinkClient` alone stops a client that leaves from aborting (a draining stream).
 */
function requestSignal(d: PipelineDeps, scope: RequestScope, route: RouteConfig) {
  const controller = new AbortController();
  if (d.stopping()) controller.abort(d.shuttingDown());
  d.inflight.add(controller);
  const unlinkClient = linkAbort(scope.req.signal, controller, () => new ClientGoneReason());
  const totalMs = route.timeouts.totalMs;
  const deadline = setTimeout(() => controller.abort(new TimeoutReason('total', totalMs)), totalMs);
  return {
    signal: controller.signal,
    unlinkClient,
    release() {
      d.inflight.delete(controller);
      clearTimeout(deadline);
      unlinkClient();
    },
  };
}

/**
 * Runs one proxied request of `spec` for an authenticated principal, and accounts for it. `pin` (the gateway's
 * own health probes only; never from a request) sends it to that one target of its route, with no retry.
 */
export async function proxy(
  d: PipelineDeps,
  scope: RequestScope,
  spec: EndpointSpec,
  principal: Principal,
  account: RequestAccount,
  pin?: TargetConfig,
): Promise<GatewayResponse> {
  const { text, json } = await readJsonBody(scope.req, d.maxBody);
  const read: ClientRequest<Json, undefined> = {
    text,
    json: spec.parse(json),
    headers: scope.req.headers,
    state: undefined,
  };
  const stream = spec.stream(read.json);
  const model = spec.model(read.json);
  scope.summary.stream = stream;
  scope.summary.route = model;
  const config = await d.routes.load();
  const routed = routeFor(config, model, principal);
  const route =
    pin === undefined ? routed : { ...routed, targets: [pin], retry: { ...routed.retry, attempts: 0 } };
  // The rpm token first: a key over its rate causes no store read (a stored conversation, the budget hold).
  const rated = account.rate();
  if (rated !== undefined) await rated;

  const sig = requestSignal(d, scope, route);
  let req: ClientRequest;
  let executed: Executed;
  try {
    // What prepare reads (a stored conversation) is read under the request's signal: a client that leaves, the
    // deadline or a shutdown ends a store that hangs, as it ends an upstream that does.
    req =
      spec.prepare === undefined
        ? read
        : await prepare(d, scope, spec, read, principal, model, account.arrivedAt, sig.signal).catch(
            (err: unknown) => {
              throw sig.signal.aborted ? abandoned(sig.signal) : err;
            },
          );
    const admitted = account.admit(config, route, spec.bounds(req));
    if (admitted !== undefined) await admitted;
    executed = await execute(
      d,
      d.state,
      { config, route, spec, req, requestId: scope.requestId, stream, signal: sig.signal },
      scope.stats,
    );
  } catch (err) {
    sig.release();
    // The ledger and the log line name the target that failed last, not nothing.
    const last = scope.stats.log.at(-1);
    if (last !== undefined) {
      scope.summary.provider = last.provider;
      scope.summary.model = last.model;
    }
    throw err;
  }
  const { target, startedAt } = executed;
  scope.summary.provider = target.provider;
  scope.summary.model = target.model;
  account.target(config, target.provider, target.model);
  const estimateInput = () => (d.tokens === undefined ? 0 : spec.estimateInput(d.tokens, req));
  const headers = {
    ...spec.headers?.(scope.requestId),
    'x-request-id': scope.requestId,
    'x-switchyard-provider': target.provider,
  };

  if (executed.answer !== undefined) {
    // Step: the whole answer.
    const { answer, opened } = executed;
    sig.release();
    opened.close();
    // The upstream's time ends with its answer: the wait for a stored Response below is the gateway's own.
    scope.stats.upstreamMs += d.clock.now() - startedAt;
    // What must outlive the answer (a stored Response) is done before the client has it.
    const complete = executed.call.complete;
    if (complete !== undefined) await complete.call(executed.call);
    if (answer.usage !== undefined) account.use(answer.usage, 'provider');
    else if (d.tokens !== undefined) {
      account.use(
        estimatedUsage(estimateInput(), spec.estimateOutput(d.tokens, answer.text, false)),
        'estimated',
      );
    }
    const extra: Record<string, string> = {};
    account.upstreamId = answer.upstreamId;
    const cost = account.costUsd;
    // The provider's bytes as they came, unless a secret the gateway holds is in them or a cost goes in.
    let text = d.secrets.size === 0 ? answer.text : d.secrets.mask(answer.text);
    if (cost !== undefined) {
      extra['x-switchyard-cost-usd'] = String(cost);
      if (answer.usage !== undefined) text = spec.withCost(text, cost);
    }
    scope.finish(opened.response.status);
    return {
      status: opened.response.status,
      headers: { 'content-type': JSON_TYPE, ...headers, ...extra },
      body: text === answer.text ? answer.bytes : encoder.encode(text),
    };
  }

  // Step: the stream.
  const { opened, head } = executed;
  if (head === undefined) throw new Error('an opened stream has a head');
  const drain = route.onClientDisconnect === 'drain';
  // Draining: a client that leaves no longer aborts the upstream; the total deadline still does.
  if (drain) sig.unlinkClient();
  const wantsUsage = spec.clientWantsUsage(req.json);
  const complete = executed.call.complete;
  const relayed = relay({
    provider: target.provider,
    secrets: d.secrets,
    opened,
    head,
    idleMs: route.timeouts.idleMs,
    now: d.clock.now,
    errorEvent: (err) => spec.errorEvent(err, scope.requestId),
    ...(complete === undefined ? {} : { complete: () => complete.call(executed.call) }),
    usageEvent: wantsUsage
      ? (text: string, chunk: Json, u) => spec.withUsageEvent(text, chunk, account.costOf(u))
      : undefined,
    drainOnClientGone: drain,
    onEnd: (o: StreamOutcome) => {
      sig.release();
      scope.stats.upstreamMs += d.clock.now() - startedAt;
      if (o.firstChunkAt !== undefined) scope.summary.ttftMs = round(o.firstChunkAt - scope.start);
      if (o.upstreamError !== undefined) scope.summary.upstreamError = o.upstreamError;
      if (o.upstreamId !== undefined) account.upstreamId = o.upstreamId;
      if (o.usage !== undefined) account.use(o.usage, 'provider');
      else if (d.tokens !== undefined && o.forwarded !== undefined) {
        const kept = spec.estimateOutput(d.tokens, o.forwarded, true);
        // Only the start of a very long answer is kept: its count is scaled to the whole.
        const out =
          o.keptChars > 0 && o.totalChars > o.keptChars
            ? Math.round((kept * o.totalChars) / o.keptChars)
            : kept;
        account.use(estimatedUsage(estimateInput(), out), 'estimated');
      }
      // 499: the client closed the connection (nginx's convention), so it never counts as a success. A
      // draining stream may end (e.g. at shutdown) before the host noticed: the client's signal says it.
      const gone = o.clientGone || scope.req.signal?.aborted === true;
      scope.finish(gone ? 499 : o.error === undefined ? 200 : o.error.status, o.error);
    },
  });
  return {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers },
    body: relayed.body,
    cancel: relayed.cancel,
  };
}
