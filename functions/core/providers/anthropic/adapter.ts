/**
 * Anthropic's Messages API (https://docs.anthropic.com/en/api/messages), behind the OpenAI interface: the
 * request goes through the field table of request.ts, the answer through response.ts (whole) or stream.ts
 * (SSE), errors through errors.ts. Usage is read from the translated, OpenAI-shaped text.
 */
import { header } from '../../http.ts';
import { editJson } from '../../json-edit.ts';
import { applyFieldTable } from '../fields.ts';
import {
  type ForwardInput,
  type ProviderAdapter,
  UnsupportedFieldError,
  type UpstreamCall,
} from '../types.ts';
import { parseAnthropicError } from './errors.ts';
import { anthropicFields, DEFAULT_MAX_TOKENS, jsonToolOf } from './request.ts';
import { completionFromMessage, type TranslateOptions } from './response.ts';
import { AnthropicStreamTranslator } from './stream.ts';

/** https://docs.anthropic.com/en/api/versioning — the only version of the Messages API. */
export const ANTHROPIC_VERSION = '2023-06-01';

/** Beta flags from the client and the provider's config (`headers`), once each, comma-separated. */
export function betaHeader(...values: (string | undefined)[]): string | undefined {
  const flags = new Set(
    values
      .flatMap((v) => (v ?? '').split(','))
      .map((f) => f.trim())
      .filter((f) => f !== ''),
  );
  return flags.size === 0 ? undefined : [...flags].join(',');
}

/**
 * A Messages request as the client sent it (the target's model edited in), with the client's
 * `anthropic-version` (else the one this gateway speaks) and its `anthropic-beta` flags joined to the
 * provider's own. The spec checked both headers (endpoints/messages/spec.ts).
 */
function forwardMessages(f: ForwardInput): UpstreamCall | undefined {
  return f.endpoint === 'messages' ? messagesCall(f, '/messages') : undefined;
}

/** A `count_tokens` request as the client sent it (the model edited in), with the same headers. */
export function countTokensCall(f: Omit<ForwardInput, 'endpoint' | 'stream'>): UpstreamCall {
  return messagesCall(f, '/messages/count_tokens');
}

function messagesCall(f: Omit<ForwardInput, 'endpoint' | 'stream'>, path: string): UpstreamCall {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'anthropic-version': header(f.clientHeaders, 'anthropic-version') ?? ANTHROPIC_VERSION,
    'x-request-id': f.requestId,
  };
  if (f.extraHeaders !== undefined) Object.assign(headers, f.extraHeaders);
  const beta = betaHeader(header(f.clientHeaders, 'anthropic-beta'), f.extraHeaders?.['anthropic-beta']);
  if (beta !== undefined) headers['anthropic-beta'] = beta;
  if (f.apiKey !== undefined) headers['x-api-key'] = f.apiKey;
  return {
    method: 'POST',
    path,
    headers,
    body: editJson(f.text, [{ set: 'model', value: f.model }], () => f.json),
  };
}

export const anthropicAdapter = {
  type: 'anthropic',
  forward: forwardMessages,
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
