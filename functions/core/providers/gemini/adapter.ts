/**
 * Google Gemini, natively (https://ai.google.dev/api): `generateContent`, `streamGenerateContent?alt=sse`
 * and `batchEmbedContents` under the provider's base URL (https://generativelanguage.googleapis.com/v1beta),
 * authenticated with `x-goog-api-key`. Requests go through field tables, answers through translators that
 * write OpenAI's wire format, so usage is read from the translated text by the OpenAI readers.
 */
import { applyFieldTable, type FieldContext, type FieldTable } from '../fields.ts';
import type { CallInput, ProviderAdapter, ResponseTranslator, UpstreamCall } from '../types.ts';
import { UnsupportedFieldError } from '../types.ts';
import { parseGeminiError } from './errors.ts';
import { GEMINI_CHAT_FIELDS } from './request.ts';
import { type AnswerContext, chatCompletionOf, embeddingsListOf } from './response.ts';
import { GeminiStreamTranslator } from './stream.ts';

const DOC_EMBED = 'https://ai.google.dev/api/embeddings#method:-models.batchembedcontents';

/** `gemini-2.5-flash` → `models/gemini-2.5-flash`; `models/…` and `tunedModels/…` names are kept. */
export function resourceName(model: string): string {
  const name = model.startsWith('models/') || model.startsWith('tunedModels/') ? model : `models/${model}`;
  return name.split('/').map(encodeURIComponent).join('/');
}

function embedRequests(value: unknown, ctx: FieldContext): Record<string, unknown>[] {
  const texts = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  if (texts.length === 0 || !texts.every((t): t is string => typeof t === 'string')) {
    throw new UnsupportedFieldError('input', `Token-id 'input' is not supported by gemini: send text.`);
  }
  const model = resourceName(ctx.model);
  const dims = ctx.body.dimensions;
  return texts.map((text) => ({
    model,
    content: { parts: [{ text }] },
    ...(typeof dims === 'number' ? { outputDimensionality: dims } : {}),
  }));
}

/** Every OpenAI embeddings field and what becomes of it upstream. */
export const GEMINI_EMBEDDING_FIELDS: FieldTable = {
  input: {
    write: (out, value, ctx) => {
      out.requests = embedRequests(value, ctx);
    },
    doc: DOC_EMBED,
  },
  dimensions: { transform: () => undefined, doc: `${DOC_EMBED} (outputDimensionality of each request)` },
  encoding_format: { transform: () => undefined, doc: 'base64 is written by the translator' },
  user: 'drop',
};

function chatCall(input: CallInput, headers: Record<string, string>, ctx: AnswerContext): UpstreamCall {
  const { out, warnings } = applyFieldTable(GEMINI_CHAT_FIELDS, input.body, input.model, 'gemini');
  const stream = input.body.stream === true;
  const method = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  const translator: ResponseTranslator = {
    body: (text) => chatCompletionOf(text, ctx),
    stream: () => new GeminiStreamTranslator(ctx),
  };
  const path = `/${resourceName(input.model)}:${method}`;
  return { method: 'POST', path, headers, body: JSON.stringify(out), translator, warnings };
}

function embeddingsCall(input: CallInput, headers: Record<string, string>): UpstreamCall {
  const { out, warnings } = applyFieldTable(GEMINI_EMBEDDING_FIELDS, input.body, input.model, 'gemini');
  const encoding = input.body.encoding_format === 'base64' ? 'base64' : 'float';
  const translator: ResponseTranslator = {
    body: (text) => embeddingsListOf(text, input.model, encoding),
    // Embeddings are never streamed: the reader has nothing to read.
    stream: () => ({ push: () => ({ text: '' }), end: () => ({ text: '' }) }),
  };
  const path = `/${resourceName(input.model)}:batchEmbedContents`;
  return { method: 'POST', path, headers, body: JSON.stringify(out), translator, warnings };
}

/** The `gemini` provider type: chat (stream or not) and embeddings; no model listing. */
export const geminiAdapter = {
  type: 'gemini',
  buildCall(input) {
    if (input.op === 'models') {
      throw new UnsupportedFieldError('model', 'Listing models is not supported by the gemini adapter.');
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-request-id': input.requestId,
    };
    if (input.extraHeaders !== undefined) Object.assign(headers, input.extraHeaders);
    if (input.apiKey !== undefined) headers['x-goog-api-key'] = input.apiKey;
    if (input.op === 'embeddings') return embeddingsCall(input, headers);
    const created = Math.floor((input.epochMs ?? Date.now()) / 1000);
    return chatCall(input, headers, { requestId: input.requestId, model: input.model, created });
  },
  parseError: parseGeminiError,
} satisfies ProviderAdapter;
