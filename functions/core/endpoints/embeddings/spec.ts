/**
 * `POST /v1/embeddings`. An `openai` target that serves embeddings (and `mock`) gets the request as sent (the
 * model replaced); Gemini gets it through its adapter's table and translator; the others cannot embed (the
 * next target, or a 400 `unsupported_parameter` when none can).
 */
import { embeddingsRequestSchema, parseBody } from '../../schemas/openai.ts';
import { estimateEmbeddingInputTokens } from '../../usage/tokenizer.ts';
import { SSE } from '../chat/spec.ts';
import { openAIErrorBody, openAIErrorEvent } from '../openai/errors.ts';
import { ChatStreamReader, readOpenAIAnswer, withChatUsageEvent } from '../openai/readers.ts';
import type { EndpointSpec } from '../spec.ts';
import { buildFor, forwardTo } from '../target-calls.ts';

export const embeddingsSpec: EndpointSpec = {
  id: 'embeddings',
  path: '/v1/embeddings',
  parse: (raw) => parseBody(embeddingsRequestSchema, raw),
  model: (body) => body.model as string,
  stream: () => false,
  callFor(req, t) {
    const call =
      forwardTo(t, 'embeddings', { text: req.text, json: req.json, stream: false }, req.headers) ??
      buildFor(t, 'embeddings', req.json);
    const tr = call.translator;
    return {
      call,
      answer: tr === undefined ? (body) => readOpenAIAnswer(body, 'data') : (body) => tr.body(body),
      // Embeddings are never streamed; a reader is still a reader.
      stream: () => new ChatStreamReader(),
      streamType: SSE,
    };
  },
  errorBody: openAIErrorBody,
  errorEvent: openAIErrorEvent,
  clientWantsUsage: () => false,
  withUsageEvent: withChatUsageEvent,
  withCost: (text) => text,
  estimateInput: (counter, req) => estimateEmbeddingInputTokens(counter, req.json.input),
  estimateOutput: () => 0,
  bounds: (req) => ({ op: 'embeddings', body: req.json }),
};
