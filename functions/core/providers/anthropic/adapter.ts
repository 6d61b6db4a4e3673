/**
 * Anthropic's Messages API (https://docs.anthropic.com/en/api/messages), behind the OpenAI interface: the
 * request goes through the field table of request.ts, the answer through response.ts (whole) or stream.ts
 * (SSE), errors through errors.ts. Usage is read from the translated, OpenAI-shaped text.
 */
import { applyFieldTable } from '../fields.ts';
import { type ProviderAdapter, UnsupportedFieldError } from '../types.ts';
import { parseAnthropicError } from './errors.ts';
import { anthropicFields, DEFAULT_MAX_TOKENS, jsonToolOf } from './request.ts';
import { completionFromMessage, type TranslateOptions } from './response.ts';
import { AnthropicStreamTranslator } from './stream.ts';

/** https://docs.anthropic.com/en/api/versioning — the only version of the Messages API. */
export const ANTHROPIC_VERSION = '2023-06-01';

export const anthropicAdapter = {
  type: 'anthropic',
  buildCall({ op, body, model, apiKey, requestId, extraHeaders, provider, epochMs }) {
    if (op !== 'chat') {
      throw new UnsupportedFieldError(
        'model',
        `Anthropic has no ${op === 'embeddings' ? 'embeddings' : 'model list'} API for this gateway to call.`,
      );
    }
    const fields = anthropicFields(provider?.maxTokens ?? DEFAULT_MAX_TOKENS);
    const { out, warnings } = applyFieldTable(fields, body, model, 'Anthropic');
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'anthropic-version': ANTHROPIC_VERSION,
      'x-request-id': requestId,
    };
    // Provider headers come after ours so a config can add e.g. `anthropic-beta`; the key comes last.
    if (extraHeaders !== undefined) Object.assign(headers, extraHeaders);
    if (apiKey !== undefined) headers['x-api-key'] = apiKey;
    const opts: TranslateOptions = {
      jsonTool: jsonToolOf(body)?.name,
      created: Math.floor((epochMs ?? Date.now()) / 1000),
      model,
    };
    return {
      method: 'POST',
      path: '/messages',
      headers,
      body: JSON.stringify({ model, ...out }),
      translator: {
        body: (text) => completionFromMessage(text, opts),
        stream: () => new AnthropicStreamTranslator(opts),
      },
      warnings,
    };
  },
  parseError: parseAnthropicError,
} satisfies ProviderAdapter;
