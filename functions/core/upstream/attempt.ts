/**
 * One try of one target: connect (next base URL on a connection failure), wait for the first byte under the
 * first-byte timer, and classify any failure into an {@link AttemptFailure}. Nothing here has reached the
 * client yet, so every failure it throws may still be retried or failed over.
 */

import { concat, redactSecrets } from '../bytes.ts';
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
import { ClientGoneReason, IdleTimer, TimeoutReason } from './reasons.ts';

const MAX_ERROR_BODY = 64 * 1024;

export interface AttemptInput {
  readonly adapter: ProviderAdapter;
  readonly transport: HttpClient;
  readonly baseUrls: readonly string[];
  /** Index of the base URL to start with (the last one that worked). */
  readonly startIndex: number;
  readonly call: UpstreamCall;
  readonly timeouts: Timeouts;
  /** Aborted when the client leaves or the total deadline passes. */
  readonly requestSignal: AbortSignal;
  readonly epochMs: () => number;
  /** Non-stream answers are read whole inside the attempt, so a failure while reading can still be retried. */
  readonly readAll: boolean;
}

export interface OpenedAttempt {
  readonly response: UpstreamHttpResponse;
  readonly iterator: AsyncIterator<Uint8Array>;
  /** First body chunk, or undefined when the body was empty. With `readAll`, the whole body. */
  readonly first: Uint8Array | undefined;
  /** Aborts this attempt's upstream call (timers, client gone). */
  readonly controller: AbortController;
  readonly baseUrlIndex: number;
  /** Unlinks the attempt from the request signal; call when the attempt is over. */
  release(): void;
}

/**
 * Turns a thrown value into the attempt failure it means. The signal's abort reason wins over the error the
 * transport threw for it. A client that went away is passed through: nothing is left to retry for it.
 */
export function failureOf(err: unknown, signal: AbortSignal): AttemptError | ClientGoneReason {
  if (err instanceof AttemptError) return err;
  const reason: unknown = signal.aborted ? signal.reason : err;
  if (reason instanceof ClientGoneReason) return reason;
  if (reason instanceof TimeoutReason)
    return new AttemptError({ kind: 'timeout', message: reason.message }, reason);
  const message = reason instanceof Error ? reason.message : String(reason);
  return new AttemptError({ kind: 'unreachable', message }, reason);
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

async function readRest(
  first: Uint8Array,
  iterator: AsyncIterator<Uint8Array>,
  controller: AbortController,
  idleMs: number,
): Promise<Uint8Array> {
  const chunks = [first];
  let size = first.byteLength;
  const idle = new IdleTimer(controller, idleMs);
  try {
    for (;;) {
      idle.arm();
      const next = await iterator.next();
      if (next.done) break;
      chunks.push(next.value);
      size += next.value.byteLength;
    }
  } finally {
    idle.stop();
  }
  return chunks.length === 1 ? first : concat(chunks, size);
}

export async function openAttempt(a: AttemptInput): Promise<OpenedAttempt> {
  const controller = new AbortController();
  const onRequestAbort = () => controller.abort(a.requestSignal.reason);
  if (a.requestSignal.aborted) onRequestAbort();
  else a.requestSignal.addEventListener('abort', onRequestAbort, { once: true });
  const release = () => a.requestSignal.removeEventListener('abort', onRequestAbort);
  const ms = a.timeouts.firstByteMs;
  const timer = setTimeout(() => controller.abort(new TimeoutReason('first_byte', ms)), ms);
  let response: UpstreamHttpResponse | undefined;
  let index = a.startIndex;
  try {
    const failures: string[] = [];
    for (let i = 0; i < a.baseUrls.length && response === undefined; i++) {
      index = (a.startIndex + i) % a.baseUrls.length;
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
    if (response === undefined) throw new AttemptError({ kind: 'unreachable', message: failures.join('; ') });
    if (response.status >= 400) {
      const info = a.adapter.parseError(response.status, await readText(response.body));
      const retryAfterMs = parseRetryAfter((n) => header(response?.headers ?? {}, n), a.epochMs());
      throw new AttemptError({
        kind: failureKindOf(response.status, info),
        status: response.status,
        message: redactSecrets(info.message),
        ...(info.code === undefined ? {} : { code: info.code }),
        ...(info.param === undefined ? {} : { param: info.param }),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    const iterator = response.body[Symbol.asyncIterator]();
    const next = await iterator.next();
    clearTimeout(timer);
    const first = next.done ? undefined : next.value;
    const body =
      a.readAll && first !== undefined
        ? await readRest(first, iterator, controller, a.timeouts.idleMs)
        : first;
    return { response, iterator, first: body, controller, baseUrlIndex: index, release };
  } catch (err) {
    clearTimeout(timer);
    const failure = failureOf(err, controller.signal);
    controller.abort();
    response?.dispose();
    release();
    throw failure;
  }
}
