/**
 * One try of one target: connect (next base URL on a connection failure), wait for the first byte under the
 * first-byte timer, and classify any failure into an {@link AttemptFailure}. Nothing here has reached the
 * client yet, so every failure it throws may still be retried or failed over.
 */

import { concat } from '../bytes.ts';
import type { Timeouts } from '../config/schema.ts';
import { header } from '../http.ts';
import {
  ConnectionError,
  type HttpClient,
  type ProviderAdapter,
  type UpstreamCall,
  type UpstreamHttpResponse,
} from '../providers/types.ts';
import { AttemptError, failureKindOf } from '../routing/failure.ts';
import { parseRetryAfter } from '../routing/retry.ts';
import type { SecretMasker } from '../secrets.ts';
import { SseEventTooLargeError } from '../sse/splitter.ts';
import { clientMessageOf, detailOf, summaryOf, tokenOf } from './messages.ts';
import { ClientGoneReason, IdleTimer, TimeoutReason } from './reasons.ts';
import { linkAbort } from './signals.ts';

const MAX_ERROR_BODY = 64 * 1024;

export interface AttemptInput {
  /** The provider id, for the gateway's own messages about this attempt. */
  readonly provider: string;
  readonly adapter: ProviderAdapter;
  /** Every secret value the gateway holds: masked in whatever of the upstream's text is kept. */
  readonly secrets: SecretMasker;
  readonly transport: HttpClient;
  readonly baseUrls: readonly string[];
  /** Index of the base URL to start with (the last one that worked). */
  readonly startIndex: number;
  /** Base URLs (by index) not to try now: their breaker is open (health.ts). Never all of them. */
  readonly skipUrl?: ((index: number) => boolean) | undefined;
  readonly call: UpstreamCall;
  readonly timeouts: Timeouts;
  /** Aborted when the client leaves or the total deadline passes. */
  readonly requestSignal: AbortSignal;
  readonly epochMs: () => number;
  /** Non-stream answers are read whole inside the attempt, so a failure while reading can still be retried. */
  readonly readAll: boolean;
  /** With `readAll`: a larger answer fails the attempt (`too_large`) instead of being held in memory. */
  readonly maxResponseBytes: number;
  /**
   * For a stream: the content type its answer must have (`text/event-stream`, or the transport's own); any
   * other (an HTML page, a JSON answer that ignored `stream`) fails the attempt before a byte is relayed.
   */
  readonly streamType?: string | undefined;
}

/**
 * An attempt whose upstream answered (first byte received, nothing sent to the client yet). It owns the
 * upstream call: whoever is done with it calls {@link close} once — the one way an attempt ends, whatever
 * ended it (read to its end, discarded for a failure, abandoned by a client that left).
 */
export class OpenedAttempt {
  private closed = false;
  constructor(
    readonly response: UpstreamHttpResponse,
    readonly iterator: AsyncIterator<Uint8Array>,
    /** First body chunk, or undefined when the body was empty. With `readAll`, the whole body. */
    readonly first: Uint8Array | undefined,
    /** Aborts this attempt's upstream call (timers, client gone, close with a reason). */
    readonly controller: AbortController,
    readonly baseUrlIndex: number,
    private readonly unlink: () => void,
  ) {}

  /**
   * Ends the attempt: with a `reason`, the upstream call is aborted with it (an unread rest of the body is
   * never read); the connection is released and the attempt unlinked from the request's signal. Idempotent.
   */
  close(reason?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (reason !== undefined && !this.controller.signal.aborted) this.controller.abort(reason);
    this.response.dispose();
    this.unlink();
  }
}

/** Why an attempt was discarded before it was used (a failure in its head or its whole answer). */
export class AttemptDiscarded extends Error {
  constructor() {
    super('attempt discarded');
    this.name = 'AttemptDiscarded';
  }
}

/**
 * Turns a thrown value into the attempt failure it means. The signal's abort reason wins over the error the
 * transport threw for it. A client that went away is passed through: nothing is left to retry for it.
 */
export function failureOf(
  err: unknown,
  signal: AbortSignal,
  who: Pick<AttemptInput, 'provider' | 'secrets'>,
): AttemptError | ClientGoneReason {
  if (err instanceof AttemptError) return err;
  if (err instanceof SseEventTooLargeError) {
    return new AttemptError(
      { kind: 'too_large', message: summaryOf(who.provider, 'too_large', undefined), detail: err.message },
      err,
    );
  }
  const reason: unknown = signal.aborted ? signal.reason : err;
  if (reason instanceof ClientGoneReason) return reason;
  if (reason instanceof TimeoutReason)
    return new AttemptError({ kind: 'timeout', message: `${who.provider}: ${reason.message}` }, reason);
  const said = detailOf(who.secrets, reason instanceof Error ? reason.message : String(reason));
  return new AttemptError(
    {
      kind: 'unreachable',
      message: `${who.provider}: the connection failed`,
      ...(said === undefined ? {} : { detail: said }),
    },
    reason,
  );
}

async function readText(body: AsyncIterable<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of body) {
    text += decoder.decode(chunk, { stream: true });
    if (text.length > MAX_ERROR_BODY) break;
  }
  return text + decoder.decode();
}

function tooLarge(a: AttemptInput): AttemptError {
  return new AttemptError({
    kind: 'too_large',
    message: summaryOf(a.provider, 'too_large', undefined),
    detail: `answer over ${a.maxResponseBytes} bytes (maxResponseBytes)`,
  });
}

async function readRest(
  first: Uint8Array,
  iterator: AsyncIterator<Uint8Array>,
  controller: AbortController,
  a: AttemptInput,
): Promise<Uint8Array> {
  const chunks = [first];
  let size = first.byteLength;
  if (size > a.maxResponseBytes) throw tooLarge(a);
  const idle = new IdleTimer(controller, a.timeouts.idleMs);
  try {
    for (;;) {
      idle.arm();
      const next = await iterator.next();
      if (next.done) break;
      size += next.value.byteLength;
      // Stop at the bound: the rest is never read (the caller aborts the call and frees what was held).
      if (size > a.maxResponseBytes) throw tooLarge(a);
      chunks.push(next.value);
    }
  } finally {
    idle.stop();
  }
  return chunks.length === 1 ? first : concat(chunks, size);
}

/** An error status: what the attempt's failure means, what the client may read of it, what the log keeps. */
async function errorOf(a: AttemptInput, response: UpstreamHttpResponse): Promise<AttemptError> {
  const text = await readText(response.body);
  const info = a.adapter.parseError(response.status, text);
  const kind = failureKindOf(response.status, info);
  const retryAfterMs = parseRetryAfter((n) => header(response.headers, n), a.epochMs());
  const code = tokenOf(a.secrets, info.code);
  const param = info.param === null ? null : tokenOf(a.secrets, info.param ?? undefined, 128);
  const detail = detailOf(a.secrets, text);
  return new AttemptError({
    kind,
    status: response.status,
    message: clientMessageOf(a.secrets, a.provider, kind, response.status, info),
    ...(detail === undefined ? {} : { detail }),
    ...(code === undefined ? {} : { code }),
    ...(param === undefined ? {} : { param }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/**
 * A status that is not an answer although it is not an error: a redirect (the gateway never follows one: it
 * would carry the provider key to another host) or an empty 204/205. Retried and failed over like a 5xx.
 */
function notAnAnswer(a: AttemptInput, response: UpstreamHttpResponse): AttemptError | undefined {
  const s = response.status;
  if (s >= 200 && s < 300 && s !== 204 && s !== 205) return undefined;
  const location = header(response.headers, 'location');
  return new AttemptError({
    kind: 'server',
    status: s,
    message: `${a.provider} answered HTTP ${s}, which is not an answer`,
    detail: detailOf(a.secrets, location === undefined ? `HTTP ${s}` : `HTTP ${s} to ${location}`) ?? '',
  });
}

/** A stream answered with another content type than the provider's stream format. */
function notAStream(a: AttemptInput, response: UpstreamHttpResponse): AttemptError | undefined {
  if (a.streamType === undefined) return undefined;
  const type = header(response.headers, 'content-type') ?? '';
  if (type.toLowerCase().startsWith(a.streamType)) return undefined;
  const detail = detailOf(a.secrets, `content-type: ${type === '' ? '(none)' : type}`);
  return new AttemptError({
    kind: 'server',
    status: response.status,
    message: `${a.provider} answered a stream request with another content type than ${a.streamType}`,
    ...(detail === undefined ? {} : { detail }),
  });
}

export async function openAttempt(a: AttemptInput): Promise<OpenedAttempt> {
  const controller = new AbortController();
  const unlink = linkAbort(a.requestSignal, controller);
  const ms = a.timeouts.firstByteMs;
  const timer = setTimeout(() => controller.abort(new TimeoutReason('first_byte', ms)), ms);
  let response: UpstreamHttpResponse | undefined;
  let index = a.startIndex;
  try {
    const failures: string[] = [];
    for (let i = 0; i < a.baseUrls.length && response === undefined; i++) {
      const at = (a.startIndex + i) % a.baseUrls.length;
      if (a.skipUrl?.(at) === true) continue;
      index = at;
      try {
        response = await a.transport.send({
          url: a.baseUrls[index] + a.call.path,
          method: a.call.method,
          headers: a.call.headers,
          ...(a.call.body === undefined ? {} : { body: a.call.body }),
          signal: controller.signal,
        });
      } catch (err) {
        if (!(err instanceof ConnectionError) || controller.signal.aborted) throw err;
        failures.push(err.message);
      }
    }
    if (response === undefined) {
      throw new AttemptError({
        kind: 'unreachable',
        message: summaryOf(a.provider, 'unreachable', undefined),
        detail: detailOf(a.secrets, failures.join('; ')) ?? '',
      });
    }
    if (response.status >= 400) throw await errorOf(a, response);
    const refused = notAnAnswer(a, response) ?? notAStream(a, response);
    if (refused !== undefined) throw refused;
    const iterator = response.body[Symbol.asyncIterator]();
    const next = await iterator.next();
    clearTimeout(timer);
    const first = next.done ? undefined : next.value;
    const body = a.readAll && first !== undefined ? await readRest(first, iterator, controller, a) : first;
    return new OpenedAttempt(response, iterator, body, controller, index, unlink);
  } catch (err) {
    clearTimeout(timer);
    const failure = failureOf(err, controller.signal, a);
    controller.abort();
    response?.dispose();
    unlink();
    // Which base URL failed, for its own breaker (the last one tried).
    if (failure instanceof AttemptError && a.baseUrls.length > 1)
      throw new AttemptError({ ...failure.failure, urlIndex: index }, failure.cause);
    throw failure;
  }
}
