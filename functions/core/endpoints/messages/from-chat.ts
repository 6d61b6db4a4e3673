/**
 * Chat answer → Messages answer, for targets that speak chat: a whole `chat.completion` becomes a `message`
 * (https://docs.anthropic.com/en/api/messages, "Response"), and a stream of `chat.completion.chunk`s becomes
 * the documented events (https://docs.anthropic.com/en/docs/build-with-claude/streaming): message_start,
 * ping, content_block_start / _delta (text_delta, input_json_delta) / _stop, message_delta with the stop
 * reason and cumulative usage, message_stop — or `event: error` on failure.
 */
import { type SwitchyardError, UpstreamError } from '../../errors.ts';
import { isRecord, type Json } from '../../json.ts';
import { openAIUsage } from '../../providers/openai/adapter.ts';
import type { Usage } from '../../providers/types.ts';
import { anthropicErrorEvent } from './errors.ts';

/** What a translation needs besides the chat answer. */
export interface MessagesContext {
  /** The model the message names when the chat answer names none. */
  readonly model: string;
  /** The gateway's request id: the message id when the chat answer has none. */
  readonly requestId: string;
  /** The request's stop_sequences: one a relay reports as matched becomes `stop_sequence`. */
  readonly stopSequences?: readonly string[];
  /**
   * Input tokens estimated before the call, for message_start's usage (chat reports usage only at the end).
   */
  readonly inputTokens?: number;
}

/**
 * Chat `finish_reason` (quoted from https://platform.openai.com/docs/api-reference/chat/object, choices →
 * finish_reason) → Messages `stop_reason` (the #anchor of https://docs.anthropic.com/en/api/handling-stop-reasons).
 * Unknown (future) reasons read as end_turn: the answer ended, and nothing says it was cut.
 */
export const STOP_REASONS: ReadonlyMap<string, string> = new Map([
  // "stop: the model hit a natural stop point or a provided stop sequence" → #end-turn (or #stop-sequence
  // when the relay says which sequence matched: see stopOf)
  ['stop', 'end_turn'],
  // "length: the maximum number of tokens specified in the request was reached" → #max-tokens
  ['length', 'max_tokens'],
  // "tool_calls: the model called a tool" → #tool-use
  ['tool_calls', 'tool_use'],
  // the deprecated "function_call" → #tool-use
  ['function_call', 'tool_use'],
  // "content_filter: content was omitted due to a flag from our content filters" → #refusal
  ['content_filter', 'refusal'],
]);

export interface StopOf {
  readonly stop_reason: string;
  readonly stop_sequence: string | null;
}

/**
 * The stop reason of a chat choice. A `stop` with tool calls is tool_use (some relays say stop); vLLM-style
 * relays put the matched stop string in `choices[].stop_reason`, which is `stop_sequence` when the client
 * asked for it — chat says no more than that.
 */
export function stopOf(finish: unknown, matched: unknown, toolCalls: number, ctx: MessagesContext): StopOf {
  if (finish === 'stop' && toolCalls > 0) return { stop_reason: 'tool_use', stop_sequence: null };
  if (finish === 'stop' && typeof matched === 'string' && ctx.stopSequences?.includes(matched) === true) {
    return { stop_reason: 'stop_sequence', stop_sequence: matched };
  }
  const reason = typeof finish === 'string' ? STOP_REASONS.get(finish) : undefined;
  return { stop_reason: reason ?? 'end_turn', stop_sequence: null };
}

/**
 * Messages `usage` of the gateway's usage: Anthropic's input_tokens leaves the cache reads and writes out.
 */
export function anthropicUsage(u: Usage | undefined, estimatedInput = 0): Json {
  if (u === undefined) return { input_tokens: estimatedInput, output_tokens: 0 };
  const read = u.cachedInputTokens ?? 0;
  const written = u.cacheWriteTokens ?? 0;
  return {
    input_tokens: Math.max(0, u.inputTokens - read - written),
    output_tokens: u.outputTokens,
    cache_read_input_tokens: read,
    cache_creation_input_tokens: written,
  };
}

/** An id Anthropic accepts back (`^[a-zA-Z0-9_-]+$`, as a later turn to an Anthropic target sends it). */
function safeId(raw: unknown, prefix: string, fallback: string): string {
  const id = typeof raw === 'string' ? raw.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 200) : '';
  return id === '' ? fallback : `${prefix}${id}`;
}

/** `msg_…` from the chat id (its `chatcmpl-` prefix cut), else from the request id. */
function messageId(raw: unknown, ctx: MessagesContext): string {
  const chat = typeof raw === 'string' ? raw.replace(/^chatcmpl-/, '') : undefined;
  return safeId(chat, 'msg_', safeId(ctx.requestId, 'msg_', 'msg_gateway'));
}

/** A tool call's arguments as the object `input`; text that is no JSON object reads as `{}`. */
function inputOf(args: unknown): Json {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(args);
    return isRecord(v) ? v : {};
  } catch {
    return {};
  }
}

/** A chat content (string or text parts) as text. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((p): p is Json => isRecord(p) && typeof p.text === 'string')
    .map((p) => p.text as string)
    .join('');
}

/**
 * A whole `chat.completion` (parsed) → the Messages `message` object; `usage` (what the gateway read from the
 * answer) wins over the completion's own. Reasoning text is not made a thinking block: it has no signature
 * an Anthropic target would accept back.
 */
export function messageFromChat(completion: Json, ctx: MessagesContext, usage?: Usage): Json {
  const choice = Array.isArray(completion.choices) ? completion.choices.find(isRecord) : undefined;
  const message = isRecord(choice?.message) ? choice.message : {};
  const content: Json[] = [];
  const text = contentText(message.content) || (typeof message.refusal === 'string' ? message.refusal : '');
  if (text !== '') content.push({ type: 'text', text });
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls.filter(isRecord) : [];
  calls.forEach((call, i) => {
    const fn = isRecord(call.function) ? call.function : {};
    content.push({
      type: 'tool_use',
      id: safeId(call.id, '', `toolu_${i}`),
      name: typeof fn.name === 'string' ? fn.name : '',
      input: inputOf(fn.arguments),
    });
  });
  return {
    id: messageId(completion.id, ctx),
    type: 'message',
    role: 'assistant',
    model: typeof completion.model === 'string' ? completion.model : ctx.model,
    content,
    ...stopOf(choice?.finish_reason, choice?.stop_reason, calls.length, ctx),
    usage: anthropicUsage(usage ?? openAIUsage(completion)),
  };
}

const event = (type: string, data: Json): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** The content block open in a stream: text, or the tool call of a chat tool index. */
type Open = { readonly kind: 'text' } | { readonly kind: 'tool'; readonly chatIndex: number };

/**
 * Writes one streamed chat answer as Messages events, fed its chunks one by one (parsed JSON). Blocks are
 * sequential, as Anthropic sends them: text opens a text block, each tool call a tool_use block, and a new
 * block closes the one before. Chat sends a tool call's arguments before the next call starts; an argument
 * delta for an earlier call (no provider is known to send one) still goes to that call's block index, where
 * the SDK's accumulator puts it.
 */
export class ChatToMessagesStream {
  private started = false;
  private ended = false;
  private open: Open | undefined;
  private index = -1;
  private readonly toolBlocks = new Map<number, number>();
  private finishReason: unknown;
  private matched: unknown;
  private usage: Usage | undefined;

  constructor(private readonly ctx: MessagesContext) {}

  /** One chat chunk → the events it completes ('' when none). */
  push(chunk: Json): string {
    if (this.ended) return '';
    let out = this.start(chunk);
    this.usage = openAIUsage(chunk) ?? this.usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices.find(isRecord) : undefined;
    if (choice === undefined) return out;
    const delta = isRecord(choice.delta) ? choice.delta : {};
    for (const field of ['content', 'refusal']) {
      const text = delta[field];
      if (typeof text === 'string' && text !== '') out += this.text(text);
    }
    if (Array.isArray(delta.tool_calls)) {
      delta.tool_calls.filter(isRecord).forEach((call, i) => {
        out += this.tool(call, i);
      });
    }
    if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason;
    if (typeof choice.stop_reason === 'string') this.matched = choice.stop_reason;
    return out;
  }

  /**
   * The end: `done` (the upstream completed the answer) closes the open block and writes message_delta
   * (stop reason, cumulative usage — `usage` wins over what the chunks said) and message_stop; an error, or
   * an end that is not done (a cut stream), writes `event: error` instead.
   */
  finish(how: { readonly done: boolean; readonly usage?: Usage; readonly error?: SwitchyardError }): string {
    if (this.ended) return '';
    this.ended = true;
    if (how.error !== undefined || !how.done) {
      const error =
        how.error ??
        new UpstreamError({
          code: 'upstream_stream_cut',
          message: 'The upstream stream ended before the answer was complete.',
        });
      return anthropicErrorEvent(error, this.ctx.requestId);
    }
    let out = this.start({}) + this.close();
    const usage = how.usage ?? this.usage;
    out += event('message_delta', {
      delta: stopOf(this.finishReason, this.matched, this.toolBlocks.size, this.ctx),
      usage: anthropicUsage(usage, this.ctx.inputTokens),
    });
    return out + event('message_stop', {});
  }

  private start(chunk: Json): string {
    if (this.started) return '';
    this.started = true;
    const usage = openAIUsage(chunk);
    const message = {
      id: messageId(chunk.id, this.ctx),
      type: 'message',
      role: 'assistant',
      model: typeof chunk.model === 'string' ? chunk.model : this.ctx.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: anthropicUsage(usage, this.ctx.inputTokens),
    };
    // Anthropic sends a ping early in every stream; clients skip it, proxies see bytes flowing.
    return event('message_start', { message }) + event('ping', {});
  }

  private close(): string {
    if (this.open === undefined) return '';
    this.open = undefined;
    return event('content_block_stop', { index: this.index });
  }

  private text(text: string): string {
    let out = '';
    if (this.open?.kind !== 'text') {
      out += this.close();
      this.open = { kind: 'text' };
      this.index++;
      out += event('content_block_start', { index: this.index, content_block: { type: 'text', text: '' } });
    }
    return out + event('content_block_delta', { index: this.index, delta: { type: 'text_delta', text } });
  }

  private tool(call: Json, position: number): string {
    const chatIndex = typeof call.index === 'number' ? call.index : position;
    const fn = isRecord(call.function) ? call.function : {};
    let out = '';
    let block = this.toolBlocks.get(chatIndex);
    if (block === undefined) {
      out += this.close();
      block = ++this.index;
      this.toolBlocks.set(chatIndex, block);
      this.open = { kind: 'tool', chatIndex };
      const content_block = {
        type: 'tool_use',
        id: safeId(call.id, '', `toolu_${this.ctx.requestId}_${chatIndex}`.replace(/[^a-zA-Z0-9_-]/g, '_')),
        name: typeof fn.name === 'string' ? fn.name : '',
        input: {},
      };
      out += event('content_block_start', { index: block, content_block });
    }
    const args = fn.arguments;
    if (typeof args === 'string' && args !== '') {
      out += event('content_block_delta', {
        index: block,
        delta: { type: 'input_json_delta', partial_json: args },
      });
    }
    return out;
  }
}
