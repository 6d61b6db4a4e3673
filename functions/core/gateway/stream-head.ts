/**
 * A stream's head: the pieces read before the one that starts the answer. Until then nothing has reached the
 * client, so a failure there — Anthropic's `event: error` overloaded_error after its HTTP 200, a relay's
 * `data: {"error": …}` after its role chunk, a cut connection, an idle timeout, a body that ends cleanly
 * before any of the answer — is an attempt failure like an error status: retried or failed over, never sent
 * down the stream (DESIGN.md: nothing may be retried after the first byte reached the client, everything
 * before it may). What starts the answer is the reader's to say (endpoints/types.ts): the first event with
 * content, a tool call or a finish. Events before it hold nothing (a role chunk, a ping, `message_start`):
 * held here, they go out in the same write as the event that starts the answer, so TTFT (to the first
 * content token) loses nothing.
 */
import { mergePieces, type StreamFailure, type StreamPiece, type StreamReader } from '../endpoints/types.ts';
import type { AttemptFailure } from '../routing/failure.ts';
import type { SecretMasker } from '../secrets.ts';
import type { OpenedAttempt } from '../upstream/attempt.ts';
import { clientMessageOf, detailOf, tokenOf } from '../upstream/messages.ts';
import { IdleTimer } from '../upstream/reasons.ts';

export interface StreamHead {
  /** The pieces read so far, merged: forwarded first by the relay. */
  readonly piece: StreamPiece;
  /** The body ended within the head (the reader's end is in `piece` already). */
  readonly ended: boolean;
  /** Reads the rest of the body (its decoder and translator state continue). */
  readonly reader: StreamReader;
}

/** Who the stream is from, for the failure's messages. */
export interface HeadSource {
  readonly provider: string;
  readonly secrets: SecretMasker;
}

/** Beyond this, the head is whatever it is: a stream that says nothing for this long is forwarded. */
const HEAD_LIMIT = 64 * 1024;

/** A body that ended before the answer started and without the upstream's end: a server fault, failed over. */
const ENDED_EARLY: StreamFailure = {
  kind: 'server',
  message: 'the stream ended before the answer started',
};

/**
 * An upstream's failure said inside its answer (an error event before the answer started, a 200 whose body is
 * an error): what it means for the attempt (retried, failed over), what the client may read of it (the
 * upstream's words only for a refused request) and what the log keeps.
 */
export function attemptFailureOf(f: StreamFailure, from: HeadSource, how: string): AttemptFailure {
  const code = tokenOf(from.secrets, f.code);
  const type = tokenOf(from.secrets, f.type);
  const detail = detailOf(from.secrets, f.message);
  return {
    kind: f.kind,
    status: 200,
    message: clientMessageOf(from.secrets, from.provider, f.kind, undefined, { message: f.message }, how),
    ...(detail === undefined ? {} : { detail }),
    ...(f.kind === 'bad_request' && (code ?? type) !== undefined ? { code: (code ?? type) as string } : {}),
  };
}

/**
 * Reads the head of an opened stream through its reader. Throws nothing of its own: a read that fails (idle
 * timeout, reset) rejects with the transport's error, which the attempt loop classifies as for any attempt.
 */
export async function readHead(
  opened: OpenedAttempt,
  reader: StreamReader,
  idleMs: number,
  from: HeadSource,
): Promise<StreamHead & { readonly failure?: AttemptFailure }> {
  const idle = new IdleTimer(opened.controller, idleMs);
  let piece: StreamPiece = { text: '' };
  let chunk = opened.first;
  let ended = false;
  try {
    for (;;) {
      if (chunk === undefined) {
        // The body ended before the answer started: its last events may still fail it.
        piece = mergePieces(piece, reader.end());
        ended = true;
      } else piece = mergePieces(piece, reader.push(chunk));
      // A reader stops at a failure, so a piece that started the answer did so before it: the answer is
      // accepted and the relay sends what came first, then its error event (as if read one event at a time).
      if (piece.failure !== undefined && piece.started !== true) {
        const failure = attemptFailureOf(piece.failure, from, 'an error event before the answer started');
        return { piece, ended, reader, failure };
      }
      if (ended && piece.started !== true && piece.done !== true) {
        // A clean end before any of the answer (a relay's role chunk, then nothing): an answer it is not, and
        // the client has heard nothing of it yet.
        const failure = attemptFailureOf(ENDED_EARLY, from, 'the stream ended before the answer started');
        return { piece, ended, reader, failure };
      }
      if (ended || piece.started === true || piece.done === true || piece.text.length > HEAD_LIMIT) break;
      idle.arm();
      const next = await opened.iterator.next();
      idle.stop();
      chunk = next.done ? undefined : next.value;
    }
  } finally {
    idle.stop();
  }
  return { piece, ended, reader };
}
