/**
 * What went wrong on one upstream attempt, and what follows from it. Pure data and pure functions: the
 * attempt loop asks these, and the final client error is chosen in one place ({@link finalError}).
 */
import {
  InvalidRequestError,
  RateLimitError,
  type SwitchyardError,
  UpstreamError,
  UpstreamTimeoutError,
} from '../errors.ts';

export type FailureKind =
  /** Connection refused/reset/DNS before any response. The next base URL of the provider is tried first. */
  | 'unreachable'
  /** First byte did not arrive in time, or the deadline passed. */
  | 'timeout'
  /** 408, 409, 5xx. */
  | 'server'
  /** 429 that is a rate limit. */
  | 'rate_limited'
  /** 401/403 from the provider: our key for it is wrong. */
  | 'auth'
  /** 402, or 429 insufficient_quota: the provider account has no money. */
  | 'balance'
  /** The provider says the request itself is bad: repeating it anywhere gives the same answer. */
  | 'bad_request'
  /**
   * This target cannot serve it though the request is fine (404: the provider lacks the model; Gemini's
   * FAILED_PRECONDITION: not offered in the region): the next target may. A 400 with the code when last.
   */
  | 'target_refused'
  /**
   * This target's provider cannot honour a field of the request (Anthropic has no `n`): nothing was sent; the
   * next target (perhaps another provider type) may. A 400 naming the field when no target can.
   */
  | 'unsupported'
  /**
   * A non-stream answer larger than the gateway's bound (`maxResponseBytes`): never held in memory whole. Not
   * retried on the same target (it would answer the same); the next target may answer smaller.
   */
  | 'too_large';

export interface AttemptFailure {
  readonly kind: FailureKind;
  /**
   * What the client may read. The upstream's own text only for a request the upstream refused (a 4xx with a
   * JSON error body: context length, a bad parameter), secrets masked; otherwise the gateway's own summary
   * naming the provider and the status — never a 5xx body, an HTML page or an auth failure's text.
   */
  readonly message: string;
  /** The upstream's text (secrets masked, truncated) for the log line only. */
  readonly detail?: string;
  readonly status?: number;
  /** The provider's error code, kept for bad requests (e.g. context_length_exceeded). */
  readonly code?: string;
  readonly param?: string | null;
  readonly retryAfterMs?: number;
  /** Of a provider with several base URLs: the index of the one that failed (its breaker counts it). */
  readonly urlIndex?: number;
}

/**
 * OpenAI's error types and codes (what OpenAI-compatible relays put in a `{"error": …}` body or stream event)
 * → what they mean for the attempt; anything else is a server-side failure (retried, then failed over).
 * https://platform.openai.com/docs/guides/error-codes
 */
const OPENAI_ERROR_KINDS: ReadonlyMap<string, FailureKind> = new Map<string, FailureKind>([
  ['rate_limit_exceeded', 'rate_limited'],
  ['rate_limit_error', 'rate_limited'],
  ['invalid_api_key', 'auth'],
  ['authentication_error', 'auth'],
  ['insufficient_quota', 'balance'],
  ['invalid_request_error', 'bad_request'],
  ['model_not_found', 'target_refused'],
]);

const FAILURE_KINDS: ReadonlySet<string> = new Set<FailureKind>([
  'unreachable',
  'timeout',
  'server',
  'rate_limited',
  'auth',
  'balance',
  'bad_request',
  'target_refused',
]);

/**
 * What an OpenAI-shaped error object that came without an error status means (a stream's error event, a 200
 * whose body is `{"error": …}`): the kind a native translator wrote into it (`kind`, from its adapter's own
 * error table), else OpenAI's code or type, else a server failure.
 */
export function kindOfErrorObject(e: { readonly [k: string]: unknown }): FailureKind {
  if (typeof e.kind === 'string' && FAILURE_KINDS.has(e.kind)) return e.kind as FailureKind;
  const code = typeof e.code === 'string' ? e.code : '';
  const type = typeof e.type === 'string' ? e.type : '';
  return OPENAI_ERROR_KINDS.get(code) ?? OPENAI_ERROR_KINDS.get(type) ?? 'server';
}

/** Internal carrier of an {@link AttemptFailure} through promise rejections. */
export class AttemptError extends Error {
  constructor(
    readonly failure: AttemptFailure,
    cause?: unknown,
  ) {
    super(failure.message, cause === undefined ? undefined : { cause });
    this.name = 'AttemptError';
  }
}

/** The provider's own 4xx, its code kept (context_length_exceeded, model_not_found…). */
function refusal(f: AttemptFailure): SwitchyardError {
  return new InvalidRequestError({
    code: f.code ?? 'upstream_invalid_request',
    message: f.message,
    param: f.param ?? null,
  });
}

/** May the same target be tried again (after a backoff)? Auth and balance failures go to the next target. */
export function retryableOnSameTarget(kind: FailureKind): boolean {
  // too_large is not here: the same target would send the same oversized answer again.
  return kind === 'unreachable' || kind === 'timeout' || kind === 'server' || kind === 'rate_limited';
}

/** May the next target be tried? A bad request is the client's to fix. */
export function canFailOver(kind: FailureKind): boolean {
  return kind !== 'bad_request';
}

/** Classifies an upstream HTTP error status (with the provider's error code, when it gave one). */
export function kindOfStatus(
  status: number,
  code: string | undefined,
  type: string | undefined,
): FailureKind {
  if (status === 429)
    return code === 'insufficient_quota' || type === 'insufficient_quota' ? 'balance' : 'rate_limited';
  if (status === 402) return 'balance';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'target_refused';
  if (status === 408 || status === 409 || status >= 500) return 'server';
  return 'bad_request';
}

/** What a provider's error means: the adapter's own reading when it has one, else its status. */
export function failureKindOf(
  status: number,
  info: { readonly kind?: FailureKind; readonly code?: string; readonly type?: string },
): FailureKind {
  return info.kind ?? kindOfStatus(status, info.code, info.type);
}

const FINAL_CODES: Record<
  Exclude<FailureKind, 'bad_request' | 'rate_limited' | 'timeout' | 'unsupported' | 'target_refused'>,
  string
> = {
  unreachable: 'upstream_unreachable',
  server: 'upstream_server_error',
  auth: 'upstream_auth',
  balance: 'upstream_insufficient_balance',
  too_large: 'upstream_response_too_large',
};

/**
 * The error the client sees once no attempt is left. 429 only when every attempt was rate limited;
 * otherwise the last failure that was not a rate limit decides.
 */
export function finalError(all: readonly AttemptFailure[], deadlinePassed: boolean): SwitchyardError {
  // Targets that could not take the request say nothing about the ones that tried: they decide only alone.
  const tried = all.filter((f) => f.kind !== 'unsupported');
  const unsupported = all.find((f) => f.kind === 'unsupported');
  if (tried.length === 0 && unsupported !== undefined && !deadlinePassed) {
    return new InvalidRequestError({
      code: 'unsupported_parameter',
      message: `${unsupported.message} No target of this route supports it.`,
      param: unsupported.param ?? null,
    });
  }
  const failures = tried;
  const last = failures.at(-1);
  if (deadlinePassed || last === undefined) {
    return new UpstreamTimeoutError({
      code: 'upstream_timeout',
      message: 'The request deadline passed before any upstream answered.',
    });
  }
  if (last.kind === 'bad_request') return refusal(last);
  if (failures.every((f) => f.kind === 'rate_limited')) {
    const waits = failures.map((f) => f.retryAfterMs).filter((ms): ms is number => ms !== undefined);
    return new RateLimitError({
      code: 'upstream_rate_limited',
      message: `Every target is rate limited (last: ${last.message})`,
      retryAfterSeconds: waits.length > 0 ? Math.min(...waits) / 1000 : 1,
    });
  }
  const decisive = failures.findLast((f) => f.kind !== 'rate_limited') ?? last;
  if (decisive.kind === 'target_refused') return refusal(decisive);
  if (decisive.kind === 'timeout') {
    return new UpstreamTimeoutError({ code: 'upstream_timeout', message: decisive.message });
  }
  const code = FINAL_CODES[decisive.kind as keyof typeof FINAL_CODES] ?? 'upstream_server_error';
  // Failure messages are the gateway's own summaries by now (attempt.ts): an auth failure's text, which
  // often echoes (part of) the key, never left the attempt.
  return new UpstreamError({ code, message: `Every target failed (last: ${decisive.message})` });
}
