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
 * Before the answer started, an event that holds part of it: a non-empty `content`, `refusal`, `reasoning` or
 * `reasoning_content` string, a tool call, or a finish reason (an answer that ends empty is an answer). The
 * role chunk (`{"role":"assistant","content":""}`, `refusal: null`, `finish_reason: null`) matches none, nor
 * does `finish_reason: "error"` (OpenRouter's error chunk, a failure).
 */
const STARTS =
  /"(?:content|refusal|reasoning_content|reasoning)"\s*:\s*"[^"]|"finish_reason"\s*:\s*"(?!error")[^"]|"tool_calls"\s*:\s*\[\s*\{|"function_call"\s*:\s*\{/;
/**
 * One of those keys with a value that is no string and not `null` (content as a list of parts, an empty
 * `tool_calls` list, …): the string test cannot tell, the event is parsed.
 */
const MAYBE =
  /"(?:content|refusal|reasoning_content|reasoning|finish_reason|tool_calls|function_call|audio|images)"\s*:\s*(?![\s"]|null\b)/;

const nonEmpty = (v: unknown): boolean =>
  (typeof v === 'string' && v !== '') || (Array.isArray(v) && v.length > 0) || isRecord(v);

/** Whether a chunk's JSON holds part of the answer (the ambiguous case of {@link startsAnswer}). */
function chunkStarts(data: string): boolean {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return true; // not a chunk the gateway can read: it may be the answer, so it is not held
  }
  if (!isRecord(json) || !Array.isArray(json.choices)) return false;
  for (const choice of json.choices) {
    if (!isRecord(choice)) continue;
    if (
      typeof choice.finish_reason === 'string' &&
      choice.finish_reason !== '' &&
      choice.finish_reason !== 'error'
    )
      return true;
    const d = isRecord(choice.delta) ? choice.delta : undefined;
    if (d === undefined) continue;
    // Audio (`delta.audio`) and images (OpenRouter's `delta.images`) are answers with no text token.
    for (const k of ['content', 'tool_calls', 'function_call', 'audio', 'images'] as const)
      if (nonEmpty(d[k])) return true;
    for (const k of ['refusal', 'reasoning_content', 'reasoning'] as const) {
      if (typeof d[k] === 'string' && d[k] !== '') return true;
    }
  }
  return false;
}

/**
 * Whether whole events (one or more) hold part of the answer: a string test, and a JSON.parse only for an
 * event the test cannot tell.
 */
export function startsAnswer(text: string): boolean {
  if (STARTS.test(text)) return true;
  if (!MAYBE.test(text)) return false;
  for (const block of text.split('\n\n')) {
    if (block === '' || !MAYBE.test(block)) continue;
    const data = parseEvents(`${block}\n\n`)[0]?.data;
    if (data !== undefined && data !== '[DONE]' && chunkStarts(data)) return true;
  }
  return false;
}

/**
 * An OpenAI-compatible chat stream, passed through event by event. The answer starts at the first event that
 * holds part of it ({@link startsAnswer}: content, a refusal, reasoning, a tool call, a finish reason); the
 * events before it — the role chunk, keep-alive comments — hold nothing and are not the start, so a relay
 * whose role chunk is followed by an error event, a cut or silence still fails over (the head holds them,
 * stream-head.ts). Holding the role chunk costs no TTFT, counted to the first content token: it goes out in
 * the same write as the first content event, the moment that event is read. Once started, a boolean says so
 * and no event is looked at for it again. The usage-only chunk (`choices: []`) is taken out of the text: the
 * relay sends it to a client that asked.
 */
export class ChatStreamReader implements StreamReader {
  private readonly sse = new SseDecoder();
  private seenId = false;
  private started = false;

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
    if (!hasDone && !hasUsage && !hasError) {
      if (!this.started && !startsAnswer(text)) return { text, ...id };
      this.started = true;
      return { text, started: true, ...id };
    }
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
        if (isRecord(json) && json.error !== undefined && json.error !== null) {
          // An error event, bare (OpenAI) or as a chunk whose choices end with `finish_reason: "error"`
          // (OpenRouter): nothing after it is sent; the relay writes the gateway's own error event.
          return {
            text: out,
            failure: failureOfError(json.error),
            ...(this.started ? { started: true } : {}),
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
      if (!this.started && data !== '[DONE]' && startsAnswer(`${block}\n\n`)) this.started = true;
    }
    return {
      text: out,
      ...(this.started ? { started: true } : {}),
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
