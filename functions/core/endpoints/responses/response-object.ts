/**
 * The Response object of OpenAI's Responses API, as the translated answers (whole and streamed) write it: its
 * output items, its usage, and the request's fields echoed the way OpenAI echoes them (its defaults filled in).
 * https://platform.openai.com/docs/api-reference/responses/object
 */
import { isRecord, type Json } from '../../json.ts';
import type { Usage } from '../../providers/types.ts';

/** What a translated Response is made with, besides the answer. */
export interface ResponseContext {
  /** The gateway's id of this response (`resp_…`): what the client holds, what the store keys it by. */
  readonly id: string;
  /** When the request arrived, epoch seconds. */
  readonly createdAt: number;
  /** The model the Response names (the lead's choice: the route name the client sent, or the target's). */
  readonly model: string;
  /** The client's Responses request, already validated: its fields are echoed in the Response. */
  readonly request: Readonly<Json>;
}

/** A Response's `status` as the translation writes it. */
export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** Why a Response is incomplete (OpenAI's `incomplete_details.reason`). */
export type IncompleteReason = 'max_output_tokens' | 'content_filter';

/**
 * Chat's finish reasons that leave a Response incomplete; every other one (stop, tool_calls, function_call)
 * completes it. https://platform.openai.com/docs/api-reference/responses/object#responses/object-incomplete_details
 */
export const INCOMPLETE_REASONS: ReadonlyMap<string, IncompleteReason> = new Map<string, IncompleteReason>([
  ['length', 'max_output_tokens'], // the answer hit max_tokens (the request's max_output_tokens)
  ['content_filter', 'content_filter'], // the provider's filter cut the answer
]);

/** A failure as a Response's `error` and as the stream's `error` event carry it. */
export interface ResponsesFailure {
  readonly message: string;
  /** OpenAI's code (`server_error`, `rate_limit_exceeded`…) or the gateway's own (`upstream_timeout`…). */
  readonly code?: string | null;
  /** The error type of the gateway's error table (`upstream_error`…), for the nested `error` object. */
  readonly type?: string;
  readonly param?: string | null;
}

/**
 * Item ids made from the response's own id and the item's place in `output`: unique across responses (the
 * response id is), stable (the stream and the stored Response agree), and with OpenAI's prefixes. `call` is
 * the `call_id` of a function call whose upstream gave it none.
 */
export function itemId(
  ctx: Pick<ResponseContext, 'id'>,
  prefix: 'msg' | 'fc' | 'call',
  outputIndex: number,
): string {
  const base = ctx.id.startsWith('resp_') ? ctx.id.slice(5) : ctx.id;
  return `${prefix}_${base}_${outputIndex}`;
}

/** An `output_text` content part (OpenAI sends empty `annotations` and `logprobs` lists). */
export function outputTextPart(text: string): Json {
  return { type: 'output_text', annotations: [], logprobs: [], text };
}

/** A `refusal` content part. */
export function refusalPart(refusal: string): Json {
  return { type: 'refusal', refusal };
}

/** An assistant `message` output item. */
export function messageItem(id: string, status: string, content: readonly Json[]): Json {
  return { id, type: 'message', status, content: [...content], role: 'assistant' };
}

/** A `function_call` output item: `call_id` is what the client's `function_call_output` answers. */
export function functionCallItem(
  id: string,
  status: string,
  call: { readonly callId: string; readonly name: string; readonly arguments: string },
): Json {
  return {
    id,
    type: 'function_call',
    status,
    arguments: call.arguments,
    call_id: call.callId,
    name: call.name,
  };
}

/** Responses' `usage`: input tokens include cached ones, output tokens include reasoning (as the gateway's). */
export function responsesUsageObject(u: Usage): Json {
  return {
    input_tokens: u.inputTokens,
    input_tokens_details: {
      cached_tokens: u.cachedInputTokens ?? 0,
      ...(u.cacheWriteTokens ? { cache_write_tokens: u.cacheWriteTokens } : {}),
    },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
    total_tokens: u.inputTokens + u.outputTokens,
  };
}

/**
 * The text of every `output_text` part of the message items: what the SDKs expose as `output_text` (computed
 * by them; written here too, for clients that read the JSON without an SDK).
 */
export function outputTextOf(output: readonly Json[]): string {
  let text = '';
  for (const item of output) {
    if (item.type !== 'message' || !Array.isArray(item.content)) continue;
    for (const part of item.content) {
      if (isRecord(part) && part.type === 'output_text' && typeof part.text === 'string') text += part.text;
    }
  }
  return text;
}

const orNull = (v: unknown): unknown => (v === undefined ? null : v);
const or = (v: unknown, fallback: unknown): unknown => (v === undefined || v === null ? fallback : v);

/** The state of a Response at one moment: what the answer has said so far, and how it ended. */
export interface ResponseState {
  readonly status: ResponseStatus;
  readonly output: readonly Json[];
  readonly usage?: Usage | undefined;
  readonly incomplete?: IncompleteReason | undefined;
  readonly error?: ResponsesFailure | undefined;
}

/**
 * The Response object, field order as OpenAI writes it. The request's fields are echoed with the values OpenAI
 * shows when the request left them out.
 */
export function responseObject(ctx: ResponseContext, state: ResponseState): Json {
  const r = ctx.request;
  const reasoning = isRecord(r.reasoning) ? r.reasoning : {};
  const text = isRecord(r.text) ? r.text : {};
  const error = state.error;
  return {
    id: ctx.id,
    object: 'response',
    created_at: ctx.createdAt,
    status: state.status,
    background: or(r.background, false),
    error: error === undefined ? null : { code: error.code ?? 'server_error', message: error.message },
    incomplete_details: state.incomplete === undefined ? null : { reason: state.incomplete },
    instructions: orNull(r.instructions),
    max_output_tokens: orNull(r.max_output_tokens),
    max_tool_calls: orNull(r.max_tool_calls),
    model: ctx.model,
    output: [...state.output],
    parallel_tool_calls: or(r.parallel_tool_calls, true),
    previous_response_id: orNull(r.previous_response_id),
    prompt_cache_key: orNull(r.prompt_cache_key),
    reasoning: { effort: orNull(reasoning.effort), summary: orNull(reasoning.summary) },
    safety_identifier: orNull(r.safety_identifier),
    service_tier: or(r.service_tier, 'default'),
    store: or(r.store, true),
    temperature: or(r.temperature, 1),
    text: { format: or(text.format, { type: 'text' }), verbosity: or(text.verbosity, 'medium') },
    tool_choice: or(r.tool_choice, 'auto'),
    tools: Array.isArray(r.tools) ? r.tools : [],
    top_logprobs: or(r.top_logprobs, 0),
    top_p: or(r.top_p, 1),
    truncation: or(r.truncation, 'disabled'),
    usage: state.usage === undefined ? null : responsesUsageObject(state.usage),
    user: orNull(r.user),
    metadata: or(r.metadata, {}),
    output_text: outputTextOf(state.output),
  };
}
