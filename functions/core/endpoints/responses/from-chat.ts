/**
 * A chat answer → a Responses answer, for a Responses request served by a chat target: the whole answer
 * ({@link responseFromChat}) here, the stream in {@link ChatToResponsesStream} (chat-stream.ts).
 * https://platform.openai.com/docs/api-reference/responses/object
 */
import { isRecord, type Json } from '../../json.ts';
import { openAIUsage } from '../../providers/openai/adapter.ts';
import type { Usage } from '../../providers/types.ts';
import { NotAnAnswerError } from '../types.ts';
import {
  functionCallItem,
  INCOMPLETE_REASONS,
  itemId,
  messageItem,
  outputTextPart,
  type ResponseContext,
  refusalPart,
  responseObject,
} from './response-object.ts';

export { ChatToResponsesStream } from './chat-stream.ts';

/** A chat message's content as text (a string, or text parts joined: some relays answer with parts). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p: unknown) => (isRecord(p) && typeof p.text === 'string' ? p.text : '')).join('');
}

/**
 * A non-stream `chat.completion` (JSON) → the Response object. Its first choice is the answer (a translated
 * request never asks for more); `usage` wins over the completion's own when given (the gateway's reading of
 * it). Throws {@link NotAnAnswerError} for a completion without a choice.
 */
export function responseFromChat(completion: Json, ctx: ResponseContext, usage?: Usage): Json {
  const choice = Array.isArray(completion.choices) ? completion.choices[0] : undefined;
  if (!isRecord(choice)) throw new NotAnAnswerError('a chat completion without a choice');
  const message = isRecord(choice.message) ? choice.message : {};
  const incomplete =
    typeof choice.finish_reason === 'string' ? INCOMPLETE_REASONS.get(choice.finish_reason) : undefined;
  const status = incomplete === undefined ? 'completed' : 'incomplete';
  const output: Json[] = [];
  const text = contentText(message.content);
  const refusal = typeof message.refusal === 'string' && message.refusal !== '' ? message.refusal : undefined;
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls.filter(isRecord) : [];
  // A text-less answer that calls tools has no message item (as OpenAI answers it); an empty answer has one.
  if (text !== '' || refusal !== undefined || calls.length === 0) {
    const parts = [...(text !== '' || refusal === undefined ? [outputTextPart(text)] : [])];
    if (refusal !== undefined) parts.push(refusalPart(refusal));
    output.push(messageItem(itemId(ctx, 'msg', output.length), status, parts));
  }
  for (const call of calls) {
    const fn = isRecord(call.function) ? call.function : {};
    const index = output.length;
    output.push(
      functionCallItem(itemId(ctx, 'fc', index), status, {
        callId: typeof call.id === 'string' ? call.id : itemId(ctx, 'call', index),
        name: typeof fn.name === 'string' ? fn.name : '',
        arguments: typeof fn.arguments === 'string' ? fn.arguments : '',
      }),
    );
  }
  return responseObject(ctx, { status, output, usage: usage ?? openAIUsage(completion), incomplete });
}
