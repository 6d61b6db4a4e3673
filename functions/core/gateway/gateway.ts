/**
 * The core's one entry: `createGateway(deps).handle(request)`. It routes a request to its endpoint spec (or
 * to one of the gateway's own GET endpoints) and owns the per-request envelope: request id, auth, the log
 * line, metrics and ledger record, and errors in the shape of the client's API. The proxied request path is
 * pipeline.ts, over the spec.
 */
import { authenticate } from '../auth.ts';
import { ENDPOINT_SPECS } from '../endpoints/registry.ts';
import type { EndpointSpec } from '../endpoints/spec.ts';
import {
  MethodNotAllowedError,
  NotFoundError,
  ServerShuttingDownError,
  toSwitchyardError,
} from '../errors.ts';
import { type GatewayRequest, type GatewayResponse, header } from '../http.ts';
import type { KeyStore, Logger, Metrics, Principal, RouteStore } from '../ports.ts';
import { requestIdFrom, uuidv7 } from '../request-id.ts';
import { NO_SECRETS } from '../secrets.ts';
import { ClientGoneReason } from '../upstream/reasons.ts';
import { type AccountingDeps, accountDeps, RequestAccount } from './accounting.ts';
import { type ExecuteDeps, ProviderState } from './execute.ts';
import { type PipelineDeps, proxy } from './pipeline.ts';
import { echoedPath, errorResponse, json, RequestScope } from './scope.ts';

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

/** The gateway's own endpoints (no upstream). */
const OWN_ENDPOINTS: ReadonlyMap<string, 'health' | 'models'> = new Map([
  ['/health', 'health'],
  ['/v1/models', 'models'],
]);

export function createGateway(deps: GatewayDeps): Gateway {
  const accounts = accountDeps(deps);
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

  /** The spec or own endpoint of a request, or the 404 / 405 of the error table. */
  function endpointOf(req: GatewayRequest): EndpointSpec | 'health' | 'models' {
    const spec = ENDPOINT_SPECS.get(req.path);
    const own = OWN_ENDPOINTS.get(req.path);
    if (spec === undefined && own === undefined) {
      throw new NotFoundError({
        code: 'unknown_url',
        message: `Unknown request URL: ${echoedPath(req.method)} ${echoedPath(req.path)}.`,
      });
    }
    const method = spec === undefined ? 'GET' : 'POST';
    if (req.method !== method) {
      throw new MethodNotAllowedError({
        code: 'method_not_allowed',
        message: `Use ${method} for ${req.path}.`,
      });
    }
    return spec ?? (own as 'health' | 'models');
  }

  return {
    shutdown() {
      stopping = true;
      for (const c of inflight) c.abort(shuttingDown());
    },
    async handle(req) {
      const requestId = requestIdFrom(header(req.headers, 'x-request-id'));
      const scope = new RequestScope(requestId, deps.clock.now(), deps, req);
      // Errors are answered in the shape of the client's API once its endpoint is known.
      let spec: EndpointSpec | undefined;
      try {
        if (stopping) throw shuttingDown();
        const endpoint = endpointOf(req);
        if (endpoint === 'health') {
          scope.finish(200);
          return json(200, requestId, { status: 'ok' });
        }
        if (endpoint !== 'models') spec = endpoint;
        if (spec !== undefined) scope.summary.endpoint = spec.id;
        const principal = await authenticate(deps.keys, req.headers);
        scope.summary.keyId = principal.keyId;
        if (endpoint === 'models') return await models(scope, principal);
        const account = new RequestAccount(accounts, principal, uuidv7(), deps.clock.epochMs());
        scope.account = account;
        return await proxy(pipeline, scope, endpoint, principal, account);
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
        return errorResponse(e, requestId, spec);
      }
    },
  };
}
