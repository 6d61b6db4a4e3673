/**
 * The one error tree of Switchyard. Every failure the client can see is one of these classes, and
 * {@link toErrorBody} is the only place that turns one into the OpenAI-shaped body (DESIGN.md error table).
 */

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'insufficient_quota'
  | 'rate_limit_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'server_error';

export interface ErrorInit {
  readonly code: string;
  readonly message: string;
  readonly param?: string | null;
  readonly cause?: unknown;
  /** Seconds the client should wait before retrying (sent as `Retry-After`). */
  readonly retryAfterSeconds?: number;
}

/** Base class: status, type and code fix the row of the error table. */
export abstract class SwitchyardError extends Error {
  abstract readonly status: number;
  abstract readonly type: ErrorType;
  /** False when repeating the same request cannot succeed: the host sends `x-should-retry: false`. */
  abstract readonly shouldRetry: boolean;
  readonly code: string;
  readonly param: string | null;
  readonly retryAfterSeconds: number | undefined;

  constructor(init: ErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.param = init.param ?? null;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

export class InvalidRequestError extends SwitchyardError {
  readonly status = 400;
  readonly type = 'invalid_request_error';
  readonly shouldRetry = false;
}
export class RequestTooLargeError extends SwitchyardError {
  readonly status = 413;
  readonly type = 'invalid_request_error';
  readonly shouldRetry = false;
}
export class AuthenticationError extends SwitchyardError {
  readonly status = 401;
  readonly type = 'authentication_error';
  readonly shouldRetry = false;
}
export class PermissionDeniedError extends SwitchyardError {
  readonly status = 403;
  readonly type = 'permission_error';
  readonly shouldRetry = false;
}
export class NotFoundError extends SwitchyardError {
  readonly status = 404;
  readonly type = 'invalid_request_error';
  readonly shouldRetry = false;
}
export class MethodNotAllowedError extends SwitchyardError {
  readonly status = 405;
  readonly type = 'invalid_request_error';
  readonly shouldRetry = false;
}
/**
 * The request collides with work already in progress (a reconciliation run of the admin API still running on
 * this instance). Not retried by the SDK: the running work is what the repeat would start again.
 */
export class ConflictError extends SwitchyardError {
  readonly status = 409;
  readonly type = 'invalid_request_error';
  readonly shouldRetry = false;
}
export class BudgetExceededError extends SwitchyardError {
  readonly status = 402;
  readonly type = 'insufficient_quota';
  readonly shouldRetry = false;
}
export class RateLimitError extends SwitchyardError {
  readonly status = 429;
  readonly type = 'rate_limit_error';
  readonly shouldRetry = true;
}
/** Every target failed. Auth and balance failures will not heal by themselves, so the SDK must not retry. */
export class UpstreamError extends SwitchyardError {
  readonly status = 502;
  readonly type = 'upstream_error';
  get shouldRetry(): boolean {
    return (
      this.code === 'upstream_server_error' ||
      this.code === 'upstream_unreachable' ||
      this.code === 'upstream_unavailable'
    );
  }
}
export class UpstreamTimeoutError extends SwitchyardError {
  readonly status = 504;
  readonly type = 'timeout_error';
  readonly shouldRetry = true;
}
/**
 * The host is stopping and its grace is over: the request (or the rest of its stream) is ended so its record
 * is written before the process exits. Another instance, or this one restarted, can serve it again.
 */
export class ServerShuttingDownError extends SwitchyardError {
  readonly status = 503;
  readonly type = 'server_error';
  readonly shouldRetry = true;
}
/** A bug of ours: never shows internals to the client. */
export class InternalError extends SwitchyardError {
  readonly status = 500;
  readonly type = 'server_error';
  readonly shouldRetry = true;
}

export interface ErrorBody {
  error: { message: string; type: ErrorType; code: string; param: string | null };
}

/** The single translation point from any thrown value to the OpenAI error body. */
export function toSwitchyardError(err: unknown): SwitchyardError {
  if (err instanceof SwitchyardError) return err;
  return new InternalError({ code: 'internal_error', message: 'Internal gateway error', cause: err });
}

export function toErrorBody(err: SwitchyardError): ErrorBody {
  return { error: { message: err.message, type: err.type, code: err.code, param: err.param } };
}

/** Headers that go with an error response besides content-type and the request id. */
export function errorHeaders(err: SwitchyardError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!err.shouldRetry) headers['x-should-retry'] = 'false';
  if (err.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
  return headers;
}
