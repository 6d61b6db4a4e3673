/**
 * One request's envelope: its summary, filled as it goes and emitted once (the log line, the metrics, the
 * ledger record) when it ends, and the plain JSON answers the gateway writes itself.
 */
import type { EndpointSpec } from '../endpoints/spec.ts';
import { errorHeaders, type SwitchyardError, toErrorBody } from '../errors.ts';
import type { GatewayRequest, GatewayResponse } from '../http.ts';
import type { Clock, Logger, Metrics, RequestSummary } from '../ports.ts';
import type { RequestAccount } from './accounting.ts';
import { ExecStats } from './execute.ts';

export const JSON_TYPE = 'application/json';
const encoder = new TextEncoder();

export interface ScopeDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** A path as it may be echoed or logged: anything from outside is cut short first. */
export const MAX_ECHOED_PATH = 256;
export const echoedPath = (path: string): string =>
  path.length <= MAX_ECHOED_PATH ? path : `${path.slice(0, MAX_ECHOED_PATH)}…`;

/** Milliseconds to 0.01: log lines stay short, metrics keep enough precision. */
export const round = (ms: number): number => Math.round(ms * 100) / 100;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The request's record, filled as it goes and emitted once (log line + metrics) when it ends. */
export class RequestScope {
  readonly summary: Mutable<Partial<RequestSummary>> = {};
  readonly stats = new ExecStats();
  /** Set once the client key is known on a chat/embeddings request: that request goes into the ledger. */
  account: RequestAccount | undefined;
  constructor(
    readonly requestId: string,
    readonly start: number,
    private readonly deps: ScopeDeps,
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
      ...(s.lastTarget ? { lastTarget: true } : {}),
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

export function json(
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

/** An error answer in the shape of the client's API (OpenAI's by default), with the table's headers. */
export function errorResponse(err: SwitchyardError, requestId: string, spec?: EndpointSpec): GatewayResponse {
  const extra = { ...errorHeaders(err), ...spec?.headers?.(requestId) };
  if (err.status === 413) extra.connection = 'close'; // do not drain a huge body we refused
  return json(
    err.status,
    requestId,
    spec === undefined ? toErrorBody(err) : spec.errorBody(err, requestId),
    extra,
  );
}
