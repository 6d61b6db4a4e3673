/**
 * Readers of native Messages answers (an Anthropic target, or Claude on Bedrock through InvokeModel): the
 * client's bytes are the upstream's — each whole event passes through as it came — and the reader only
 * learns from them what the gateway needs: the message id, usage, "the answer has started", done, a failure.
 * Stream events: https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */
import { isRecord, type Json } from '../../json.ts';
import { anthropicStreamErrorKind } from '../../providers/anthropic/errors.ts';
import { type AnthropicUsage, openAIUsageOf, readUsage } from '../../providers/anthropic/response.ts';
import type { Usage } from '../../providers/types.ts';
import { parseEvents, SseDecoder } from '../../sse/splitter.ts';
import {
  type AnswerRead,
  EMPTY_PIECE,
  NotAnAnswerError,
  type StreamFailure,
  type StreamPiece,
  type StreamReader,
} from '../types.ts';

/** Anthropic's counters as last reported, plus the thinking tokens among the output ones. */
interface Counts extends AnthropicUsage {
  thinking?: number;
}

function readCounts(into: Counts, usage: unknown): boolean {
  if (!isRecord(usage)) return false;
  readUsage(into, usage);
  const details = isRecord(usage.output_tokens_details) ? usage.output_tokens_details : undefined;
  const thinking = details?.thinking_tokens;
  if (typeof thinking === 'number' && Number.isFinite(thinking)) into.thinking = thinking;
  return true;
}

function usageOf(c: Counts): Usage | undefined {
  const u = openAIUsageOf(c);
  if (u === undefined || c.thinking === undefined) return u;
  return { ...u, reasoningTokens: c.thinking };
}

/**
 * A Messages `usage` object in the gateway's meaning: Anthropic's `input_tokens` leaves out the cache reads
 * and writes ("total input tokens is the summation of input_tokens, cache_creation_input_tokens and
 * cache_read_input_tokens"), the gateway's input counts all three, with the reads as cachedInputTokens and
 * the writes as cacheWriteTokens. Undefined when it holds no counts.
 */
export function messagesUsage(usage: unknown): Usage | undefined {
  const c: Counts = {};
  return readCounts(c, usage) ? usageOf(c) : undefined;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** An Anthropic `error` object (of a stream's error event or a 200 error body) as the gateway's failure. */
function failureOf(error: unknown): StreamFailure {
  const e = isRecord(error) ? error : {};
  const type = text(e.type);
  return {
    kind: anthropicStreamErrorKind(e),
    message: text(e.message) ?? 'Anthropic stream error',
    ...(type === undefined ? {} : { type, code: type }),
  };
}

/**
 * Event types that carry part of the answer: a failure after one of them cannot fail over. Not
 * `content_block_start`: its block is empty (`text: ""`, a tool's name with `input: {}`), and an
 * `overloaded_error` right after it still fails over; it is held and goes out with the first delta.
 */
const ANSWER_EVENTS: ReadonlySet<string> = new Set([
  'content_block_delta',
  'content_block_stop',
  'message_delta',
]);

/** Events whose data the reader needs (the id, usage, a failure); the others' names say enough. */
const PARSED: ReadonlySet<string> = new Set(['message_start', 'message_delta', 'error']);

/** Reads a native Messages stream; its text is the upstream's events, each whole, as they came. */
export class MessagesStreamReader implements StreamReader {
  private readonly sse = new SseDecoder();
  private readonly counts: Counts = {};
  private failed = false;

  push(chunk: Uint8Array): StreamPiece {
    return this.failed ? EMPTY_PIECE : this.read(this.sse.push(chunk));
  }

  end(): StreamPiece {
    // An event the body ended in without its blank line is closed rather than lost (SseDecoder.end).
    return this.failed ? EMPTY_PIECE : this.read(this.sse.end());
  }

  private read(complete: string): StreamPiece {
    if (complete === '') return EMPTY_PIECE;
    let out = '';
    let usage = false;
    let started = false;
    let done = false;
    let upstreamId: string | undefined;
    for (const block of complete.split('\n\n')) {
      if (block === '') continue;
      const ev = parseEvents(block)[0];
      // Anthropic (and the Bedrock transport) name each event on its `event:` line: only the events the
      // gateway reads are parsed — deltas, most of a stream, pass without a JSON.parse.
      let data: unknown;
      if (ev !== undefined && (ev.event === undefined || PARSED.has(ev.event))) {
        try {
          data = JSON.parse(ev.data);
        } catch {
          data = undefined; // not an event of the Messages API: passed on as it came
        }
      }
      const d: Json = isRecord(data) ? data : {};
      const type = typeof d.type === 'string' ? d.type : (ev?.event ?? '');
      if (type === 'error') {
        // The gateway writes its own error event (errors.ts); nothing the upstream sends after it is read.
        this.failed = true;
        return this.piece(out, usage, started, done, upstreamId, failureOf(d.error));
      }
      out += `${block}\n\n`;
      if (ANSWER_EVENTS.has(type)) started = true;
      if (type === 'message_start' && isRecord(d.message)) {
        upstreamId = text(d.message.id) ?? upstreamId;
        usage = readCounts(this.counts, d.message.usage) || usage;
      } else if (type === 'message_delta') {
        usage = readCounts(this.counts, d.usage) || usage; // cumulative: the latest of each counter wins
      } else if (type === 'message_stop') {
        done = true;
      }
    }
    return this.piece(out, usage, started, done, upstreamId);
  }

  private piece(
    out: string,
    usageRead: boolean,
    started: boolean,
    done: boolean,
    upstreamId: string | undefined,
    failure?: StreamFailure,
  ): StreamPiece {
    const usage = usageRead ? usageOf(this.counts) : undefined;
    return {
      text: out,
      ...(usage === undefined ? {} : { usage }),
      ...(failure === undefined ? {} : { failure }),
      ...(started ? { started: true } : {}),
      ...(done ? { done: true } : {}),
      ...(upstreamId === undefined ? {} : { upstreamId }),
    };
  }
}

/**
 * A whole native Messages answer: its text is the upstream's body as it came. Throws NotAnAnswerError when
 * the body is no `message` (with the failure when it is an Anthropic error body).
 */
export function readMessagesBody(body: string): AnswerRead {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new NotAnAnswerError('The upstream answer is not JSON.');
  }
  if (!isRecord(json)) throw new NotAnAnswerError('The upstream answer is not a JSON object.');
  if (json.type === 'error') {
    throw new NotAnAnswerError(
      'The upstream answered an error with a success status.',
      failureOf(json.error),
    );
  }
  if (json.type !== 'message' || !Array.isArray(json.content)) {
    throw new NotAnAnswerError('The upstream answer is not a Messages `message`.');
  }
  const usage = messagesUsage(json.usage);
  const upstreamId = text(json.id);
  return {
    text: body,
    ...(usage === undefined ? {} : { usage }),
    ...(upstreamId === undefined ? {} : { upstreamId }),
  };
}
