/**
 * A non-stream answer is checked before it is served: a 2xx whose body is not an answer (an HTML login page,
 * plain text, a `{"error": …}` body, JSON without `choices`/`data`) fails the attempt — retried or failed over
 * like a 5xx, logged — and is never relayed as a 200. DESIGN.md: an upstream answer is validated first.
 */
import { utf8 } from '../bytes.ts';
import { isRecord } from '../json.ts';
import { openAIUsage, openAIUsageOfBody, upstreamIdOf } from '../providers/openai/adapter.ts';
import type { Operation, ResponseTranslator, Usage } from '../providers/types.ts';
import { AttemptError } from '../routing/failure.ts';
import type { OpenedAttempt } from '../upstream/attempt.ts';
import { detailOf } from '../upstream/messages.ts';
import { errorEventFailure, type HeadSource } from './stream-head.ts';

const encoder = new TextEncoder();

export interface Answer {
  /** The answer in OpenAI's format: the provider's own bytes for an OpenAI-compatible upstream. */
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly usage: Usage | undefined;
  /** The provider's id of the completion, secrets masked. */
  readonly upstreamId: string | undefined;
}

/** The member an answer of each operation must have: a chat completion's `choices`, an embeddings `data`. */
const ANSWER_FIELD: Readonly<Record<Operation, string>> = {
  chat: 'choices',
  embeddings: 'data',
  models: 'data',
};
const ANSWER_LIST: Readonly<Record<Operation, RegExp>> = {
  chat: /"choices"\s*:\s*\[/,
  embeddings: /"data"\s*:\s*\[/,
  models: /"data"\s*:\s*\[/,
};

/**
 * The hot path's check: a JSON object (first and last non-space characters `{` `}`) that holds the answer's
 * list. Parsing the whole answer only to check it cost ~3 µs for a short completion and tens of ms for a large
 * embeddings batch; a body that fails this cheap look (an HTML page, text, an error object) is parsed to say
 * what it is.
 */
function looksLikeAnswer(text: string, op: Operation): boolean {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) <= 32) i++;
  let j = text.length - 1;
  while (j > i && text.charCodeAt(j) <= 32) j--;
  return text.charCodeAt(i) === 123 && text.charCodeAt(j) === 125 && ANSWER_LIST[op].test(text);
}

function notAnAnswer(from: HeadSource, text: string, why: string, reason?: string): AttemptError {
  // The client reads only `why` (the gateway's words); what the upstream sent goes to the log line.
  const detail = detailOf(from.secrets, reason === undefined ? text : `${reason}: ${text}`);
  return new AttemptError({
    kind: 'server',
    status: 200,
    message: `${from.provider} answered with ${why}`,
    ...(detail === undefined ? {} : { detail }),
  });
}

/**
 * Reads, translates (native providers) and checks an opened non-stream answer. Throws an {@link AttemptError}
 * when the body is not an answer of `op`, so the attempt loop retries or fails over.
 */
export function acceptAnswer(
  opened: OpenedAttempt,
  translator: ResponseTranslator | undefined,
  op: Operation,
  from: HeadSource,
): Answer {
  const raw = opened.first ?? new Uint8Array();
  const text = utf8.decode(raw);
  if (translator !== undefined) {
    let translated: string;
    try {
      translated = translator.body(text);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw notAnAnswer(from, text, 'an answer that could not be read', reason);
    }
    const id = upstreamIdOf(translated);
    return {
      text: translated,
      bytes: encoder.encode(translated),
      usage: openAIUsageOfBody(translated),
      upstreamId: id === undefined ? undefined : from.secrets.mask(id),
    };
  }
  if (looksLikeAnswer(text, op)) {
    const id = upstreamIdOf(text);
    return {
      text,
      bytes: raw,
      usage: openAIUsageOfBody(text),
      upstreamId: id === undefined ? undefined : from.secrets.mask(id),
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw notAnAnswer(from, text, text.trim() === '' ? 'an empty body' : 'a body that is not JSON');
  }
  const field = ANSWER_FIELD[op];
  if (!isRecord(json) || !Array.isArray(json[field])) {
    // A 2xx body `{"error": {…}}` (relays that put errors in a 200) is the failure it says.
    if (isRecord(json) && json.error !== undefined && json.error !== null) {
      throw new AttemptError(errorEventFailure(json.error, from, 'an error in a 200 body'));
    }
    throw notAnAnswer(from, text, `JSON that is not an answer (no "${field}" list)`);
  }
  const id = typeof json.id === 'string' ? json.id.slice(0, 200) : undefined;
  return {
    text,
    bytes: raw,
    usage: openAIUsage(json),
    upstreamId: id === undefined ? undefined : from.secrets.mask(id),
  };
}
