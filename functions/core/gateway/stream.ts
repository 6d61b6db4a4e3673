/**
 * Relays an upstream stream to the client piece by piece: the reader (the endpoint's own, or a translator)
 * hands whole events in the client's format plus what they say — usage, a failure, the end, the answer's id —
 * and each piece goes out as soon as it is read (never collected); the idle timer is re-armed on each chunk.
 * A stream that breaks after its first byte ends with the endpoint's SSE error event and no clean end — the
 * client never sees a clean-looking end of a cut answer.
 */

import type { StreamPiece, StreamReader } from '../endpoints/types.ts';
import {
  ServerShuttingDownError,
  type SwitchyardError,
  UpstreamError,
  UpstreamTimeoutError,
} from '../errors.ts';
import type { Json } from '../json.ts';
import type { Usage } from '../providers/types.ts';
import type { SecretMasker } from '../secrets.ts';
import { SseEventTooLargeError } from '../sse/splitter.ts';
import type { OpenedAttempt } from '../upstream/attempt.ts';
import { detailOf } from '../upstream/messages.ts';
import { ClientGoneReason, IdleTimer, TimeoutReason } from '../upstream/reasons.ts';
import type { StreamHead } from './stream-head.ts';

export interface StreamOutcome {
  /** Set when the stream did not finish cleanly. */
  readonly error?: SwitchyardError;
  readonly clientGone: boolean;
  readonly usage?: Usage;
  /** Clock ms of the first chunk handed to the client. */
  readonly firstChunkAt?: number;
  /** The provider's id of the answer. */
  readonly upstreamId?: string;
  /**
   * The text forwarded, for a token estimate when the upstream sent no usage (undefined when it did; past
   * {@link KEEP_LIMIT} only its start is kept: `keptChars`/`totalChars` scale the estimate).
   */
  readonly forwarded?: string;
  readonly keptChars: number;
  readonly totalChars: number;
  /** The upstream's own text of a mid-stream failure (secrets masked, cut short), for the log line only. */
  readonly upstreamError?: string;
}

/** Forwarded text kept for an estimate, at most. */
export const KEEP_LIMIT = 4 * 1024 * 1024;

export interface RelayInput {
  /** The provider id, for the gateway's own message when the stream fails. */
  readonly provider: string;
  /** Every secret value the gateway holds: masked in what is forwarded and in what the log keeps. */
  readonly secrets: SecretMasker;
  readonly opened: OpenedAttempt;
  /** The pieces read before the answer was accepted, and the reader that reads the rest. */
  readonly head: StreamHead;
  readonly idleMs: number;
  readonly now: () => number;
  readonly onEnd: (outcome: StreamOutcome) => void;
  /** The endpoint's SSE error event. */
  readonly errorEvent: (err: SwitchyardError) => string;
  /** The text with the usage chunk put in, for a client that asked for it (chat); undefined: not sent. */
  readonly usageEvent: ((text: string, chunk: Json, usage: Usage) => string) | undefined;
  /** Keep reading the upstream after the client left, to learn the true usage (bounded by the deadline). */
  readonly drainOnClientGone: boolean;
  /** Runs once when the upstream said the answer is complete, before the piece that says so is sent. */
  readonly complete?: () => Promise<void>;
}

/** Why a started stream broke, as the client's SSE error event says it. */
function streamFailure(reason: unknown, provider: string): SwitchyardError {
  if (reason instanceof ServerShuttingDownError) return reason;
  if (reason instanceof SseEventTooLargeError) {
    return new UpstreamError({
      code: 'upstream_response_too_large',
      message: `Stream interrupted: ${provider} sent an event larger than the gateway accepts.`,
    });
  }
  if (reason instanceof TimeoutReason) {
    return new UpstreamTimeoutError({
      code: 'upstream_timeout',
      message: `Stream interrupted: ${reason.message}.`,
    });
  }
  return new UpstreamError({
    code: 'upstream_server_error',
    message: `Stream interrupted: the connection to ${provider} failed.`,
  });
}

/** What the relay learns from the pieces, and keeps (bounded) for an estimate. */
class StreamWatch {
  done = false;
  error: SwitchyardError | undefined;
  /** The upstream's own words for its mid-stream failure, for the log line. */
  detail: string | undefined;
  usage: Usage | undefined;
  upstreamId: string | undefined;
  kept = '';
  totalChars = 0;
  constructor(private readonly r: Pick<RelayInput, 'provider' | 'secrets' | 'usageEvent'>) {}

  /** The text of a piece to send (secrets masked; the usage chunk when the client asked for it). */
  take(piece: StreamPiece): string {
    if (piece.upstreamId !== undefined && this.upstreamId === undefined) {
      this.upstreamId = this.r.secrets.size === 0 ? piece.upstreamId : this.r.secrets.mask(piece.upstreamId);
    }
    // Usage is cumulative: the latest report is the answer, never a sum.
    if (piece.usage !== undefined) this.usage = piece.usage;
    if (piece.done === true) this.done = true;
    let text = this.r.secrets.size === 0 ? piece.text : this.r.secrets.mask(piece.text);
    if (piece.usageChunk !== undefined && piece.usage !== undefined && this.r.usageEvent !== undefined) {
      text = this.r.usageEvent(text, piece.usageChunk, piece.usage);
    }
    if (piece.failure !== undefined && this.error === undefined) {
      // Its words go to the log line only; the client reads the gateway's own summary.
      this.detail = detailOf(this.r.secrets, piece.failure.message);
      this.error = new UpstreamError({
        code: 'upstream_server_error',
        message: `Upstream failed mid-stream: ${this.r.provider} sent an error event.`,
      });
    }
    return text;
  }

  /** Remembers forwarded text (bounded) for an estimate. */
  keep(text: string): void {
    this.totalChars += text.length;
    if (this.kept.length + text.length <= KEEP_LIMIT) this.kept += text;
  }
}

export async function* relayStream(r: RelayInput): AsyncGenerator<string, void, undefined> {
  const { opened } = r;
  const reader: StreamReader = r.head.reader;
  const watch = new StreamWatch(r);
  const idle = new IdleTimer(opened.controller, r.idleMs);
  let firstChunkAt: number | undefined;
  let error: SwitchyardError | undefined;
  // Stays false when the host stops iterating early (the client went away) or the client signal aborted us.
  let finished = false;
  // Whether what must outlive the answer (a stored Response) was done, or there is nothing to do.
  let completed = r.complete === undefined;
  try {
    try {
      // The head (whole events read while the attempt could still fail over) goes first, then the body.
      let text = watch.take(r.head.piece);
      let more = !r.head.ended;
      for (;;) {
        if (!completed && watch.done && watch.error === undefined) {
          // The end goes out only once what must outlive it is done (a stored Response can be continued).
          completed = true;
          idle.stop();
          await r.complete?.();
        }
        if (text !== '') {
          firstChunkAt ??= r.now();
          watch.keep(text);
          // The idle timer measures the upstream's silence, not a slow client's backpressure on this yield.
          idle.stop();
          yield text;
        }
        // The answer is complete once the upstream said so: what it does after (close late, hang, reset) is
        // not the client's business, so the relay stops reading and the stream ends clean.
        if (watch.error !== undefined || !more || watch.done) break;
        idle.arm();
        const next = await opened.iterator.next();
        if (next.done) {
          idle.stop();
          more = false;
          text = watch.take(reader.end());
          continue;
        }
        text = watch.take(reader.push(next.value));
      }
      idle.stop();
      error = watch.error;
      if (!watch.done && error === undefined) {
        error = new UpstreamError({
          code: 'upstream_server_error',
          message: 'Upstream closed the stream before it was complete.',
        });
      }
      finished = true;
    } catch (err) {
      idle.stop();
      const reason: unknown = opened.controller.signal.aborted ? opened.controller.signal.reason : err;
      if (reason instanceof ClientGoneReason) return;
      finished = true;
      // Why the stream broke, for the client's SSE error event (at shutdown: the host closes it next).
      error = streamFailure(reason, r.provider);
      if (!(reason instanceof TimeoutReason) && !(reason instanceof ServerShuttingDownError)) {
        // A connection error's text, or why the event was refused: for the log line.
        watch.detail = detailOf(r.secrets, reason instanceof Error ? reason.message : String(reason));
      }
    }
    if (error !== undefined) yield reader.fail?.(error) ?? r.errorEvent(error);
  } finally {
    idle.stop();
    if (!finished && r.drainOnClientGone && !opened.controller.signal.aborted) {
      await drainRest(opened, watch, reader, idle, completed ? undefined : r.complete);
    }
    opened.close(finished ? undefined : new ClientGoneReason());
    r.onEnd(outcomeOf(watch, !finished, error, firstChunkAt));
  }
}

function outcomeOf(
  watch: StreamWatch,
  clientGone: boolean,
  error: SwitchyardError | undefined,
  firstChunkAt: number | undefined,
): StreamOutcome {
  return {
    clientGone,
    keptChars: watch.kept.length,
    totalChars: watch.totalChars,
    ...(error === undefined ? {} : { error }),
    ...(watch.usage === undefined ? { forwarded: watch.kept } : { usage: watch.usage }),
    ...(firstChunkAt === undefined ? {} : { firstChunkAt }),
    ...(watch.upstreamId === undefined ? {} : { upstreamId: watch.upstreamId }),
    ...(watch.detail === undefined ? {} : { upstreamError: watch.detail }),
  };
}

/**
 * The client left mid-stream: read the rest of the upstream answer without forwarding it, only to learn its
 * usage (the provider bills the whole answer). Bounded by the idle timer and the request's total deadline
 * (both abort the upstream read); text read here counts towards an estimate as if it had been forwarded. An
 * answer drained to its end is completed as a relayed one is (its Response stored: the client that left holds
 * its id from `response.created` and may continue it).
 */
async function drainRest(
  opened: OpenedAttempt,
  watch: StreamWatch,
  reader: StreamReader,
  idle: IdleTimer,
  complete: (() => Promise<void>) | undefined,
): Promise<void> {
  // The client left at the very piece that ended the answer: nothing is left to read, only to complete.
  if (watch.done || watch.error !== undefined) {
    if (watch.done && watch.error === undefined) await complete?.().catch(() => undefined);
    return;
  }
  try {
    for (;;) {
      idle.arm();
      const next = await opened.iterator.next();
      idle.stop();
      const text = watch.take(next.done ? reader.end() : reader.push(next.value));
      if (text !== '') watch.keep(text);
      if (next.done || watch.done || watch.error !== undefined) break;
    }
    idle.stop();
    if (watch.done && watch.error === undefined) await complete?.();
  } catch {
    // Deadline, idle timeout or a broken upstream: the usage stays what was learnt (or estimated).
  } finally {
    idle.stop();
  }
}

/**
 * The relay plus a way to give up on it before the first read: a generator that never started skips its
 * `finally`, so a host that fails before iterating (e.g. writing the headers threw) calls `cancel()` to
 * release the upstream, the timers and to log the request.
 */
export function relay(r: RelayInput): { body: AsyncIterable<string>; cancel(): void } {
  let started = false;
  const generator = relayStream(r);
  return {
    body: {
      [Symbol.asyncIterator]() {
        started = true;
        return generator;
      },
    },
    cancel() {
      if (started) return;
      started = true;
      r.opened.close(new ClientGoneReason());
      r.onEnd({ clientGone: true, forwarded: '', keptChars: 0, totalChars: 0 });
    },
  };
}
