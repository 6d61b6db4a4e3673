/**
 * Amazon Bedrock through Converse / ConverseStream. The core may not import the AWS SDK, so this adapter only
 * builds the Converse input as JSON and translates the answers; the transport in functions/aws
 * (bedrock-transport.ts) calls Bedrock with the SDK and IAM credentials (no key), reading the model id from
 * the path and the region from the `x-switchyard-region` header. Chat only: Bedrock embeddings (Titan,
 * Cohere via InvokeModel) are not part of this adapter.
 */

import type { FailureKind } from '../../routing/failure.ts';
import { isRecord } from '../messages.ts';
import { openAIUsage, openAIUsageOfBody } from '../openai/adapter.ts';
import { type ProviderAdapter, type ProviderErrorInfo, UnsupportedFieldError } from '../types.ts';
import { converseInput } from './request.ts';
import { completionOf } from './response.ts';
import { ConverseStreamTranslator } from './stream.ts';

/** Header that carries the provider's region to the transport (the SDK client is made per region). */
export const REGION_HEADER = 'x-switchyard-region';

/** The Bedrock runtime endpoint of a region: a bedrock provider's default base URL. */
export function bedrockBaseUrl(region: string): string {
  return `https://bedrock-runtime.${region}.amazonaws.com`;
}

/**
 * Bedrock exception name → what it means for the attempt loop, where the status alone would misclassify it
 * or where the name says more. The names and statuses are the Errors sections of
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html (and ConverseStream's)
 * and https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html.
 */
const ERROR_KINDS: ReadonlyMap<string, { kind: FailureKind; type: string }> = new Map([
  // 429: too many requests or tokens per minute.
  ['ThrottlingException', { kind: 'rate_limited', type: 'rate_limit_error' }],
  // 400 on Bedrock, but a quota (requests/tokens per minute of the account): wait or use another target.
  ['ServiceQuotaExceededException', { kind: 'rate_limited', type: 'rate_limit_error' }],
  // 403: the role may not invoke this model (IAM, or model access not enabled).
  ['AccessDeniedException', { kind: 'auth', type: 'authentication_error' }],
  ['UnrecognizedClientException', { kind: 'auth', type: 'authentication_error' }],
  ['ExpiredTokenException', { kind: 'auth', type: 'authentication_error' }],
  ['InvalidSignatureException', { kind: 'auth', type: 'authentication_error' }],
  // 400: the request itself (also "Input is too long", a guardrail, an unsupported field for this model).
  ['ValidationException', { kind: 'bad_request', type: 'invalid_request_error' }],
  // 404: no such model (or not in this region).
  // The model id is not offered in that region / account: another target may have it.
  ['ResourceNotFoundException', { kind: 'target_refused', type: 'invalid_request_error' }],
  // 429 on Bedrock, but the model is loading: retry, it is not the account's rate limit.
  ['ModelNotReadyException', { kind: 'server', type: 'server_error' }],
  // 408: the model took too long.
  ['ModelTimeoutException', { kind: 'server', type: 'server_error' }],
  // 424: the model failed while answering.
  ['ModelErrorException', { kind: 'server', type: 'server_error' }],
  ['ModelStreamErrorException', { kind: 'server', type: 'server_error' }],
  ['InternalServerException', { kind: 'server', type: 'server_error' }],
  ['ServiceUnavailableException', { kind: 'server', type: 'server_error' }],
]);

/** `com.amazon…#ValidationException` or `ValidationException:http://…` → `ValidationException`. */
function exceptionName(raw: string): string {
  return (raw.split('#').at(-1) ?? raw).split(':')[0] ?? raw;
}

const CONTEXT_TOO_LONG = /too long|context (window|length)|maximum (context|input)|too many (input )?tokens/i;

/** Reads the transport's error body `{"__type": "<ExceptionName>", "message": "…"}`. */
export function parseBedrockError(status: number, text: string): ProviderErrorInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { message: text.trim().slice(0, 500) || `HTTP ${status}` };
  }
  if (!isRecord(json)) return { message: `HTTP ${status}` };
  const raw = typeof json.__type === 'string' ? json.__type : typeof json.code === 'string' ? json.code : '';
  const message =
    typeof json.message === 'string' ? json.message : typeof json.Message === 'string' ? json.Message : '';
  const code = raw === '' ? undefined : exceptionName(raw);
  const info = { message: message || code || `HTTP ${status}` };
  if (code === undefined) return info;
  const known = ERROR_KINDS.get(code);
  // OpenAI's code for it, which clients test for.
  if (code === 'ValidationException' && CONTEXT_TOO_LONG.test(message)) {
    return { ...info, code: 'context_length_exceeded', type: 'invalid_request_error', param: 'messages' };
  }
  return known === undefined ? { ...info, code } : { ...info, code, type: known.type, kind: known.kind };
}

export const bedrockAdapter = {
  type: 'bedrock',
  buildCall({ op, body, model, requestId, extraHeaders, provider, epochMs }) {
    if (op !== 'chat') {
      throw new UnsupportedFieldError(
        'model',
        `Bedrock ${op} are not supported by the bedrock adapter (chat completions only).`,
      );
    }
    const region = provider?.region;
    if (region === undefined)
      throw new Error('a bedrock provider needs `region` (config validation requires it)');
    const { input, warnings, jsonTool } = converseInput(body, model, provider?.maxTokens);
    const headers: Record<string, string> = {};
    if (extraHeaders !== undefined) Object.assign(headers, extraHeaders);
    Object.assign(headers, {
      'content-type': 'application/json',
      'x-request-id': requestId,
      [REGION_HEADER]: region,
    });
    const ctx = {
      id: `chatcmpl-${requestId}`,
      model,
      created: Math.floor((epochMs ?? Date.now()) / 1000),
      ...(jsonTool === undefined ? {} : { jsonTool }),
    };
    const stream = new ConverseStreamTranslator(ctx);
    return {
      method: 'POST',
      path: `/model/${encodeURIComponent(model)}/${body.stream === true ? 'converse-stream' : 'converse'}`,
      headers,
      body: JSON.stringify(input),
      translator: {
        body: (text: string) => completionOf(text, ctx),
        push: (chunk: Uint8Array) => stream.push(chunk),
        end: () => stream.end(),
      },
      warnings,
    };
  },
  parseError: parseBedrockError,
  // The gateway reads usage from the translated (OpenAI-shaped) answer.
  usage: openAIUsage,
  usageOfBody: openAIUsageOfBody,
} satisfies ProviderAdapter;
