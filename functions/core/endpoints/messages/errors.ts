/**
 * The gateway's error table (DESIGN.md, errors.ts) written in Anthropic's shape for `/v1/messages` clients:
 * `{"type":"error","error":{"type","message"},"request_id"}` (https://docs.anthropic.com/en/api/errors). The
 * status stays the gateway's own; only the body's words change, so the Anthropic SDK raises the error class
 * of that status (AuthenticationError for 401, RateLimitError for 429, …) with the gateway's message.
 */
import type { SwitchyardError } from '../../errors.ts';

/** The error types Anthropic documents (errors doc, "HTTP errors"). */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error';

/**
 * Gateway status → Anthropic error type: one row per status of the gateway's table, each with its reason.
 * "doc" is https://docs.anthropic.com/en/api/errors#http-errors.
 */
export const ANTHROPIC_ERROR_TYPES: ReadonlyMap<number, AnthropicErrorType> = new Map<
  number,
  AnthropicErrorType
>([
  // doc: 400 invalid_request_error — "an issue with the format or content of your request"
  [400, 'invalid_request_error'],
  // doc: 401 authentication_error — "an issue with your API key" (no or unknown client key)
  [401, 'authentication_error'],
  // doc: 402 billing_error — "an issue with your billing or payment information" (a key over its budget)
  [402, 'billing_error'],
  // doc: 403 permission_error — "your API key does not have permission" (a model the key may not use)
  [403, 'permission_error'],
  // doc: 404 not_found_error — "the requested resource was not found" (no route for the model)
  [404, 'not_found_error'],
  // doc: 413 request_too_large — "request exceeds the maximum allowed number of bytes"
  [413, 'request_too_large'],
  // doc: 429 rate_limit_error — the key's rate limit, or every target rate-limited
  [429, 'rate_limit_error'],
  // doc: 500 api_error — "an unexpected error has occurred internal to Anthropic's systems" (ours)
  [500, 'api_error'],
  // 502 (every target failed) has no row in the doc: api_error, its 5xx catch-all
  [502, 'api_error'],
  // 503 (the gateway is stopping) is a temporary lack of capacity: overloaded_error, as the doc's 529
  [503, 'overloaded_error'],
  // doc: 504 timeout_error — "the request timed out while processing"
  [504, 'timeout_error'],
  // doc: 529 overloaded_error — "the API is temporarily overloaded"
  [529, 'overloaded_error'],
]);

/**
 * The type of a status: the table's row, else the doc's catch-alls — invalid_request_error "may also be used
 * for other 4XX status codes" (405…), api_error for any other 5xx.
 */
export function anthropicErrorType(status: number): AnthropicErrorType {
  return ANTHROPIC_ERROR_TYPES.get(status) ?? (status < 500 ? 'invalid_request_error' : 'api_error');
}

export interface AnthropicErrorBody {
  readonly type: 'error';
  readonly error: { readonly type: AnthropicErrorType; readonly message: string };
  /** Anthropic's bodies carry the request's id; the gateway's is the same one it sends as `request-id`. */
  readonly request_id?: string;
}

/** A gateway error as Anthropic's error body. */
export function anthropicErrorBody(err: SwitchyardError, requestId?: string): AnthropicErrorBody {
  return {
    type: 'error',
    error: { type: anthropicErrorType(err.status), message: err.message },
    ...(requestId === undefined ? {} : { request_id: requestId }),
  };
}

/**
 * A failure after the stream started, as Anthropic ends a stream: `event: error` with the error body
 * (https://docs.anthropic.com/en/docs/build-with-claude/streaming#error-events). The SDK raises it as an
 * APIError of that type.
 */
export function anthropicErrorEvent(err: SwitchyardError, requestId?: string): string {
  return `event: error\ndata: ${JSON.stringify(anthropicErrorBody(err, requestId))}\n\n`;
}
