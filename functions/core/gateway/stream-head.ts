/**
 * A stream's head: the whole events before the first one that carries part of the answer. Until that event,
 * nothing has reached the client, so an error there — Anthropic's `event: error` overloaded_error after its
 * HTTP 200, a relay's `data: {"error": …}` as its first event — is an attempt failure like an error status:
 * retried or failed over, never sent down the stream (DESIGN.md: nothing may be retried after the first
 * byte reached the client, everything before it may).
 */
import { isRecord } from '../json.ts';
import type { ResponseTranslator } from '../providers/types.ts';
import { type AttemptFailure, kindOfErrorObject } from '../routing/failure.ts';
import type { SecretMasker } from '../secrets.ts';
import { parseEvents } from '../sse/splitter.ts';
import type { OpenedAttempt } from '../upstream/attempt.ts';
import { clientMessageOf, detailOf, tokenOf } from '../upstream/messages.ts';
import { IdleTimer } from '../upstream/reasons.ts';
import { EventReader } from './stream.ts';

export interface StreamHead {
  /** Whole OpenAI events (translated for native providers), forwarded first by the relay. */
  readonly text: string;
  /** The body ended within the head. */
  readonly ended: boolean;
  /** Reads the rest of the body (its decoder and translator state continue). */
  readonly reader: EventReader;
}

/** Beyond this, the head is whatever it is: a stream that says nothing for this long is forwarded. */
const HEAD_LIMIT = 64 * 1024;

type Scan =
  | { readonly kind: 'answer' }
  | { readonly kind: 'none' }
  | { readonly kind: 'error'; readonly failure: AttemptFailure };

/** Who the stream is from, for the failure's messages. */
export interface HeadSource {
  readonly provider: string;
  readonly secrets: SecretMasker;
}

/** Whether the events so far start the answer, fail it, or neither yet (a role chunk, a ping). */
function scan(text: string, from: HeadSource): Scan {
  for (const { data } of parseEvents(text)) {
    if (data === '[DONE]') return { kind: 'answer' };
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return { kind: 'answer' }; // not ours to judge: forward it as it came
    }
    if (!isRecord(json)) return { kind: 'answer' };
    if (isRecord(json.error) || typeof json.error === 'string')
      return { kind: 'error', failure: errorEventFailure(json.error, from) };
    if (json.usage !== undefined && json.usage !== null) return { kind: 'answer' };
    const choice = Array.isArray(json.choices) ? json.choices[0] : undefined;
    if (!isRecord(choice)) continue;
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) return { kind: 'answer' };
    const delta = isRecord(choice.delta) ? choice.delta : {};
    if ((typeof delta.content === 'string' && delta.content !== '') || delta.tool_calls !== undefined) {
      return { kind: 'answer' };
    }
    if (typeof delta.refusal === 'string' && delta.refusal !== '') return { kind: 'answer' };
  }
  return { kind: 'none' };
}

/**
 * An error event before the answer started: what it means for the attempt (retried, failed over), what the
 * client may read of it (the upstream's words only for a refused request), and what the log keeps.
 */
export function errorEventFailure(
  error: unknown,
  from: HeadSource,
  how = 'an error event before the answer started',
): AttemptFailure {
  const e = isRecord(error) ? error : { message: String(error) };
  const kind = kindOfErrorObject(e);
  const text = typeof e.message === 'string' ? e.message : 'error';
  const code = tokenOf(from.secrets, typeof e.code === 'string' ? e.code : undefined);
  const type = tokenOf(from.secrets, typeof e.type === 'string' ? e.type : undefined);
  const detail = detailOf(from.secrets, text);
  return {
    kind,
    status: 200,
    message: clientMessageOf(from.secrets, from.provider, kind, undefined, { message: text }, how),
    ...(detail === undefined ? {} : { detail }),
    ...(kind === 'bad_request' && (code ?? type) !== undefined ? { code: (code ?? type) as string } : {}),
  };
}

/**
 * Reads the head of an opened stream. Throws nothing of its own: a read that fails (idle timeout, reset)
 * rejects with the transport's error, which the attempt loop classifies as for any attempt.
 *
 * An OpenAI-compatible upstream's head is its first whole event(s): its role chunk goes to the client as
 * soon as it is read (holding it for the first content would hold every stream's first chunk by one token
 * gap), so only an error as the very first event fails over. A native provider's role chunk is the
 * translator's own (from Anthropic's message_start, say): it is held until the first part of the answer,
 * so an error event right after message_start fails over too.
 */
export async function readHead(
  opened: OpenedAttempt,
  translator: ResponseTranslator | undefined,
  idleMs: number,
  from: HeadSource,
): Promise<StreamHead & { readonly failure?: AttemptFailure }> {
  const reader = new EventReader(translator);
  const idle = new IdleTimer(opened.controller, idleMs);
  let text = '';
  let chunk = opened.first;
  let ended = chunk === undefined;
  try {
    while (chunk !== undefined) {
      const events = reader.push(chunk);
      text += events;
      // The hot path: an OpenAI-compatible stream's first events are only looked into when one is an error.
      if (translator === undefined && events !== '' && !events.includes('"error"')) break;
      // Only the new events: the earlier ones were neither the answer nor an error.
      const s = scan(events, from);
      if (s.kind === 'error') return { text, ended, reader, failure: s.failure };
      if (s.kind === 'answer' || text.length > HEAD_LIMIT) break;
      if (translator === undefined && text !== '') break;
      idle.arm();
      const next = await opened.iterator.next();
      idle.stop();
      if (next.done) {
        ended = true;
        break;
      }
      chunk = next.value;
    }
  } finally {
    idle.stop();
  }
  return { text, ended, reader };
}
