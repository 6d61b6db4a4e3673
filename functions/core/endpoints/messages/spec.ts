/**
 * `POST /v1/messages` (Anthropic's Messages API). An `anthropic` target gets the request as the client sent
 * it (the model replaced; `anthropic-version` and `anthropic-beta` passed through) and its events are relayed
 * as they come; a `bedrock` target whose model is Claude gets it through InvokeModel (bedrock.ts); every other
 * target gets it translated to chat (to-chat.ts) and its answer written back as a Message (from-chat*.ts).
 * Errors are Anthropic's shape (errors.ts), with `request-id` beside `x-request-id`.
 * https://docs.anthropic.com/en/api/messages
 */
import { InvalidRequestError } from '../../errors.ts';
import { header } from '../../http.ts';
import { isRecord, type Json } from '../../json.ts';
import { parseBody } from '../../schemas/openai.ts';
import { BYTES_COUNTER } from '../../usage/estimate.ts';
import type { TokenCounter } from '../../usage/types.ts';
import { chatCall, SSE } from '../chat/spec.ts';
import { withChatUsageEvent } from '../openai/readers.ts';
import type { BoundsInput, ClientRequest, EndpointSpec, TargetCall, TargetInput } from '../spec.ts';
import { forwardTo } from '../target-calls.ts';
import { estimateMessagesTokens, messagesOutputText } from './count-tokens.ts';
import { anthropicErrorBody, anthropicErrorEvent } from './errors.ts';
import type { MessagesContext } from './from-chat.ts';
import { MessagesFromChatReader, readMessagesFromChat } from './from-chat-reader.ts';
import { MessagesStreamReader, readMessagesBody } from './readers.ts';
import { type MessagesRequest, messagesRequestSchema } from './schema.ts';
import { type ChatFromMessages, chatFromMessages } from './to-chat.ts';

/** Anthropic's version and beta headers pass through: printable ASCII, at most this long. */
export const MAX_ANTHROPIC_HEADER = 1024;
const PRINTABLE = /^[\x20-\x7e]*$/;

/** The client's `anthropic-version` / `anthropic-beta`, checked before they go upstream (400 otherwise). */
export function checkAnthropicHeaders(headers: ClientRequest['headers']): void {
  for (const name of ['anthropic-version', 'anthropic-beta']) {
    const value = header(headers, name);
    if (value === undefined) continue;
    if (value.length > MAX_ANTHROPIC_HEADER || !PRINTABLE.test(value)) {
      throw new InvalidRequestError({
        code: 'invalid_header',
        param: name,
        message: `The ${name} header must be printable ASCII of at most ${MAX_ANTHROPIC_HEADER} characters.`,
      });
    }
  }
}

/** What a Messages request keeps across its targets: its chat translation and input estimate, made once. */
export class MessagesState {
  private translated: ChatFromMessages | Error | undefined;
  private estimate: number | undefined;

  constructor(private readonly body: MessagesRequest) {}

  /** The request as chat; throws the UnsupportedFieldError of a field no chat target can take. */
  chat(): ChatFromMessages {
    if (this.translated === undefined) {
      try {
        this.translated = chatFromMessages(this.body);
      } catch (err) {
        this.translated = err instanceof Error ? err : new Error(String(err));
      }
    }
    if (this.translated instanceof Error) throw this.translated;
    return this.translated;
  }

  /**
   * A translated stream's input tokens before the provider counts them (message_start's usage, and the final
   * one when the provider reports none): four bytes a token, no tokenizer — a tokenizer pass over a long
   * conversation would cost tens of ms of the first token's time. message_delta carries the provider's count.
   */
  inputTokens(): number {
    this.estimate ??= estimateMessagesTokens(BYTES_COUNTER, this.body).input_tokens;
    return this.estimate;
  }
}

type Req = ClientRequest<MessagesRequest, MessagesState>;

/** Native: the target's own Messages answer, read as it came. */
function nativeCall(call: TargetCall['call']): TargetCall {
  return {
    call,
    answer: readMessagesBody,
    stream: () => new MessagesStreamReader(),
    streamType: SSE,
  };
}

function callFor(req: Req, t: TargetInput): TargetCall {
  const body = { text: req.text, json: req.json, stream: req.json.stream === true };
  const direct = forwardTo(t, 'messages', body, req.headers);
  if (direct !== undefined) return nativeCall(direct);
  const { chat, warnings } = req.state.chat();
  const tc = chatCall(chat, undefined, req.headers, t);
  const inputTokens = req.state.inputTokens();
  const ctx: MessagesContext = {
    model: t.model,
    requestId: t.requestId,
    ...(req.json.stop_sequences === undefined ? {} : { stopSequences: req.json.stop_sequences }),
    inputTokens,
  };
  return {
    call:
      warnings.length === 0 ? tc.call : { ...tc.call, warnings: [...(tc.call.warnings ?? []), ...warnings] },
    answer: (text) => readMessagesFromChat(tc.answer(text), ctx),
    stream: () => new MessagesFromChatReader(tc.stream(), ctx),
    streamType: tc.streamType,
  };
}

/**
 * The budget bound on the chat form (the output cap is `max_tokens`, which Messages requires); a request no
 * chat target could take (server tools, MCP) is bound by its bytes, a token each.
 */
function boundsOf(req: Req): BoundsInput {
  let chat: Json;
  try {
    chat = req.state.chat().chat;
  } catch {
    chat = { messages: [{ role: 'user', content: req.text }], max_tokens: req.json.max_tokens };
  }
  return { op: 'chat', body: chat };
}

/** Output tokens of a whole Message (its text, tool inputs and thinking) or of forwarded events. */
function estimateOutput(counter: TokenCounter, text: string, streamed: boolean): number {
  if (streamed) return counter.count(messagesOutputText([text]));
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return counter.count(text);
  }
  let out = '';
  const content = isRecord(message) && Array.isArray(message.content) ? message.content : [];
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (typeof block.text === 'string') out += block.text;
    if (typeof block.thinking === 'string') out += block.thinking;
    if (block.type === 'tool_use') out += `${String(block.name ?? '')}${JSON.stringify(block.input ?? {})}`;
  }
  return counter.count(out);
}

export const messagesSpec: EndpointSpec<MessagesRequest, MessagesState> = {
  id: 'messages',
  path: '/v1/messages',
  parse: (raw) => parseBody(messagesRequestSchema, raw),
  model: (body) => body.model,
  stream: (body) => body.stream === true,
  prepare(req) {
    checkAnthropicHeaders(req.headers);
    return new MessagesState(req.json);
  },
  callFor,
  errorBody: (err, requestId) => anthropicErrorBody(err, requestId) as unknown as Json,
  errorEvent: anthropicErrorEvent,
  headers: (requestId) => ({ 'request-id': requestId }),
  clientWantsUsage: () => false,
  withUsageEvent: withChatUsageEvent,
  // The cost goes in the `x-switchyard-cost-usd` header: a Message's usage has no place for it.
  withCost: (text) => text,
  estimateInput: (counter, req) => estimateMessagesTokens(counter, req.json).input_tokens,
  estimateOutput,
  bounds: boundsOf,
};
