/**
 * Anthropic error bodies: `{"type":"error","error":{"type","message"},"request_id"}` (errors doc:
 * https://docs.anthropic.com/en/api/errors), as an error status or as a mid-stream `event: error`.
 */
import { own } from '../../json.ts';
import { type FailureKind, failureKindOf } from '../../routing/failure.ts';
import { isRecord } from '../messages.ts';
import { type ProviderErrorInfo, unstructuredError } from '../types.ts';

/**
 * Error types whose meaning the HTTP status alone does not carry. The others follow their status
 * (invalid_request_error 400, authentication_error 401, permission_error 403, not_found_error 404,
 * request_too_large 413, rate_limit_error 429, api_error 500, timeout_error 504, overloaded_error 529).
 */
const KIND_OF_TYPE: ReadonlyMap<string, FailureKind> = new Map<string, FailureKind>([
  // 402 billing_error: a payment or billing problem on the account (errors doc, ErrorType list)
  ['billing_error', 'balance'],
  ['authentication_error', 'auth'],
  ['permission_error', 'auth'],
]);

/**
 * Messages of a 400 invalid_request_error that mean the account has no money (the API says so in text
 * only): "Your credit balance is too low to access the Anthropic API…", and a workspace's spend limit
 * "You have reached your specified API usage limits. You will regain access on …".
 */
const BALANCE_MESSAGE = /credit balance is too low|reached your specified API usage limits/i;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function parseAnthropicError(status: number, text: string): ProviderErrorInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // e.g. the 413 that Cloudflare answers before the API sees the request
    return unstructuredError(status, text);
  }
  const err = isRecord(json) ? json.error : undefined;
  if (!isRecord(err)) return { message: `HTTP ${status}` };
  const message = str(err.message) ?? `HTTP ${status}`;
  const type = str(err.type);
  const details = isRecord(err.details) ? err.details : undefined;
  let kind = type === undefined ? undefined : KIND_OF_TYPE.get(type);
  // A monthly spend limit is a 429 rate_limit_error that no wait within a request's life will clear.
  if (details?.error_code === 'enforced_spend_limit_reached') kind = 'balance';
  if (kind === undefined && BALANCE_MESSAGE.test(message)) kind = 'balance';
  return {
    message,
    ...(type === undefined ? {} : { code: type, type }),
    ...(kind === undefined ? {} : { kind }),
  };
}

/** Each error type's status, from the errors doc: a stream's `event: error` carries only the type. */
const STATUS_OF_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** What a stream's `event: error` means for the attempt: the same reading as for that error as a status. */
export function anthropicStreamErrorKind(error: Record<string, unknown>): FailureKind {
  const status = (typeof error.type === 'string' ? own(STATUS_OF_TYPE, error.type) : undefined) ?? 500;
  return failureKindOf(status, parseAnthropicError(status, JSON.stringify({ type: 'error', error })));
}
