/**
 * `POST /v1/chat/completions`. An `openai` (or `mock`) target gets the client's request as it was sent — only
 * the model replaced and, for a stream, the usage chunk asked for — and its answer is relayed as it came; a
 * native provider gets the request through its adapter's field table and its answer through its translator.
 * Chat is also the form every other endpoint is translated to for a target that does not speak it.
 */

import type { Json } from '../../json.ts';
import { clientWantsUsage, withUsageCost } from '../../providers/openai/adapter.ts';
import { chatRequestSchema, parseBody } from '../../schemas/openai.ts';
import { estimateOutputOfBody, estimateOutputOfEvents } from '../../usage/estimate.ts';
import { estimateChatInputTokens } from '../../usage/tokenizer.ts';
import { openAIErrorBody, openAIErrorEvent } from '../openai/errors.ts';
import { ChatStreamReader, readOpenAIAnswer, withChatUsageEvent } from '../openai/readers.ts';
import type { ClientRequest, EndpointSpec, TargetCall, TargetInput } from '../spec.ts';
import { buildFor, forwardTo } from '../target-calls.ts';

export const SSE = 'text/event-stream';

/**
 * The call of a chat request (the client's, or one translated from another endpoint: `text` undefined) to a
 * target, and how its answer is read as chat.
 */
export function chatCall(
  json: Json,
  text: string | undefined,
  headers: ClientRequest['headers'],
  t: TargetInput,
): TargetCall {
  const stream = json.stream === true;
  const call =
    forwardTo(t, 'chat', { text: text ?? JSON.stringify(json), json, stream }, headers) ??
    buildFor(t, 'chat', json);
  const tr = call.translator;
  return {
    call,
    answer: tr === undefined ? (body) => readOpenAIAnswer(body, 'choices') : (body) => tr.body(body),
    stream: tr === undefined ? () => new ChatStreamReader() : () => tr.stream(),
    streamType: call.streamType ?? SSE,
  };
}

export const chatSpec: EndpointSpec = {
  id: 'chat',
  path: '/v1/chat/completions',
  parse: (raw) => parseBody(chatRequestSchema, raw),
  model: (body) => body.model as string,
  stream: (body) => body.stream === true,
  callFor: (req, t) => chatCall(req.json, req.text, req.headers, t),
  errorBody: openAIErrorBody,
  errorEvent: openAIErrorEvent,
  clientWantsUsage,
  withUsageEvent: withChatUsageEvent,
  withCost: withUsageCost,
  estimateInput: (counter, req) => estimateChatInputTokens(counter, req.json),
  estimateOutput: (counter, text, streamed) =>
    streamed ? estimateOutputOfEvents(counter, text) : estimateOutputOfBody(counter, text),
  bounds: (req) => ({ op: 'chat', body: req.json }),
};
