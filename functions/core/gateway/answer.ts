/**
 * A whole (non-stream) answer is checked before it is served: read by the target call's reader (the
 * endpoint's own for an upstream that speaks the client's API, a translator's otherwise). A 2xx whose body is
 * no answer — an HTML login page, plain text, an error object, JSON without its answer list — fails the
 * attempt (retried, failed over, logged) and is never relayed as a 200. DESIGN.md: validated first.
 */
import { utf8 } from '../bytes.ts';
import { type AnswerRead, NotAnAnswerError } from '../endpoints/types.ts';
import type { Usage } from '../providers/types.ts';
import { AttemptError } from '../routing/failure.ts';
import type { OpenedAttempt } from '../upstream/attempt.ts';
import { detailOf } from '../upstream/messages.ts';
import { attemptFailureOf, type HeadSource } from './stream-head.ts';

const encoder = new TextEncoder();

export interface Answer {
  /** The answer in the client's format: the provider's own bytes when it speaks the client's API. */
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly usage: Usage | undefined;
  /** The provider's id of the answer, secrets masked. */
  readonly upstreamId: string | undefined;
}

function notAnAnswer(from: HeadSource, text: string, err: unknown): AttemptError {
  if (err instanceof NotAnAnswerError && err.failure !== undefined) {
    return new AttemptError(attemptFailureOf(err.failure, from, 'an error in a 200 body'));
  }
  // The client reads only the gateway's words; what the upstream sent goes to the log line.
  const why = err instanceof NotAnAnswerError ? err.why : 'an answer that could not be read';
  const reason =
    err instanceof NotAnAnswerError ? undefined : err instanceof Error ? err.message : String(err);
  const detail = detailOf(from.secrets, reason === undefined ? text : `${reason}: ${text}`);
  return new AttemptError({
    kind: 'server',
    status: 200,
    message: `${from.provider} answered with ${why}`,
    ...(detail === undefined ? {} : { detail }),
  });
}

/** Reads an opened whole answer through `read`; throws an {@link AttemptError} when it is no answer. */
export function acceptAnswer(
  opened: OpenedAttempt,
  read: (text: string) => AnswerRead,
  from: HeadSource,
): Answer {
  const raw = opened.first ?? new Uint8Array();
  const text = utf8.decode(raw);
  let a: AnswerRead;
  try {
    a = read(text);
  } catch (err) {
    throw notAnAnswer(from, text, err);
  }
  const id = a.upstreamId?.slice(0, 200);
  return {
    text: a.text,
    bytes: a.text === text ? raw : encoder.encode(a.text),
    usage: a.usage,
    upstreamId: id === undefined ? undefined : from.secrets.mask(id),
  };
}
