/**
 * Relays an upstream SSE stream to the client chunk by chunk: whole events are forwarded as soon as they are
 * decoded (never collected), the idle timer is re-armed on each chunk, and usage is read from the events that
 * carry it. A stream that breaks after its first byte ends with an SSE error event and no `[DONE]` — the
 * client never sees a clean-looking end of a cut answer.
 */

import { redactSecrets } from '../bytes.ts';
import { type SwitchyardError, toErrorBody, UpstreamError, UpstreamTimeoutError } from '../errors.ts';
import type { ProviderAdapter, Usage } from '../providers/types.ts';
import { parseEvents, SseSplitter } from '../sse/splitter.ts';
import type { OpenedAttempt } from '../upstream/attempt.ts';
import { ClientGoneReason, IdleTimer, TimeoutReason } from '../upstream/reasons.ts';

export interface StreamOutcome {
  /** Set when the stream did not finish cleanly. */
  readonly error?: SwitchyardError;
  readonly clientGone: boolean;
  readonly usage?: Usage;
  /** Clock ms of the first chunk handed to the client. */
  readonly firstChunkAt?: number;
}

export interface RelayInput {
  readonly opened: OpenedAttempt;
  readonly adapter: ProviderAdapter;
  readonly idleMs: number;
  readonly now: () => number;
  readonly onEnd: (outcome: StreamOutcome) => void;
}

export function sseError(err: SwitchyardError): string {
  return `data: ${JSON.stringify(toErrorBody(err))}\n\n`;
}

/** Looks into forwarded events only when they may hold what the gateway needs. */
class StreamWatch {
  done = false;
  upstreamError: SwitchyardError | undefined;
  usage: Usage | undefined;
  constructor(private readonly adapter: ProviderAdapter) {}

  /**
   * Reads what the gateway needs from complete events and returns the text to forward: all of it, or only
   * the events before an upstream error event. That event is not forwarded: its body is the provider's, so
   * it is translated into ours (one translation point), and nothing after it ([DONE] included) goes out.
   */
  inspect(text: string): string {
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
        const usage = this.adapter.usage(json);
        if (usage !== undefined) this.usage = usage;
        if (typeof json === 'object' && json !== null && 'error' in json) {
          const info = this.adapter.parseError(200, data);
          this.upstreamError = new UpstreamError({
            code: 'upstream_server_error',
            message: `Upstream failed mid-stream: ${redactSecrets(info.message)}`,
          });
          return forward;
        }
      }
      forward += `${block}\n\n`;
    }
    return forward;
  }
}

export async function* relayStream(r: RelayInput): AsyncGenerator<string, void, undefined> {
  const { opened } = r;
  const decoder = new TextDecoder();
  const splitter = new SseSplitter();
  const watch = new StreamWatch(r.adapter);
  const idle = new IdleTimer(opened.controller, r.idleMs);
  let firstChunkAt: number | undefined;
  let error: SwitchyardError | undefined;
  // Stays false when the host stops iterating early (the client went away) or the client signal aborted us.
  let finished = false;
  try {
    try {
      let chunk = opened.first;
      while (chunk !== undefined) {
        const text = watch.inspect(splitter.push(decoder.decode(chunk, { stream: true })));
        if (text !== '') {
          firstChunkAt ??= r.now();
          // The idle timer measures the upstream's silence, not a slow client's backpressure on this yield.
          idle.stop();
          yield text;
        }
        if (watch.upstreamError !== undefined) break;
        idle.arm();
        const next = await opened.iterator.next();
        chunk = next.done ? undefined : next.value;
      }
      idle.stop();
      const rest = decoder.decode();
      const tail = splitter.pending + rest;
      if (watch.upstreamError === undefined && tail.trim() !== '') {
        // Some relays end the last event with a single newline: close it rather than drop it.
        const text = watch.inspect(splitter.push(`${rest}${tail.endsWith('\n') ? '\n' : '\n\n'}`));
        if (text !== '') yield text;
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
      error =
        reason instanceof TimeoutReason
          ? new UpstreamTimeoutError({
              code: 'upstream_timeout',
              message: `Stream interrupted: ${reason.message}.`,
            })
          : new UpstreamError({
              code: 'upstream_server_error',
              message: `Stream interrupted: upstream connection failed (${reason instanceof Error ? reason.message : String(reason)}).`,
            });
    }
    if (error !== undefined) yield sseError(error);
  } finally {
    idle.stop();
    if (!finished) opened.controller.abort(new ClientGoneReason());
    opened.response.dispose();
    opened.release();
    r.onEnd({
      clientGone: !finished,
      ...(error === undefined ? {} : { error }),
      ...(watch.usage === undefined ? {} : { usage: watch.usage }),
      ...(firstChunkAt === undefined ? {} : { firstChunkAt }),
    });
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
      r.onEnd({ clientGone: true });
    },
  };
}
