/**
 * Gemini answers → OpenAI answers: a whole `GenerateContentResponse` → `chat.completion`, a
 * `batchEmbedContents` answer → an embeddings list, and the pieces the stream translator shares (finish
 * reasons, usage, reading parts, tool-call ids).
 */
import type { AnswerRead } from '../../endpoints/types.ts';
import { UpstreamError } from '../../errors.ts';
import { isRecord, type Json } from '../messages.ts';
import { completionAnswer, embeddingsBody, type FinishReason, type ToolCallOut } from '../openai/wire.ts';
import type { Usage } from '../types.ts';

/** Gemini `finishReason` → OpenAI `finish_reason` (values not listed: 'stop'). */
export const FINISH_REASONS: ReadonlyMap<string, FinishReason> = new Map<string, FinishReason>([
  // https://ai.google.dev/api/generate-content#FinishReason — natural stop, stop sequence (tool_calls: it called)
  ['STOP', 'stop'],
  // https://ai.google.dev/api/generate-content#FinishReason — maxOutputTokens reached
  ['MAX_TOKENS', 'length'],
  // https://ai.google.dev/api/generate-content#FinishReason — flagged for safety
  ['SAFETY', 'content_filter'],
  // https://ai.google.dev/api/generate-content#FinishReason — flagged for recitation
  ['RECITATION', 'content_filter'],
  // https://ai.google.dev/api/generate-content#FinishReason — unsupported language
  ['LANGUAGE', 'content_filter'],
  // https://ai.google.dev/api/generate-content#FinishReason — forbidden terms
  ['BLOCKLIST', 'content_filter'],
  // https://ai.google.dev/api/generate-content#FinishReason — prohibited content
  ['PROHIBITED_CONTENT', 'content_filter'],
  // https://ai.google.dev/api/generate-content#FinishReason — sensitive personal data
  ['SPII', 'content_filter'],
  // https://ai.google.dev/api/generate-content#FinishReason — generated image flagged
  ['IMAGE_SAFETY', 'content_filter'],
  // https://ai.google.dev/api/generate-content#FinishReason — generated image prohibited
  ['IMAGE_PROHIBITED_CONTENT', 'content_filter'],
  // https://ai.google.dev/api/generate-content#FinishReason — generated image recited
  ['IMAGE_RECITATION', 'content_filter'],
  // https://ai.google.dev/api/generate-content#FinishReason — its call was invalid: none to hand over
  ['MALFORMED_FUNCTION_CALL', 'stop'],
  // https://ai.google.dev/api/generate-content#FinishReason — called a tool that was not enabled
  ['UNEXPECTED_TOOL_CALL', 'stop'],
  // https://ai.google.dev/api/generate-content#FinishReason — stopped calling tools
  ['TOO_MANY_TOOL_CALLS', 'stop'],
  // https://ai.google.dev/api/generate-content#FinishReason — unknown reason
  ['OTHER', 'stop'],
  // https://ai.google.dev/api/generate-content#FinishReason — unused default
  ['FINISH_REASON_UNSPECIFIED', 'stop'],
]);

/** The OpenAI finish reason of a candidate, knowing whether it called functions. */
export function finishOf(reason: unknown, calledFunctions: boolean): FinishReason {
  const mapped = (typeof reason === 'string' ? FINISH_REASONS.get(reason) : undefined) ?? 'stop';
  return mapped === 'stop' && calledFunctions && reason === 'STOP' ? 'tool_calls' : mapped;
}

/**
 * `usageMetadata` in OpenAI's meaning: tool-use prompt tokens are prompt tokens (cache reads included, as
 * Gemini counts them), thinking tokens are completion tokens. Proto3 JSON leaves zero counts out, so a
 * missing count in a present object is 0; no object at all is no usage.
 */
export function geminiUsage(meta: unknown): Usage | undefined {
  if (!isRecord(meta) || (meta.promptTokenCount === undefined && meta.totalTokenCount === undefined)) {
    return undefined;
  }
  const n = (k: string): number => {
    const v = meta[k];
    return typeof v === 'number' && Number.isFinite(v) ? v : 0;
  };
  const thoughts = n('thoughtsTokenCount');
  return {
    inputTokens: n('promptTokenCount') + n('toolUsePromptTokenCount'),
    outputTokens: n('candidatesTokenCount') + thoughts,
    cachedInputTokens: n('cachedContentTokenCount'),
    reasoningTokens: thoughts,
  };
}

/**
 * Gemini 3 signs its function calls and 400s when a replayed call comes back without the signature, while an
 * OpenAI client keeps nothing of a call but its id: the signature rides in the id (base64url, so the id stays
 * `[A-Za-z0-9_-]` as other providers require) and {@link splitToolCallId} takes it out again.
 */
const SIGNATURE_MARK = '__sig_';

/** The part's own id when Gemini gave one, else `call_<request tag>_<n>` (unique across turns). */
export function toolCallId(partId: unknown, requestId: string, n: number, signature: unknown): string {
  const tag = requestId.replace(/[^A-Za-z0-9]/g, '').slice(-12);
  const base =
    typeof partId === 'string' && partId !== '' ? partId : tag === '' ? `call_${n}` : `call_${tag}_${n}`;
  if (typeof signature !== 'string' || signature === '') return base;
  const url = signature.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${base}${SIGNATURE_MARK}${url}`;
}

/** A tool-call id back into the id and the Gemini thought signature it carries (standard base64). */
export function splitToolCallId(id: string): { id: string; signature?: string } {
  const at = id.indexOf(SIGNATURE_MARK);
  if (at === -1) return { id };
  const url = id.slice(at + SIGNATURE_MARK.length);
  if (url === '') return { id: id.slice(0, at) };
  const std = url.replace(/-/g, '+').replace(/_/g, '/');
  return { id: id.slice(0, at), signature: std + '='.repeat((4 - (std.length % 4)) % 4) };
}

/** What a translator knows of its call besides the answer. */
export interface AnswerContext {
  readonly requestId: string;
  /** The target's upstream model: the answer's `model` when Gemini names no modelVersion. */
  readonly model: string;
  /** Epoch seconds. */
  readonly created: number;
}

/** What one event's (or a whole answer's) parts say: visible text, and function calls numbered from `next`. */
export function readParts(
  content: unknown,
  ctx: AnswerContext,
  next: number,
): { text: string; calls: ToolCallOut[] } {
  const parts: unknown[] = isRecord(content) && Array.isArray(content.parts) ? content.parts : [];
  let text = '';
  const calls: ToolCallOut[] = [];
  for (const p of parts) {
    if (!isRecord(p)) continue;
    // Thought summaries (`thought: true`) are the model's reasoning, not its answer.
    if (typeof p.text === 'string' && p.thought !== true) text += p.text;
    const fc = p.functionCall;
    if (isRecord(fc) && typeof fc.name === 'string') {
      const id = toolCallId(fc.id, ctx.requestId, next + calls.length, p.thoughtSignature);
      calls.push({ id, name: fc.name, arguments: JSON.stringify(isRecord(fc.args) ? fc.args : {}) });
    }
  }
  return { text, calls };
}

/** `responseId`, else `chatcmpl-<request id>`. */
export function answerId(json: Json, ctx: AnswerContext): string {
  return typeof json.responseId === 'string' && json.responseId !== ''
    ? json.responseId
    : `chatcmpl-${ctx.requestId}`;
}

/** `modelVersion` (without a `models/` prefix), else the target model. */
export function answerModel(json: Json, ctx: AnswerContext): string {
  return typeof json.modelVersion === 'string' && json.modelVersion !== ''
    ? json.modelVersion.replace(/^models\//, '')
    : ctx.model;
}

/** A prompt Gemini refused to answer: `promptFeedback.blockReason` and no candidate. */
export function promptBlocked(json: Json): boolean {
  const none = !Array.isArray(json.candidates) || json.candidates.length === 0;
  return none && isRecord(json.promptFeedback) && typeof json.promptFeedback.blockReason === 'string';
}

function parseObject(text: string, what: string): Json {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!isRecord(json)) {
    throw new UpstreamError({
      code: 'upstream_server_error',
      message: `Gemini answered a ${what} that is not JSON.`,
    });
  }
  return json;
}

/**
 * A whole `GenerateContentResponse` → `chat.completion` JSON text. A blocked prompt is a completion with
 * `content: null` and finish reason `content_filter` (as OpenAI's own filter answers), not an error: the
 * request was understood and answered, and repeating it elsewhere would not be a different request.
 */
export function chatCompletionOf(text: string, ctx: AnswerContext): AnswerRead {
  const json = parseObject(text, 'generateContent answer');
  const usage = geminiUsage(json.usageMetadata);
  const upstreamId = typeof json.responseId === 'string' ? json.responseId : undefined;
  const base = { id: answerId(json, ctx), model: answerModel(json, ctx), created: ctx.created };
  const withUsage = usage === undefined ? {} : { usage };
  const candidate: unknown = Array.isArray(json.candidates) ? json.candidates[0] : undefined;
  if (!isRecord(candidate)) {
    if (!promptBlocked(json)) {
      throw new UpstreamError({
        code: 'upstream_server_error',
        message: 'Gemini answered without a candidate.',
      });
    }
    return completionAnswer(
      { ...base, content: null, toolCalls: [], finishReason: 'content_filter', ...withUsage },
      upstreamId,
    );
  }
  const { text: content, calls } = readParts(candidate.content, ctx, 0);
  return completionAnswer(
    {
      ...base,
      content: content === '' ? null : content,
      toolCalls: calls,
      finishReason: finishOf(candidate.finishReason, calls.length > 0),
      ...withUsage,
    },
    upstreamId,
  );
}

/**
 * `batchEmbedContents` → OpenAI's embeddings list. Gemini counts no tokens for embeddings: the list has no
 * `usage`, and the gateway estimates (and flags) them rather than record a 0 nobody said.
 */
export function embeddingsListOf(text: string, model: string, encoding: 'float' | 'base64'): AnswerRead {
  const json = parseObject(text, 'batchEmbedContents answer');
  const list: unknown[] = Array.isArray(json.embeddings) ? json.embeddings : [];
  const vectors = list.map((e) =>
    isRecord(e) && Array.isArray(e.values) ? e.values.filter((v): v is number => typeof v === 'number') : [],
  );
  return { text: embeddingsBody(vectors, model, encoding) };
}
