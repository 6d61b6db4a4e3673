/**
 * Bedrock errors: the transport's body `{"__type": "<ExceptionName>", "message": "…"}` for an error status,
 * and the exception events of ConverseStream, both classified by one table.
 */
import { own } from '../../json.ts';
import { type FailureKind, failureKindOf } from '../../routing/failure.ts';
import { isRecord } from '../messages.ts';
import { type ProviderErrorInfo, unstructuredError } from '../types.ts';

/**
 * Bedrock exception name → what it means for the attempt loop, where the status alone would misclassify it
 * or where the name says more. The names and statuses are the Errors sections of
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html (and ConverseStream's)
 * and https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html.
 */
const ERROR_KINDS: ReadonlyMap<string, { kind: FailureKind; type: string }> = new Map([
  // 429: too many requests or tokens per minute.
  ['ThrottlingException', { kind: 'rate_limited', type: 'rate_limit_error' }],
  // 400 on Bedrock, but a quota (requests/tokens per minute of the account): wait or use another target.
  ['ServiceQuotaExceededException', { kind: 'rate_limited', type: 'rate_limit_error' }],
  // 403: the role may not invoke this model (IAM, or model access not enabled).
  ['AccessDeniedException', { kind: 'auth', type: 'authentication_error' }],
  ['UnrecognizedClientException', { kind: 'auth', type: 'authentication_error' }],
  ['ExpiredTokenException', { kind: 'auth', type: 'authentication_error' }],
  ['InvalidSignatureException', { kind: 'auth', type: 'authentication_error' }],
  // 400: the request itself (also "Input is too long", a guardrail, an unsupported field for this model).
  ['ValidationException', { kind: 'bad_request', type: 'invalid_request_error' }],
  // 404: no such model (or not in this region).
  // The model id is not offered in that region / account: another target may have it.
  ['ResourceNotFoundException', { kind: 'target_refused', type: 'invalid_request_error' }],
  // 429 on Bedrock, but the model is loading: retry, it is not the account's rate limit.
  ['ModelNotReadyException', { kind: 'server', type: 'server_error' }],
  // 408: the model took too long.
  ['ModelTimeoutException', { kind: 'server', type: 'server_error' }],
  // 424: the model failed while answering.
  ['ModelErrorException', { kind: 'server', type: 'server_error' }],
  ['ModelStreamErrorException', { kind: 'server', type: 'server_error' }],
  ['InternalServerException', { kind: 'server', type: 'server_error' }],
  ['ServiceUnavailableException', { kind: 'server', type: 'server_error' }],
]);

/** `com.amazon…#ValidationException` or `ValidationException:http://…` → `ValidationException`. */
function exceptionName(raw: string): string {
  return (raw.split('#').at(-1) ?? raw).split(':')[0] ?? raw;
}

const CONTEXT_TOO_LONG = /too long|context (window|length)|maximum (context|input)|too many (input )?tokens/i;

/** Reads the transport's error body `{"__type": "<ExceptionName>", "message": "…"}`. */
export function parseBedrockError(status: number, text: string): ProviderErrorInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return unstructuredError(status, text);
  }
  if (!isRecord(json)) return { message: `HTTP ${status}` };
  const raw = typeof json.__type === 'string' ? json.__type : typeof json.code === 'string' ? json.code : '';
  const message =
    typeof json.message === 'string' ? json.message : typeof json.Message === 'string' ? json.Message : '';
  const code = raw === '' ? undefined : exceptionName(raw);
  const info = { message: message || code || `HTTP ${status}` };
  if (code === undefined) return info;
  const known = ERROR_KINDS.get(code);
  // OpenAI's code for it, which clients test for.
  if (code === 'ValidationException' && CONTEXT_TOO_LONG.test(message)) {
    return { ...info, code: 'context_length_exceeded', type: 'invalid_request_error', param: 'messages' };
  }
  return known === undefined ? { ...info, code } : { ...info, code, type: known.type, kind: known.kind };
}

/**
 * A ConverseStream exception event (`throttlingException`, `modelStreamErrorException`, …) → what it means for
 * the attempt, by the same table as an error status (the statuses are the API reference's).
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html
 */
const STREAM_EXCEPTION_STATUS: Readonly<Record<string, number>> = {
  ThrottlingException: 429,
  ValidationException: 400,
  ModelStreamErrorException: 424,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
};

export function bedrockStreamErrorKind(eventKey: string, message: string): FailureKind {
  const name = eventKey.charAt(0).toUpperCase() + eventKey.slice(1);
  const status = own(STREAM_EXCEPTION_STATUS, name) ?? 500;
  return failureKindOf(status, parseBedrockError(status, JSON.stringify({ __type: name, message })));
}
