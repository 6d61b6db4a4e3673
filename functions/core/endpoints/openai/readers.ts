/**
 * Readers of answers in OpenAI's chat and embeddings wire format, as OpenAI-compatible upstreams send them:
 * the text goes to the client as it came (whole events), and the reader says what the gateway needs — usage,
 * an error, the start and the end of the answer, the completion's id — looking into an event only when it may
 * hold one of those (the hot path forwards most events without parsing them).
 */
import { isRecord, type Json } from '../../json.ts';
import { openAIUsage, openAIUsageOfBody, upstreamIdOf } from '../../providers/openai/adapter.ts';
import { kindOfErrorObject } from '../../routing/failure.ts';
import { parseEvents, SseDecoder } from '../../sse/splitter.ts';
import {
  type AnswerRead,
  NotAnAnswerError,
  type StreamFailure,
  type StreamPiece,
  type StreamReader,
} from '../types.ts';

/** What an OpenAI-shaped error object says (`{"error": {message, type, code}}` or a translator's, with `kind`). */
export function failureOfError(error: unknown): StreamFailure {
  const e = isRecord(error) ? error : { message: String(error) };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const type = typeof e.type === 'string' ? e.type : undefined;
  return {
    kind: kindOfErrorObject(e),
    message: typeof e.message === 'string' ? e.message : 'error',
    ...(code === undefined ? {} : { code }),
    ...(type === undefined ? {} : { type }),
  };
}

/** The list a whole answer must hold: a chat completion's `choices`, an embeddings list's `data`. */
export type AnswerList = 'choices' | 'data';
const LIST_AT: Readonly<Record<AnswerList, RegExp>> = {
  choices: /"choices"\s*:\s*\[/,
  data: /"data"\s*:\s*\[/,
};

/**
 * The hot path's check: a JSON object (first and last non-space characters `{` `}`) that holds the answer's
 * list. Parsing a whole answer only to check it cost ~3 µs for a short completion and tens of ms for a large
 * embeddings batch; a body that fails this cheap look (an HTML page, text, an error object) is parsed to say
 * what it is.
 */
function looksLikeAnswer(text: string, list: AnswerList): boolean {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) <= 32) i++;
  let j = text.length - 1;
  while (j > i && text.charCodeAt(j) <= 32) j--;
  return text.charCodeAt(i) === 123 && text.charCodeAt(j) === 125 && LIST_AT[list].test(text);
}

/**
 * Reads a whole OpenAI-format answer: the text as it came, its usage (from its `usage` object only) and id.
 * Throws {@link NotAnAnswerError} for a body that is no answer — with the failure it says for a 200 whose
 * body is `{"error": …}` (relays that put errors in a 200).
 */
export function readOpenAIAnswer(text: string, list: AnswerList): AnswerRead {
  if (looksLikeAnswer(text, list)) {
    const usage = openAIUsageOfBody(text);
    const id = upstreamIdOf(text);
    return {
      text,
      ...(usage === undefined ? {} : { usage }),
      ...(id === undefined ? {} : { upstreamId: id }),
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new NotAnAnswerError(text.trim() === '' ? 'an empty body' : 'a body that is not JSON');
  }
  if (isRecord(json) && Array.isArray(json[list])) {
    const usage = openAIUsage(json);
    const id = typeof json.id === 'string' ? json.id.slice(0, 200) : undefined;
    return {
      text,
      ...(usage === undefined ? {} : { usage }),
      ...(id === undefined ? {} : { upstreamId: id }),
    };
  }
  if (isRecord(json) && json.error !== undefined && json.error !== null) {
    throw new NotAnAnswerError('an error in a 200 body', failureOfError(json.error));
  }
  throw new NotAnAnswerError(`JSON that is not an answer (no "${list}" list)`);
}

/**
 * An OpenAI-compatible chat stream, passed through event by event. The first events go to the client as soon
 * as they are read (holding a role chunk for the first content would cost every stream's TTFT a token gap):
 * any event but an error counts as the start, so only an error as the very first event fails over. The
 * usage-only chunk (`choices: []`) is taken out of the text: the relay sends it to a client that asked.
 */
export class ChatStreamReader implements StreamReader {
  private readonly sse = new SseDecoder();
  private seenId = false;

  push(chunk: Uint8Array): StreamPiece {
    return this.read(this.sse.push(chunk));
  }

  end(): StreamPiece {
    return this.read(this.sse.end());
  }

  private read(text: string): StreamPiece {
    if (text === '') return { text };
    let upstreamId: string | undefined;
    if (!this.seenId) {
      this.seenId = true;
      upstreamId = upstreamIdOf(text);
    }
    const id = upstreamId === undefined ? {} : { upstreamId };
    // The hot path: most events hold none of what the gateway looks for.
    const hasDone = text.includes('[DONE]');
    const hasUsage = text.includes('"usage":{') || text.includes('"usage": {');
    const hasError = text.includes('"error"');
    if (!hasDone && !hasUsage && !hasError) return { text, started: true, ...id };
    let out = '';
    let usage: StreamPiece['usage'];
    let usageChunk: Json | undefined;
    let done = false;
    for (const block of text.split('\n\n')) {
      if (block === '') continue;
      const data = parseEvents(`${block}\n\n`)[0]?.data;
      if (data === '[DONE]') done = true;
      else if (data !== undefined && (data.includes('"usage"') || data.includes('"error"'))) {
        let json: unknown;
        try {
          json = JSON.parse(data);
        } catch {
          json = undefined;
        }
        if (isRecord(json) && json.error !== undefined && json.error !== null && !('choices' in json)) {
          // Nothing after an error event is sent; the relay writes the gateway's own error event.
          return {
            text: out,
            failure: failureOfError(json.error),
            ...(out === '' ? {} : { started: true }),
            ...id,
          };
        }
        const u = openAIUsage(json);
        if (u !== undefined) {
          usage = u;
          const choices = isRecord(json) ? json.choices : undefined;
          if (isRecord(json) && (!Array.isArray(choices) || choices.length === 0)) {
            usageChunk = json;
            continue;
          }
        }
      }
      out += `${block}\n\n`;
    }
    return {
      text: out,
      ...(out === '' ? {} : { started: true }),
      ...(usage === undefined ? {} : { usage }),
      ...(usageChunk === undefined ? {} : { usageChunk }),
      ...(done ? { done: true } : {}),
      ...id,
    };
  }
}

const DONE = 'data: [DONE]\n\n';

/**
 * The text with the chat usage chunk a client asked for, the request's cost in its usage (`usage.cost`):
 * where OpenAI sends it, last before `[DONE]`.
 */
export function withChatUsageEvent(text: string, chunk: Json, cost: number | undefined): string {
  const usage = isRecord(chunk.usage) ? chunk.usage : {};
  const out = cost === undefined ? chunk : { ...chunk, usage: { ...usage, cost } };
  const event = `data: ${JSON.stringify(out)}\n\n`;
  const at = text.lastIndexOf(DONE);
  return at === -1 ? text + event : text.slice(0, at) + event + text.slice(at);
}
