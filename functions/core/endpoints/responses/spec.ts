/**
 * `POST /v1/responses` (OpenAI's Responses API). A provider that serves it (type `openai` with `responses` in
 * its `endpoints`) gets the request as the client sent it — the model replaced — and its events are relayed as
 * they come; every other target gets it translated to chat (to-chat.ts) and its chat answer written back as a
 * Response (from-chat*.ts). Stored responses (state.ts) make `previous_response_id` work on every target: a
 * native target that served the response continued gets the request as sent; any other gets the earlier
 * turns as items (native) or messages (translated).
 * https://platform.openai.com/docs/api-reference/responses/create
 */

import { InvalidRequestError } from '../../errors.ts';
import { isRecord, type Json } from '../../json.ts';
import { editJson } from '../../json-edit.ts';
import type { UpstreamCall } from '../../providers/types.ts';
import type { AttemptFailure } from '../../routing/failure.ts';
import { parseBody } from '../../schemas/openai.ts';
import type { ServedBy } from '../../stores/response-store.ts';
import { estimateChatInputTokens } from '../../usage/tokenizer.ts';
import type { TokenCounter } from '../../usage/types.ts';
import { chatCall, SSE } from '../chat/spec.ts';
import { openAIErrorBody } from '../openai/errors.ts';
import { withChatUsageEvent } from '../openai/readers.ts';
import type { BoundsInput, ClientRequest, EndpointSpec, TargetCall, TargetInput } from '../spec.ts';
import { forwardTo } from '../target-calls.ts';
import { errorEvent } from './events.ts';
import { ResponsesFromChatReader, readResponsesFromChat } from './from-chat-reader.ts';
import { ResponsesStreamReader, readResponsesBody, responsesOutputText } from './readers.ts';
import { inlineReferences } from './references.ts';
import type { ResponseContext } from './response-object.ts';
import { type ResponsesRequest, responsesRequestSchema } from './schema.ts';
import { inputItemsOf, portableItems, ResponsesState } from './state.ts';
import { chatFromResponses } from './to-chat.ts';

type Req = ClientRequest<ResponsesRequest, ResponsesState>;

/** The request as chat, for bounds and estimates: undefined when no chat target could take it. */
function chatForm(req: Req): Json | undefined {
  try {
    return chatFromResponses(req.json, req.state.loaded ?? [], req.state.references).chat;
  } catch {
    return undefined;
  }
}

/** Tokens of the earlier turns not in the chat form (their stored count, until they are loaded). */
const unloadedTokens = (req: Req): number =>
  req.state.loaded === undefined ? (req.state.previousTokens ?? 0) : 0;

/**
 * The budget bound: the request's chat form (the output cap is `max_output_tokens`) plus the earlier turns.
 * A request no chat target could take (built-in tools) is bound by its bytes, a token each.
 */
function boundsOf(req: Req): BoundsInput {
  const chat = chatForm(req) ?? {
    messages: [{ role: 'user', content: req.text }],
    ...(typeof req.json.max_output_tokens === 'number' ? { max_tokens: req.json.max_output_tokens } : {}),
  };
  return { op: 'chat', body: chat, extraInputTokens: unloadedTokens(req) };
}

function estimateInput(counter: TokenCounter, req: Req): number {
  const chat = chatForm(req);
  const own = chat === undefined ? counter.count(req.text) : estimateChatInputTokens(counter, chat);
  return own + unloadedTokens(req);
}

/** Output tokens of a whole Response (its items' text and call arguments) or of forwarded events. */
function estimateOutput(counter: TokenCounter, text: string, streamed: boolean): number {
  if (streamed) return counter.count(responsesOutputText([text]));
  let response: unknown;
  try {
    response = JSON.parse(text);
  } catch {
    return counter.count(text);
  }
  const output = isRecord(response) && Array.isArray(response.output) ? response.output : [];
  let out = '';
  for (const item of output) {
    if (!isRecord(item)) continue;
    if (typeof item.arguments === 'string') out += `${String(item.name ?? '')}${item.arguments}`;
    if (!Array.isArray(item.content)) continue;
    for (const part of item.content) {
      if (isRecord(part) && typeof part.text === 'string') out += part.text;
      if (isRecord(part) && typeof part.refusal === 'string') out += part.refusal;
    }
  }
  return counter.count(out);
}

/**
 * The native call: the client's bytes (the model edited); or with its earlier turns spelled out as items, for
 * a provider that did not serve them; or with the items its references name in place of references to items
 * the gateway made (no provider knows those ids).
 */
async function nativeCall(req: Req, t: TargetInput, direct: UpstreamCall): Promise<UpstreamCall | undefined> {
  const s = req.state;
  const holds = s.holdsConversation(t.providerId);
  if (holds && s.references.size === 0) return direct;
  const own = inlineReferences(inputItemsOf(req.json.input), s.references, false);
  if (holds) {
    const json: Json = { ...req.json, input: own };
    const text = editJson(req.text, [{ set: 'input', value: own }], () => json);
    return forwardInput(req, t, text, json);
  }
  const input = [...portableItems(await s.conversation()), ...own];
  const { previous_response_id: _, ...rest } = req.json;
  const json: Json = { ...rest, input };
  const text = editJson(
    req.text,
    [{ delete: 'previous_response_id' }, { set: 'input', value: input }],
    () => json,
  );
  return forwardInput(req, t, text, json);
}

/** The target's native call for this request's body (`text`, `json`: the client's, or one the gateway edited). */
function forwardInput(req: Req, t: TargetInput, text: string, json: Json) {
  return forwardTo(t, 'responses', { text, json, stream: req.json.stream === true }, req.headers);
}

async function callFor(req: Req, t: TargetInput): Promise<TargetCall> {
  const s = req.state;
  const direct = forwardInput(req, t, req.text, req.json);
  const call = direct === undefined ? undefined : await nativeCall(req, t, direct);
  if (call !== undefined) {
    const by: ServedBy = { provider: t.providerId, native: true };
    let reader: ResponsesStreamReader | undefined;
    let whole: Json | undefined;
    return {
      call,
      answer: (text) => {
        const read = readResponsesBody(text);
        whole = read.response;
        return read;
      },
      stream: () => {
        reader = new ResponsesStreamReader();
        return reader;
      },
      streamType: SSE,
      complete: () => s.keep(whole ?? reader?.response(), by),
    };
  }
  // Translated: the earlier turns as chat messages, the chat answer as a Response.
  const { chat, warnings } = chatFromResponses(
    req.json,
    s.previous === undefined ? [] : await s.conversation(),
    s.references,
  );
  const tc = chatCall(chat, undefined, req.headers, t);
  const ctx: ResponseContext = { id: s.id, createdAt: s.createdAt, model: t.model, request: req.json };
  const by: ServedBy = { provider: t.providerId, native: false };
  let reader: ResponsesFromChatReader | undefined;
  let whole: Json | undefined;
  return {
    call:
      warnings.length === 0 ? tc.call : { ...tc.call, warnings: [...(tc.call.warnings ?? []), ...warnings] },
    answer: (text) => {
      const read = readResponsesFromChat(tc.answer(text), ctx);
      whole = read.response;
      return read;
    },
    stream: () => {
      reader = new ResponsesFromChatReader(tc.stream(), ctx);
      return reader;
    },
    streamType: tc.streamType,
    complete: () => s.keep(whole ?? reader?.response(), by),
  };
}

/**
 * `background: true` is refused whatever the target: a native provider would answer `queued` and run it on its
 * own, but the client then polls `GET /v1/responses/{id}`, which the gateway serves from its own store (where
 * the finished answer never arrives), and the usage of a run the gateway never sees is never billed.
 */
function refuseBackground(body: ResponsesRequest): ResponsesRequest {
  if (body.background !== true) return body;
  throw new InvalidRequestError({
    code: 'unsupported_parameter',
    param: 'background',
    message:
      "'background' is not supported by Switchyard: an answer is streamed or returned, never run on its own. " +
      'Send the request without it (stream: true keeps a long answer going).',
  });
}

/**
 * The provider no longer holds the conversation a `previous_response_id` names: OpenAI's code, or a relay's 400 /
 * 404 that blames that parameter in other words (a null code, "not found" text).
 */
function lostConversation(f: AttemptFailure): boolean {
  if (f.code === 'previous_response_not_found') return true;
  return (f.status === 400 || f.status === 404) && f.param === 'previous_response_id';
}

export const responsesSpec: EndpointSpec<ResponsesRequest, ResponsesState> = {
  id: 'responses',
  path: '/v1/responses',
  parse: (raw) => refuseBackground(parseBody(responsesRequestSchema, raw)),
  model: (body) => body.model,
  stream: (body) => body.stream === true,
  prepare: (req, ctx) => ResponsesState.prepare(req.json, ctx),
  callFor,
  recover: (req, failure, providerId) => lostConversation(failure) && req.state.forget(providerId),
  errorBody: openAIErrorBody,
  // Both readers end a failed stream themselves (response.failed, then error); this is the bare fallback.
  errorEvent: (err) => errorEvent(0, { code: err.code, message: err.message, type: err.type }),
  clientWantsUsage: () => false,
  withUsageEvent: withChatUsageEvent,
  // The cost goes in the `x-switchyard-cost-usd` header: a Response's usage has no place for it.
  withCost: (text) => text,
  estimateInput,
  estimateOutput,
  bounds: boundsOf,
};
