/**
 * Relays an upstream SSE stream to the client chunk by chunk: whole events are forwarded as soon as they are
 * decoded (never collected), the idle timer is re-armed on each chunk, and usage is read from the events that
 * carry it. A stream that breaks after its first byte ends with an SSE error event and no `[DONE]` — the
 * client never sees a clean-looking end of a cut answer.
 */

import {
  ServerShuttingDownError,
  type SwitchyardError,
  toErrorBody,
  UpstreamError,
  UpstreamTimeoutError,
} from '../errors.ts';
import { isRecord } from '../json.ts';
import { openAIUsage, upstreamIdOf } from '../providers/openai/adapter.ts';
import type { ResponseTranslator, Usage } from '../providers/types.ts';
import type { SecretMasker } from '../secrets.ts';
import { parseEvents, SseDecoder, SseEventTooLargeError } from '../sse/splitter.ts';
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
  /** The provider's id of the completion (first event's `id`). */
  readonly upstreamId?: string;
  /**
   * The events forwarded, for a token estimate when the upstream sent no usage (undefined when it did, or
   * when they passed {@link KEEP_LIMIT}: then `keptChars`/`totalChars` scale the estimate).
   */
  readonly forwarded?: readonly string[];
  readonly keptChars: number;
  readonly totalChars: number;
  /** The upstream's own text of a mid-stream failure (secrets masked, cut short), for the log line only. */
  readonly upstreamError?: string;
}

/** Forwarded text kept for an estimate, at most: references to strings already made, not copies. */
export const KEEP_LIMIT = 4 * 1024 * 1024;

export interface RelayInput {
  /** The provider id, for the gateway's own message when the stream fails. */
  readonly provider: string;
  /** Every secret value the gateway holds: masked in what is forwarded and in what the log keeps. */
  readonly secrets: SecretMasker;
  readonly opened: OpenedAttempt;
  /** Native providers: their events → OpenAI events (whole ones); undefined: the upstream speaks OpenAI SSE. */
  readonly translator?: ResponseTranslator | undefined;
  readonly idleMs: number;
  readonly now: () => number;
  readonly onEnd: (outcome: StreamOutcome) => void;
  /** The client asked for the usage chunk; else the one the gateway asked for is not forwarded. */
  readonly forwardUsage: boolean;
  /** USD of a usage (added to the forwarded usage chunk as `usage.cost`), undefined when unpriced. */
  readonly costOf: (usage: Usage) => number | undefined;
  /** Keep reading the upstream after the client left, to learn the true usage (bounded by the deadline). */
  readonly drainOnClientGone: boolean;
  /** The events read before the answer was accepted (stream-head.ts), and the reader that read them. */
  readonly head?: StreamHead | undefined;
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

export function sseError(err: SwitchyardError): string {
  return `data: ${JSON.stringify(toErrorBody(err))}\n\n`;
}

/** Looks into forwarded events only when they may hold what the gateway needs. */
class StreamWatch {
  done = false;
  upstreamError: SwitchyardError | undefined;
  /** The upstream's own words for its mid-stream failure, for the log line. */
  upstreamDetail: string | undefined;
  usage: Usage | undefined;
  upstreamId: string | undefined;
  readonly kept: string[] = [];
  keptChars = 0;
  totalChars = 0;
  constructor(private readonly r: Pick<RelayInput, 'forwardUsage' | 'costOf' | 'provider' | 'secrets'>) {}

  /** Remembers forwarded text (bounded) for an estimate, and the completion id from the first event. */
  keep(text: string): void {
    if (this.totalChars === 0) this.upstreamId = upstreamIdOf(text);
    this.totalChars += text.length;
    if (this.keptChars + text.length <= KEEP_LIMIT) {
      this.kept.push(text);
      this.keptChars += text.length;
    }
  }

  /**
   * Reads what the gateway needs from complete events and returns the text to forward: all of it, or only
   * the events before an upstream error event. That event is not forwarded: its body is the provider's, so
   * it is translated into ours (one translation point), and nothing after it ([DONE] included) goes out.
   */
  inspect(upstream: string): string {
    // A secret the gateway holds never goes out, even inside an answer.
    const text = this.r.secrets.size === 0 ? upstream : this.r.secrets.mask(upstream);
    const hasDone = text.includes('[DONE]');
    const hasUsage = text.includes('"usage":{') || text.includes('"usage": {');
    const hasError = text.includes('"error"');
    if (!hasDone && !hasUsage && !hasError) return text;
    let forward = '';
    for (const block of text.split('\n\n')) {
      if (block === '') continue;
      const data = parseEvents(`${block}\n\n`)[0]?.data;
      if (data === '[DONE]') this.done = true;
      else if (data !== undefined && (data.includes('"usage"') || data.includes('"error"'))) {
        let json: unknown;
        try {
          json = JSON.parse(data);
        } catch {
          json = undefined;
        }
        // Usage in OpenAI streams is cumulative: the latest report is the answer, never a sum.
        const usage = openAIUsage(json);
        if (usage !== undefined) {
          this.usage = usage;
          const usageOnly = Array.isArray((json as { choices?: unknown }).choices)
            ? (json as { choices: unknown[] }).choices.length === 0
            : true;
          if (!this.r.forwardUsage && usageOnly) continue; // the chunk only the gateway asked for
          const cost = this.r.costOf(usage);
          if (cost !== undefined && this.r.forwardUsage) {
            const j = json as { usage: Record<string, unknown> };
            forward += `data: ${JSON.stringify({ ...j, usage: { ...j.usage, cost } })}\n\n`;
            continue;
          }
        }
        if (isRecord(json) && 'error' in json) {
          // OpenAI's shape: the upstream's own, or what a native provider's translator made of its error
          // event. Its text goes to the log line only; the client reads the gateway's own summary.
          const e = json.error;
          const said = isRecord(e) && typeof e.message === 'string' ? e.message : String(e);
          this.upstreamDetail = detailOf(this.r.secrets, said);
          this.upstreamError = new UpstreamError({
            code: 'upstream_server_error',
            message: `Upstream failed mid-stream: ${this.r.provider} sent an error event.`,
          });
          return forward;
        }
      }
      forward += `${block}\n\n`;
    }
    return forward;
  }
}

/** Upstream bytes → whole OpenAI SSE events: split as they are, or through a native provider's translator. */
export class EventReader {
  private readonly sse = new SseDecoder();
  constructor(private readonly translator: ResponseTranslator | undefined) {}

  push(chunk: Uint8Array): string {
    return this.translator !== undefined ? this.translator.push(chunk) : this.sse.push(chunk);
  }

  /** The events the end of the body completes. */
  end(): string {
    return this.translator !== undefined ? this.translator.end() : this.sse.end();
  }
}

export async function* relayStream(r: RelayInput): AsyncGenerator<string, void, undefined> {
  const { opened } = r;
  const reader = r.head?.reader ?? new EventReader(r.translator);
  const watch = new StreamWatch(r);
  const idle = new IdleTimer(opened.controller, r.idleMs);
  let firstChunkAt: number | undefined;
  let error: SwitchyardError | undefined;
  // Stays false when the host stops iterating early (the client went away) or the client signal aborted us.
  let finished = false;
  try {
    try {
      // The head (whole events read while the attempt could still fail over) goes first, then the body.
      const first = opened.first;
      let text = watch.inspect(r.head?.text ?? (first === undefined ? '' : reader.push(first)));
      const more = r.head === undefined ? first !== undefined : !r.head.ended;
      for (;;) {
        if (text !== '') {
          firstChunkAt ??= r.now();
          watch.keep(text);
          // The idle timer measures the upstream's silence, not a slow client's backpressure on this yield.
          idle.stop();
          yield text;
        }
        if (watch.upstreamError !== undefined || !more) break;
        idle.arm();
        const next = await opened.iterator.next();
        if (next.done) break;
        text = watch.inspect(reader.push(next.value));
      }
      idle.stop();
      if (watch.upstreamError === undefined) {
        const text = watch.inspect(reader.end());
        if (text !== '') {
          firstChunkAt ??= r.now();
          watch.keep(text);
          yield text;
        }
      }
      error = watch.upstreamError;
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
        watch.upstreamDetail = detailOf(r.secrets, reason instanceof Error ? reason.message : String(reason));
      }
    }
    if (error !== undefined) yield sseError(error);
  } finally {
    idle.stop();
    if (!finished && r.drainOnClientGone && !opened.controller.signal.aborted) {
      await drainRest(opened, watch, reader, idle);
    }
    if (!finished) opened.controller.abort(new ClientGoneReason());
    opened.response.dispose();
    opened.release();
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
    keptChars: watch.keptChars,
    totalChars: watch.totalChars,
    ...(error === undefined ? {} : { error }),
    ...(watch.usage === undefined ? { forwarded: watch.kept } : { usage: watch.usage }),
    ...(firstChunkAt === undefined ? {} : { firstChunkAt }),
    ...(watch.upstreamId === undefined ? {} : { upstreamId: watch.upstreamId }),
    ...(watch.upstreamDetail === undefined ? {} : { upstreamError: watch.upstreamDetail }),
  };
}

/**
 * The client left mid-stream: read the rest of the upstream answer without forwarding it, only to learn its
 * usage (the provider bills the whole answer). Bounded by the idle timer and the request's total deadline
 * (both abort the upstream read); text read here counts towards an estimate as if it had been forwarded.
 */
async function drainRest(
  opened: OpenedAttempt,
  watch: StreamWatch,
  reader: EventReader,
  idle: IdleTimer,
): Promise<void> {
  try {
    for (;;) {
      idle.arm();
      const next = await opened.iterator.next();
      idle.stop();
      if (next.done) {
        const text = watch.inspect(reader.end());
        if (text !== '') watch.keep(text);
        break;
      }
      const text = watch.inspect(reader.push(next.value));
      if (text !== '') watch.keep(text);
      if (watch.done || watch.upstreamError !== undefined) break;
    }
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
      r.opened.controller.abort(new ClientGoneReason());
      r.opened.response.dispose();
      r.opened.release();
      r.onEnd({ clientGone: true, forwarded: [], keptChars: 0, totalChars: 0 });
    },
  };
}
