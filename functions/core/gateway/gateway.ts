/**
 * The core's one entry: `createGateway(deps).handle(request)`. It routes a request to its endpoint spec (or
 * to one of the gateway's own GET endpoints) and owns the per-request envelope: request id, auth, the log
 * line, metrics and ledger record, and errors in the shape of the client's API. The proxied request path is
 * pipeline.ts, over the spec.
 */
import {
  ADMIN_PREFIX,
  type AdminDeps,
  type AdminRoute,
  adminAnswer,
  adminRouteOf,
  requireAdmin,
} from '../admin/api.ts';
import type { ReconcileNow } from '../admin/reconcile-now.ts';
import type { RouteSink } from '../admin/routes.ts';
import { authenticate } from '../auth.ts';
import type { ReportStore } from '../billing/reconcile.ts';
import type { TargetConfig } from '../config/schema.ts';
import { CONSOLE_PATHS, consoleResponse } from '../console/serve.ts';
import type { ConsoleAsset } from '../console/types.ts';
import { messagesSpec } from '../endpoints/messages/spec.ts';
import { ENDPOINT_SPECS } from '../endpoints/registry.ts';
import type { EndpointSpec } from '../endpoints/spec.ts';
import {
  MethodNotAllowedError,
  NotFoundError,
  ServerShuttingDownError,
  toSwitchyardError,
} from '../errors.ts';
import { type GatewayRequest, type GatewayResponse, header } from '../http.ts';
import type { ClientKeyRepo, LimitStore } from '../keys/types.ts';
import type { KeyStore, Logger, Metrics, Principal, RouteStore } from '../ports.ts';
import { requestIdFrom, uuidv7 } from '../request-id.ts';
import { HealthBoard, targetId } from '../routing/health.ts';
import { NO_SECRETS } from '../secrets.ts';
import type { ResponseStorage } from '../stores/response-store.ts';
import { ClientGoneReason } from '../upstream/reasons.ts';
import type { UsageReader } from '../usage/types.ts';
import { type AccountingDeps, RequestAccount, takeRateToken } from './accounting.ts';
import { countTokens } from './count-tokens.ts';
import { type ExecuteDeps, ProviderState } from './execute.ts';
import { type PipelineDeps, proxy } from './pipeline.ts';
import { dueProbes, PROBE_PRINCIPAL, PROBE_READ_CAP_MS, type ProbeResult, probeRequest } from './probes.ts';
import { echoedPath, errorResponse, json, RequestScope } from './scope.ts';
import { storedResponse } from './stored-responses.ts';

export interface GatewayDeps extends ExecuteDeps, AccountingDeps {
  readonly routes: RouteStore;
  readonly keys: KeyStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * Stored Responses: `store` keeps each response, `previous_response_id` continues it on any target, and
   * `GET`/`DELETE /v1/responses/{id}` read and remove it. Without it nothing is kept.
   */
  readonly responses?: ResponseStorage;
  /** Largest accepted request body; default 6 MiB, Lambda's own payload limit. */
  readonly maxBodyBytes?: number;
  /** The client keys, for the admin API's key list (`/admin/v1/keys`); without it that path is a 404. */
  readonly adminKeys?: ClientKeyRepo;
  /** The keys' spend, for the admin API's key list; without it each key's `spentUsd` is null. */
  readonly adminLimits?: Pick<LimitStore, 'spent'>;
  /** The ledger, for the admin API's request pages (`/admin/v1/requests`); without it they are 404s. */
  readonly adminUsage?: UsageReader;
  /** Where the admin API saves routes (`PUT /admin/v1/routes`, as `routes sync`); without it that is a 404. */
  readonly adminRoutes?: RouteSink;
  /** The reconciliation reports, for the admin API's billing page; without it that is a 404. */
  readonly adminReports?: Pick<ReportStore, 'list'>;
  /** Runs a reconciliation for the admin API's billing page (`POST /admin/v1/billing/reconcile`); else a 404. */
  readonly adminReconcile?: ReconcileNow;
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
  /**
   * Runs the active health probes that are due (./probes.ts) — the local host on a timer, the Lambda host on
   * its schedule — and resolves with their outcomes once every one has answered.
   */
  probe(): Promise<ProbeResult[]>;
}

export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

/** The gateway's own endpoints, by path: their method, and whose error shape they answer in. */
type OwnEndpoint = 'health' | 'models' | 'count_tokens';
const OWN_ENDPOINTS: ReadonlyMap<string, { readonly kind: OwnEndpoint; readonly method: string }> = new Map([
  ['/health', { kind: 'health', method: 'GET' }],
  ['/v1/models', { kind: 'models', method: 'GET' }],
  ['/v1/messages/count_tokens', { kind: 'count_tokens', method: 'POST' }],
] as const);

/** `GET` / `DELETE /v1/responses/{id}`: a stored response. */
const STORED_RESPONSE = '/v1/responses/';

/** What a request asks for: a proxied endpoint (its spec), one of the gateway's own, or a stored response. */
type Endpoint =
  | { readonly kind: 'proxy'; readonly spec: EndpointSpec }
  | { readonly kind: OwnEndpoint }
  | { readonly kind: 'stored'; readonly id: string }
  | { readonly kind: 'admin'; readonly route: AdminRoute }
  | { readonly kind: 'console'; readonly asset: ConsoleAsset };

/** Whose error shape a path's errors take: its spec's (Anthropic's for count_tokens); else OpenAI's. */
function errorShapeOf(path: string): EndpointSpec | undefined {
  return (
    ENDPOINT_SPECS.get(path) ?? (OWN_ENDPOINTS.get(path)?.kind === 'count_tokens' ? messagesSpec : undefined)
  );
}

export function createGateway(deps: GatewayDeps): Gateway {
  const accounts = deps;
  const inflight = new Set<AbortController>();
  let stopping = false;
  const shuttingDown = () =>
    new ServerShuttingDownError({
      code: 'server_shutting_down',
      message: 'The gateway is shutting down; retry the request.',
    });
  const pipeline: PipelineDeps = {
    ...deps,
    secrets: deps.secrets ?? NO_SECRETS,
    maxBody: deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    state: new ProviderState(),
    // Without a host's board (one shared through the store), breakers are this instance's own.
    health:
      deps.health ??
      new HealthBoard({
        clock: deps.clock,
        logger: deps.logger,
        onTransition: (e) => deps.metrics.breaker?.(e),
      }),
    inflight,
    stopping: () => stopping,
    shuttingDown,
  };

  async function models(scope: RequestScope, principal: Principal): Promise<GatewayResponse> {
    const config = await deps.routes.load();
    const data = Object.keys(config.routes)
      .filter((id) => principal.allowedModels === undefined || principal.allowedModels.has(id))
      .map((id) => ({ id, object: 'model', created: 0, owned_by: 'switchyard' }));
    scope.finish(200);
    return json(200, scope.requestId, { object: 'list', data });
  }

  /** The endpoint of a request, or the 404 / 405 of the error table. */
  function endpointOf(req: GatewayRequest): Endpoint {
    const spec = ENDPOINT_SPECS.get(req.path);
    const own = OWN_ENDPOINTS.get(req.path);
    let endpoint: Endpoint | undefined;
    let methods: readonly string[] = ['POST'];
    if (spec !== undefined) endpoint = { kind: 'proxy', spec };
    else if (own !== undefined) {
      endpoint = { kind: own.kind };
      methods = [own.method];
    } else if (req.path.startsWith(STORED_RESPONSE) && !req.path.includes('/', STORED_RESPONSE.length)) {
      endpoint = { kind: 'stored', id: req.path.slice(STORED_RESPONSE.length) };
      methods = ['GET', 'DELETE'];
    } else if (CONSOLE_PATHS.has(req.path)) {
      endpoint = { kind: 'console', asset: CONSOLE_PATHS.get(req.path) as ConsoleAsset };
      methods = ['GET'];
    } else if (req.path.startsWith(ADMIN_PREFIX)) {
      const route = adminRouteOf(req.path.slice(ADMIN_PREFIX.length));
      if (route !== undefined) {
        endpoint = { kind: 'admin', route };
        methods = route.methods;
      }
    }
    if (endpoint === undefined) {
      throw new NotFoundError({
        code: 'unknown_url',
        message: `Unknown request URL: ${echoedPath(req.method)} ${echoedPath(req.path)}.`,
      });
    }
    if (!methods.includes(req.method)) {
      throw new MethodNotAllowedError({
        code: 'method_not_allowed',
        message: `Use ${methods.join(' or ')} for ${echoedPath(req.path)}.`,
      });
    }
    return endpoint;
  }

  const admin: AdminDeps = {
    board: pipeline.health as HealthBoard,
    ...(deps.adminKeys === undefined ? {} : { keys: deps.adminKeys }),
    ...(deps.adminLimits === undefined ? {} : { limits: deps.adminLimits }),
    loadConfig: () => deps.routes.load(),
    ...(deps.adminUsage === undefined ? {} : { usage: deps.adminUsage }),
    ...(deps.adminRoutes === undefined ? {} : { routes: deps.adminRoutes }),
    ...(deps.adminReports === undefined ? {} : { reports: deps.adminReports }),
    ...(deps.adminReconcile === undefined ? {} : { reconcileNow: deps.adminReconcile }),
    nowMs: () => deps.clock.epochMs(),
  };

  /** When this instance last probed each target (epoch ms). */
  const probedAt = new Map<string, number>();

  return {
    shutdown() {
      stopping = true;
      for (const c of inflight) c.abort(shuttingDown());
    },
    handle: (req) => serve(req),
    async probe() {
      if (stopping) return [];
      const config = await deps.routes.load();
      const board = pipeline.health as HealthBoard;
      // The fleet's view first (a scheduled Lambda instance may have served none of these targets).
      const ids = [...new Set(Object.values(config.routes).flatMap((r) => r.targets.map(targetId)))];
      await board.ready(ids, PROBE_READ_CAP_MS, true);
      const now = deps.clock.epochMs();
      const due = dueProbes(config, board, probedAt, now);
      for (const p of due) probedAt.set(p.id, now);
      return Promise.all(
        due.map(async (p): Promise<ProbeResult> => {
          const requestId = uuidv7();
          const res = await serve(probeRequest(p.route, requestId), p.target);
          if (typeof res.body !== 'string' && !(res.body instanceof Uint8Array))
            for await (const _ of res.body);
          return { route: p.route, target: p.id, status: res.status, requestId };
        }),
      );
    },
  };

  /** One request; `pin` (a health probe) authenticates it as the probe and sends it to that target. */
  async function serve(req: GatewayRequest, pin?: TargetConfig): Promise<GatewayResponse> {
    const requestId = requestIdFrom(header(req.headers, 'x-request-id'));
    const scope = new RequestScope(requestId, deps.clock.now(), deps, req);
    // Errors are answered in the shape of the client's API (a 405 on /v1/messages in Anthropic's).
    const shape = errorShapeOf(req.path);
    try {
      if (stopping) throw shuttingDown();
      const endpoint = endpointOf(req);
      if (endpoint.kind === 'health') {
        scope.finish(200);
        return json(200, requestId, { status: 'ok' });
      }
      if (endpoint.kind === 'console') {
        const res = consoleResponse(req, endpoint.asset, requestId);
        scope.finish(res.status);
        return res;
      }
      // The client API of a proxied request (its log line, metrics and ledger record say it).
      if (endpoint.kind === 'proxy') scope.summary.endpoint = endpoint.spec.id;
      const principal = pin === undefined ? await authenticate(deps.keys, req.headers) : PROBE_PRINCIPAL;
      scope.summary.keyId = principal.keyId;
      switch (endpoint.kind) {
        case 'models':
          return await models(scope, principal);
        case 'count_tokens':
          return await countTokens(pipeline, scope, principal, () =>
            takeRateToken(accounts, principal, deps.clock.epochMs(), uuidv7()),
          );
        case 'stored':
          return await storedResponse(deps.responses?.store, scope, principal, endpoint.id);
        case 'admin': {
          requireAdmin(principal);
          const { status, value } = await adminAnswer(admin, endpoint.route, req);
          scope.finish(status);
          // Keys, spend, a new key once: nothing of it kept by a cache or the browser.
          return json(status, requestId, value, { 'cache-control': 'no-store' });
        }
        case 'proxy': {
          const account = new RequestAccount(accounts, principal, uuidv7(), deps.clock.epochMs());
          scope.account = account;
          return await proxy(pipeline, scope, endpoint.spec, principal, account, pin);
        }
      }
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
      return errorResponse(e, requestId, shape);
    }
  }
}
