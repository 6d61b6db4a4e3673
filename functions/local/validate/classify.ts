/**
 * Every error a check sees, as a row of Switchyard's error table (README "Errors"): the relay's own status,
 * type and code are kept beside it, so a reader sees both what the relay said and what it means. One function,
 * used by every check, so two checks never disagree about what a 403 or a 200-with-an-error-body is.
 */
import { redactSecrets } from '../../core/bytes.ts';
import { isRecord } from '../../core/json.ts';
import { parseRetryAfter } from '../../core/routing/retry.ts';
import type { HttpOutcome } from './client.ts';

export type ErrorType =
  | 'authentication_error'
  | 'permission_error'
  | 'invalid_request_error'
  | 'insufficient_quota'
  | 'rate_limit_error'
  | 'upstream_error'
  | 'timeout_error';

/** One classified error: Switchyard's `type`/`code`, with what the relay sent. */
export interface ErrorClass {
  readonly type: ErrorType;
  readonly code: string;
  /** The relay's HTTP status (null: no answer). */
  readonly status: number | null;
  /** `{"error":{"message": string, "type": string, …}}`, as OpenAI sends its errors. */
  readonly openaiShaped: boolean;
  /** The relay's own error fields (its message redacted and cut short). */
  readonly relay: { readonly type?: string; readonly code?: string; readonly message?: string };
  /** The 429's `Retry-After` / `retry-after-ms` in ms (undefined: none or unreadable). */
  readonly retryAfterMs?: number;
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;

/** At most `max` characters of a body, credentials masked: what evidence may quote. */
export function excerpt(text: string, max = 200): string {
  const clean = redactSecrets(text).replace(/\s+/g, ' ').trim();
  return clean.length <= max ? clean : `${clean.slice(0, max)}…`;
}

/** The relay's error object: `{"error":{…}}`, `{"error":"…"}`, a stream's error event, or plain text. */
function relayError(outcome: HttpOutcome, streamError: unknown): ErrorClass['relay'] & { shaped: boolean } {
  const json = outcome.json;
  const err = streamError ?? (isRecord(json) ? json.error : undefined);
  if (isRecord(err)) {
    const type = str(err.type);
    const code = str(err.code);
    const message = str(err.message);
    const shaped = typeof err.message === 'string' && typeof err.type === 'string';
    return {
      shaped,
      ...(type === undefined ? {} : { type }),
      ...(code === undefined ? {} : { code }),
      ...(message === undefined ? {} : { message: excerpt(message) }),
    };
  }
  if (typeof err === 'string') return { shaped: false, message: excerpt(err) };
  return outcome.text === '' ? { shaped: false } : { shaped: false, message: excerpt(outcome.text) };
}

const UNKNOWN_URL = /invalid url|unknown url|page not found|no route|cannot (post|get) \//i;
const NEGATION = /\b(not|no such|unknown|invalid|unsupported|unavailable|does ?n[o']t)\b/i;

/** The error names the model: a model code, the model's own name, or "model … not found"-like wording. */
function namesModel(relay: ErrorClass['relay'], model: string | undefined): boolean {
  if (/model/i.test(`${relay.code ?? ''} ${relay.type ?? ''}`)) return true;
  const message = relay.message ?? '';
  if (model !== undefined && model !== '' && message.includes(model)) return true;
  return /\bmodels?\b/i.test(message) && NEGATION.test(message);
}

function typeAndCode(
  status: number | null,
  relay: ErrorClass['relay'],
  model: string | undefined,
): [ErrorType, string] {
  const said = `${relay.type ?? ''} ${relay.code ?? ''}`;
  if (status === 401 || /invalid_api_key|authentication/i.test(said)) {
    return ['authentication_error', 'invalid_api_key'];
  }
  if (status === 402 || /insufficient_quota|insufficient_balance/i.test(said)) {
    return ['insufficient_quota', 'insufficient_quota'];
  }
  if (status === 429) return ['rate_limit_error', 'rate_limit_exceeded'];
  if (status === 403) {
    return ['permission_error', namesModel(relay, model) ? 'model_not_allowed' : (relay.code ?? 'forbidden')];
  }
  if (status === 404) {
    // A wrong base URL also answers 404: only a 404 that says so (and does not name the model) is one.
    const url = relay.code === 'unknown_url' || UNKNOWN_URL.test(relay.message ?? '');
    return url && !namesModel(relay, model)
      ? ['invalid_request_error', 'unknown_url']
      : ['invalid_request_error', 'model_not_found'];
  }
  if (status === 408 || status === 504) return ['timeout_error', 'upstream_timeout'];
  if (status !== null && status >= 400 && status < 500) {
    if (namesModel(relay, model)) return ['invalid_request_error', 'model_not_found'];
    return ['invalid_request_error', relay.code ?? 'invalid_request'];
  }
  // 5xx, or a 2xx carrying an error (new-api's 200 + {"error"}, a stream's error event). one-api / new-api
  // answer an unknown model with 503 "当前分组 default 下对于模型 <model> 无可用渠道" (no channel for it).
  if (model !== undefined && model !== '' && (relay.message ?? '').includes(model)) {
    return ['invalid_request_error', 'model_not_found'];
  }
  if (/timeout/i.test(said)) return ['timeout_error', 'upstream_timeout'];
  if (/rate_limit/i.test(said)) return ['rate_limit_error', 'rate_limit_exceeded'];
  return ['upstream_error', 'upstream_server_error'];
}

/**
 * The error row of a call's outcome, or null when the call succeeded (a 2xx without an error body or an
 * error event). `model`: the model the call asked for, so a 400 that names it reads as model_not_found.
 */
export function classifyError(
  outcome: HttpOutcome & { readonly streamError?: unknown },
  opts: { readonly model?: string } = {},
): ErrorClass | null {
  const relay = relayError(outcome, outcome.streamError);
  const { shaped, ...said } = relay;
  if (outcome.timedOut) {
    return {
      type: 'timeout_error',
      code: 'upstream_timeout',
      status: outcome.status,
      openaiShaped: false,
      relay: said,
    };
  }
  if (outcome.status === null) {
    const message = excerpt(outcome.networkError ?? 'no answer');
    return {
      type: 'upstream_error',
      code: 'upstream_unreachable',
      status: null,
      openaiShaped: false,
      relay: { message },
    };
  }
  const ok = outcome.status >= 200 && outcome.status < 300;
  const body = isRecord(outcome.json) ? outcome.json.error : undefined;
  const carriesError = (outcome.streamError ?? null) !== null || isRecord(body) || typeof body === 'string';
  if (ok && !carriesError) return null;
  const [type, code] = typeAndCode(ok ? null : outcome.status, said, opts.model);
  const retryAfterMs =
    outcome.status === 429 ? parseRetryAfter((n) => outcome.headers[n], Date.now()) : undefined;
  return {
    type,
    code,
    status: outcome.status,
    openaiShaped: shaped,
    relay: said,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs: Math.round(retryAfterMs) }),
  };
}
