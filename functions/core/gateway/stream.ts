/**
 * Relays an upstream SSE stream to the client chunk by chunk: whole events are forwarded as soon as they are
 * decoded (never collected), the idle timer is re-armed on each chunk, and usage is read from the events that
 * carry it. A stream that breaks after its first byte ends with an SSE error event and no `[DONE]` — the
 * client never sees a clean-looking end of a cut answer.
 */
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

  inspect(text: string): void {
    const hasDone = text.includes('[DONE]');
    const hasUsage = text.includes('"usage":{') || text.includes('"usage": {');
    const hasError = text.includes('"error"');
    if (!hasDone && !hasUsage && !hasError) return;
    for (const ev of parseEvents(text)) {
      if (ev.data === '[DONE]') {
        this.done = true;
        continue;
      }
      if (!ev.data.includes('"usage"') && !ev.data.includes('"error"')) continue;
      let json: unknown;
      try {
        json = JSON.parse(ev.data);
      } catch {
        continue;
      }
      // Usage in OpenAI streams is cumulative: the latest report is the answer, never a sum.
      const usage = this.adapter.usage(json);
      if (usage !== undefined) this.usage = usage;
      if (typeof json === 'object' && json !== null && 'error' in json) {
        this.upstreamError = new UpstreamError({
          code: 'upstream_server_error',
          message: 'upstream sent an error event mid-stream',
        });
      }
    }
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
        const text = splitter.push(decoder.decode(chunk, { stream: true }));
        if (text !== '') {
          watch.inspect(text);
          firstChunkAt ??= r.now();
          // The idle timer measures the upstream's silence, not a slow client's backpressure on this yield.
          idle.stop();
          yield text;
        }
        idle.arm();
        const next = await opened.iterator.next();
        chunk = next.done ? undefined : next.value;
      }
      idle.stop();
      const tail = splitter.pending + decoder.decode();
      if (tail.trim() !== '') {
        // Some relays end the last event with a single newline: close it rather than drop it.
        const text = splitter.push(`${tail.endsWith('\n') ? tail : `${tail}\n`}\n`);
        watch.inspect(text);
        yield text;
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
    // The upstream's own error event was already forwarded; any other break gets ours.
    if (error !== undefined && error !== watch.upstreamError) yield sseError(error);
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
