/**
 * The core's one entry: `createGateway(deps).handle(request)`. It dispatches the four endpoints, and owns the
 * per-request envelope: request id, auth, body limits, the deadline, and the one log line + metrics summary.
 */
import { authenticate } from '../auth.ts';
import type { GatewayConfig } from '../config/schema.ts';
import {
  errorHeaders,
  MethodNotAllowedError,
  NotFoundError,
  PermissionDeniedError,
  ServerShuttingDownError,
  type SwitchyardError,
  toErrorBody,
  toSwitchyardError,
} from '../errors.ts';
import { type GatewayRequest, type GatewayResponse, header } from '../http.ts';
import { own } from '../json.ts';
import type { KeyStore, Logger, Metrics, Principal, RequestSummary, RouteStore } from '../ports.ts';
import { clientWantsUsage, withUsageCost } from '../providers/openai/adapter.ts';
import type { Operation } from '../providers/types.ts';
import { requestIdFrom, uuidv7 } from '../request-id.ts';
import { chatRequestSchema, embeddingsRequestSchema, parseBody } from '../schemas/openai.ts';
import { NO_SECRETS } from '../secrets.ts';
import { ClientGoneReason, TimeoutReason } from '../upstream/reasons.ts';
import {
  estimatedUsage,
  estimateInputTokens,
  estimateOutputOfBody,
  estimateOutputOfEvents,
} from '../usage/estimate.ts';
import { type AccountingDeps, accountDeps, RequestAccount } from './accounting.ts';
import { readJsonBody } from './body.ts';
import { ExecStats, type ExecuteDeps, execute, ProviderState } from './execute.ts';
import { relay, type StreamOutcome } from './stream.ts';

export interface GatewayDeps extends ExecuteDeps, AccountingDeps {
  readonly routes: RouteStore;
  readonly keys: KeyStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Largest accepted request body; default 6 MiB, Lambda's own payload limit. */
  readonly maxBodyBytes?: number;
}

export interface Gateway {
  handle(req: GatewayRequest): Promise<GatewayResponse>;
  /**
   * For a host that is stopping, once its grace is over: every request in flight is aborted with a
   * {@link ServerShuttingDownError} (503 `server_shutting_down`; a stream ends with it as its SSE error
   * event, a stream draining for a client that left stops draining), and every later request gets it at
   * once. Each ends like any failed request: its log line, metrics and ledger record are made.
   */
  shutdown(): void;
}

export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;
const JSON_TYPE = 'application/json';
const encoder = new TextEncoder();

/** Milliseconds to 0.01: log lines stay short, metrics keep enough precision. */
const round = (ms: number): number => Math.round(ms * 100) / 100;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The request's record, filled as it goes and emitted once (log line + metrics) when it ends. */
class RequestScope {
  readonly summary: Mutable<Partial<RequestSummary>> = {};
  readonly stats = new ExecStats();
  /** Set once the client key is known on a chat/embeddings request: that request goes into the ledger. */
  account: RequestAccount | undefined;
  constructor(
    readonly requestId: string,
    readonly start: number,
    private readonly deps: GatewayDeps,
    readonly req: GatewayRequest,
  ) {}

  finish(status: number, error?: SwitchyardError): void {
    const s = this.stats;
    const latencyMs = round(this.deps.clock.now() - this.start);
    const summary: RequestSummary = {
      ...this.summary,
      requestId: this.requestId,
      method: echoedPath(this.req.method),
      path: echoedPath(this.req.path),
      status,
      stream: this.summary.stream ?? false,
      latencyMs,
      attempts: s.attempts,
      retries: s.retries,
      fallbacks: s.fallbacks,
      attemptLog: s.log,
      ...(s.attempts > 0
        ? { upstreamMs: s.upstreamMs, overheadMs: Math.max(0, latencyMs - s.upstreamMs) }
        : {}),
      ...(error === undefined ? {} : { errorCode: error.code }),
      ...(s.warnings.length === 0 ? {} : { warnings: s.warnings }),
      ...this.account?.metricsFields(),
    };
    this.account?.finish(summary, this.summary.route);
    const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
    this.deps.logger.log(level, error === undefined ? 'request' : `request failed: ${error.message}`, {
      ...summary,
    });
    this.deps.metrics.record(summary);
  }
}

function json(
  status: number,
  requestId: string,
  value: unknown,
  extra?: Record<string, string>,
): GatewayResponse {
  return {
    status,
    headers: { 'content-type': JSON_TYPE, 'x-request-id': requestId, ...extra },
    body: encoder.encode(JSON.stringify(value)),
  };
}

function errorResponse(err: SwitchyardError, requestId: string): GatewayResponse {
  const extra = errorHeaders(err);
  if (err.status === 413) extra.connection = 'close'; // do not drain a huge body we refused
  return json(err.status, requestId, toErrorBody(err), extra);
}

const ENDPOINTS: ReadonlyMap<string, { method: string; op: Operation | 'health' }> = new Map([
  ['/health', { method: 'GET', op: 'health' }],
  ['/v1/models', { method: 'GET', op: 'models' }],
  ['/v1/chat/completions', { method: 'POST', op: 'chat' }],
  ['/v1/embeddings', { method: 'POST', op: 'embeddings' }],
]);

/** A path as it may be echoed or logged: anything from outside is cut short first. */
const MAX_ECHOED_PATH = 256;
const echoedPath = (path: string): string =>
  path.length <= MAX_ECHOED_PATH ? path : `${path.slice(0, MAX_ECHOED_PATH)}…`;

export function createGateway(deps: GatewayDeps): Gateway {
  const state = new ProviderState();
  const maxBody = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const accounts = accountDeps(deps);
  const secrets = deps.secrets ?? NO_SECRETS;
  /** The signals of the proxied requests in flight, for shutdown(). */
  const inflight = new Set<AbortController>();
  let stopping = false;
  const shuttingDown = () =>
    new ServerShuttingDownError({
      code: 'server_shutting_down',
      message: 'The gateway is shutting down; retry the request.',
    });

  function routeFor(config: GatewayConfig, model: string, principal: Principal) {
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

  async function proxy(
    scope: RequestScope,
    op: 'chat' | 'embeddings',
    principal: Principal,
    account: RequestAccount,
  ): Promise<GatewayResponse> {
    const raw = await readJsonBody(scope.req, maxBody);
    const body = op === 'chat' ? parseBody(chatRequestSchema, raw) : parseBody(embeddingsRequestSchema, raw);
    const stream = op === 'chat' && 'stream' in body && body.stream === true;
    scope.summary.stream = stream;
    scope.summary.route = body.model;
    const config = await deps.routes.load();
    const route = routeFor(config, body.model, principal);
    await account.admit(config, route, op, body);

    // The request's own signal: client gone or total deadline, whichever first.
    const controller = new AbortController();
    if (stopping) controller.abort(shuttingDown());
    inflight.add(controller);
    const onClientGone = () => controller.abort(new ClientGoneReason());
    if (scope.req.signal?.aborted === true) onClientGone();
    else scope.req.signal?.addEventListener('abort', onClientGone, { once: true });
    const totalMs = route.timeouts.totalMs;
    const deadline = setTimeout(() => controller.abort(new TimeoutReason('total', totalMs)), totalMs);
    const cleanup = () => {
      inflight.delete(controller);
      clearTimeout(deadline);
      scope.req.signal?.removeEventListener('abort', onClientGone);
    };

    let executed: Awaited<ReturnType<typeof execute>>;
    try {
      executed = await execute(
        deps,
        state,
        { config, route, op, body, requestId: scope.requestId, stream, signal: controller.signal },
        scope.stats,
      );
    } catch (err) {
      cleanup();
      // The ledger and the log line name the target that failed last, not nothing.
      const last = scope.stats.log.at(-1);
      if (last !== undefined) {
        scope.summary.provider = last.provider;
        scope.summary.model = last.model;
      }
      throw err;
    }
    const { opened, target, startedAt, translator, head, answer } = executed;
    scope.summary.provider = target.provider;
    scope.summary.model = target.model;
    account.target(config, target.provider, target.model);
    const estimateInput = () => (deps.tokens === undefined ? 0 : estimateInputTokens(deps.tokens, op, body));
    const headers = { 'x-request-id': scope.requestId, 'x-switchyard-provider': target.provider };

    if (answer !== undefined) {
      cleanup();
      opened.release();
      scope.stats.upstreamMs += deps.clock.now() - startedAt;
      const { usage } = answer;
      if (usage !== undefined) account.use(usage, 'provider');
      else if (deps.tokens !== undefined) {
        const out = op === 'chat' ? estimateOutputOfBody(deps.tokens, answer.text) : 0;
        account.use(estimatedUsage(estimateInput(), out), 'estimated');
      }
      const extra: Record<string, string> = {};
      account.upstreamId = answer.upstreamId;
      const cost = account.costUsd;
      // The provider's bytes as they came, unless a secret the gateway holds is in them or a cost goes in.
      let text = secrets.size === 0 ? answer.text : secrets.mask(answer.text);
      if (cost !== undefined) {
        extra['x-switchyard-cost-usd'] = String(cost);
        if (usage !== undefined) text = withUsageCost(text, cost);
      }
      scope.finish(opened.response.status);
      return {
        status: opened.response.status,
        headers: { 'content-type': JSON_TYPE, ...headers, ...extra },
        body: text === answer.text ? answer.bytes : encoder.encode(text),
      };
    }

    const drain = route.onClientDisconnect === 'drain';
    // Draining: a client that leaves no longer aborts the upstream; the total deadline still does.
    if (drain) scope.req.signal?.removeEventListener('abort', onClientGone);
    const relayed = relay({
      provider: target.provider,
      secrets,
      opened,
      translator,
      head,
      idleMs: route.timeouts.idleMs,
      now: deps.clock.now,
      forwardUsage: clientWantsUsage(body),
      costOf: (u) => account.costOf(u),
      drainOnClientGone: drain,
      onEnd: (o: StreamOutcome) => {
        cleanup();
        scope.stats.upstreamMs += deps.clock.now() - startedAt;
        if (o.firstChunkAt !== undefined) scope.summary.ttftMs = round(o.firstChunkAt - scope.start);
        if (o.upstreamError !== undefined) scope.summary.upstreamError = o.upstreamError;
        if (o.upstreamId !== undefined) account.upstreamId = o.upstreamId;
        if (o.usage !== undefined) account.use(o.usage, 'provider');
        else if (deps.tokens !== undefined && o.forwarded !== undefined) {
          const out = estimateOutputOfEvents(deps.tokens, o.forwarded, o.keptChars, o.totalChars);
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
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        ...headers,
      },
      body: relayed.body,
      cancel: relayed.cancel,
    };
  }

  async function models(scope: RequestScope, principal: Principal): Promise<GatewayResponse> {
    const config = await deps.routes.load();
    const data = Object.keys(config.routes)
      .filter((id) => principal.allowedModels === undefined || principal.allowedModels.has(id))
      .map((id) => ({ id, object: 'model', created: 0, owned_by: 'switchyard' }));
    scope.finish(200);
    return json(200, scope.requestId, { object: 'list', data });
  }

  return {
    shutdown() {
      stopping = true;
      for (const c of inflight) c.abort(shuttingDown());
    },
    async handle(req) {
      const requestId = requestIdFrom(header(req.headers, 'x-request-id'));
      const scope = new RequestScope(requestId, deps.clock.now(), deps, req);
      try {
        if (stopping) throw shuttingDown();
        const endpoint = ENDPOINTS.get(req.path);
        if (endpoint === undefined) {
          throw new NotFoundError({
            code: 'unknown_url',
            message: `Unknown request URL: ${echoedPath(req.method)} ${echoedPath(req.path)}.`,
          });
        }
        if (endpoint.method !== req.method) {
          throw new MethodNotAllowedError({
            code: 'method_not_allowed',
            message: `Use ${endpoint.method} for ${req.path}.`,
          });
        }
        if (endpoint.op === 'health') {
          scope.finish(200);
          return json(200, requestId, { status: 'ok' });
        }
        const principal = await authenticate(deps.keys, req.headers);
        scope.summary.keyId = principal.keyId;
        if (endpoint.op === 'models') return await models(scope, principal);
        const account = new RequestAccount(accounts, principal, uuidv7(), deps.clock.epochMs());
        scope.account = account;
        return await proxy(scope, endpoint.op === 'chat' ? 'chat' : 'embeddings', principal, account);
      } catch (err) {
        if (err instanceof ClientGoneReason) {
          scope.finish(499);
          return json(499, requestId, {});
        }
        const e = toSwitchyardError(err);
        if (e.status === 500)
          deps.logger.log('error', 'internal error', {
            requestId,
            error: String(err),
            stack: err instanceof Error ? err.stack : undefined,
          });
        scope.finish(e.status, e);
        return errorResponse(e, requestId);
      }
    },
  };
}
