/**
 * Any OpenAI-compatible API (OpenAI, and relays such as 4sapi, OpenRouter, SiliconFlow, DMXAPI as presets).
 * The body goes through untouched except `model`, which becomes the target's upstream model.
 */

import { nativeEndpointsOf } from '../../config/schema.ts';
import type { EndpointId } from '../../endpoints/types.ts';
import { isRecord, own } from '../../json.ts';
import { editJson, type JsonEdit } from '../../json-edit.ts';
import {
  type ForwardInput,
  type ProviderAdapter,
  type ProviderErrorInfo,
  UnsupportedFieldError,
  type UpstreamCall,
  type Usage,
  unstructuredError,
} from '../types.ts';

const PATHS = { chat: '/chat/completions', embeddings: '/embeddings', models: '/models' } as const;
/** The OpenAI path of each endpoint a provider may serve natively (under its base URL, which ends in /v1). */
const NATIVE_PATHS: Readonly<Partial<Record<EndpointId, string>>> = {
  chat: '/chat/completions',
  embeddings: '/embeddings',
  responses: '/responses',
};

const asRecord = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});

/** Whether a chat request asked for the final usage chunk of its stream (`stream_options.include_usage`). */
export function clientWantsUsage(body: Readonly<Record<string, unknown>>): boolean {
  return isRecord(body.stream_options) && body.stream_options.include_usage === true;
}

/** Reads `{"error":{message,type,code,param}}` (also `{"error":"text"}` and `{"message": …}` from relays). */
export function parseOpenAIError(status: number, text: string): ProviderErrorInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return unstructuredError(status, text);
  }
  const err = isRecord(json) ? (json.error ?? json) : undefined;
  if (typeof err === 'string') return { message: err };
  if (!isRecord(err)) return { message: `HTTP ${status}` };
  const str = (v: unknown): string | undefined =>
    typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
  const info: { message: string; code?: string; type?: string; param?: string | null } = {
    message: str(err.message) ?? `HTTP ${status}`,
  };
  const code = str(err.code);
  const type = str(err.type);
  if (code !== undefined) info.code = code;
  if (type !== undefined) info.type = type;
  if (typeof err.param === 'string') info.param = err.param;
  return info;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const num = (v: unknown): number => (isCount(v) ? v : 0);

/**
 * OpenAI's `usage` (chat: prompt/completion tokens with their details; embeddings: prompt tokens only).
 * `usage: null`, which streams send on every chunk but the last, is no usage.
 */
export function openAIUsage(json: unknown): Usage | undefined {
  if (!isRecord(json) || !isRecord(json.usage)) return undefined;
  const u = json.usage;
  // `"usage": {}` or only `total_tokens` (some relays): no counts to bill by, so none — the gateway estimates
  // and flags it rather than record a provider-reported 0.
  if (!isCount(u.prompt_tokens) && !isCount(u.completion_tokens)) return undefined;
  const inDetails = isRecord(u.prompt_tokens_details) ? u.prompt_tokens_details : undefined;
  const outDetails = isRecord(u.completion_tokens_details) ? u.completion_tokens_details : undefined;
  const writes = num(inDetails?.cache_write_tokens);
  return {
    inputTokens: num(u.prompt_tokens),
    outputTokens: num(u.completion_tokens),
    cachedInputTokens: num(inDetails?.cached_tokens),
    reasoningTokens: num(outDetails?.reasoning_tokens),
    ...(writes > 0 ? { cacheWriteTokens: writes } : {}),
  };
}

/** Where the `usage` object of a non-stream body starts (`{`) and ends (after `}`), found from the end. */
function usageSpan(text: string): { open: number; end: number } | undefined {
  const key = text.lastIndexOf('"usage"');
  if (key === -1) return undefined;
  const open = text.indexOf('{', key);
  if (open === -1 || !/^"usage"\s*:\s*$/.test(text.slice(key, open))) return undefined;
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 123) depth++;
    else if (c === 125 && --depth === 0) return { open, end: i + 1 };
  }
  return undefined;
}

/**
 * The body with `"cost": <usd>` added to its usage object (first field), without re-serialising the rest:
 * the client gets the provider's bytes plus the cost. Unchanged when there is no usage object.
 */
export function withUsageCost(text: string, costUsd: number): string {
  const span = usageSpan(text);
  if (span === undefined) return text;
  const empty = /^\{\s*\}$/.test(text.slice(span.open, span.end));
  const at = span.open + 1;
  return `${text.slice(0, at)}"cost":${costUsd}${empty ? '' : ','}${text.slice(at)}`;
}

/** The provider's id of a completion (`"id": "chatcmpl-…"`), read from the first id field of the text. */
export function upstreamIdOf(text: string): string | undefined {
  const m = /"id"\s*:\s*"([^"\\]{1,200})"/.exec(text);
  return m?.[1];
}

/**
 * Usage of a non-stream answer. The answer goes to the client as the bytes it came in, so parsing all of it
 * only to read `usage` was measurable; OpenAI-compatible bodies put one `"usage": {…}` object near the end,
 * and only that object is parsed. Falls back to a full parse when the cut-out does not parse.
 */
export function openAIUsageOfBody(text: string): Usage | undefined {
  const span = usageSpan(text);
  if (span !== undefined) {
    try {
      return openAIUsage({ usage: JSON.parse(text.slice(span.open, span.end)) });
    } catch {
      // fall through to the full parse
    }
  }
  try {
    return openAIUsage(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function headersOf(
  requestId: string,
  extraHeaders: Readonly<Record<string, string>> | undefined,
  apiKey: string | undefined,
): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId };
  if (extraHeaders !== undefined) Object.assign(headers, extraHeaders);
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
  return headers;
}

/** The call forwarding a client's request to an OpenAI-compatible provider that serves its endpoint. */
function forwardCall({
  endpoint,
  text,
  json,
  stream,
  model,
  apiKey,
  requestId,
  extraHeaders,
  provider,
}: ForwardInput): UpstreamCall | undefined {
  const path = own(NATIVE_PATHS, endpoint);
  if (path === undefined || !(nativeEndpointsOf(provider) as readonly string[]).includes(endpoint))
    return undefined;
  // The client's bytes as sent: only the target's model, and the usage chunk a chat stream needs.
  const edits: JsonEdit[] = [{ set: 'model', value: model }];
  if (endpoint === 'chat' && stream && !clientWantsUsage(json)) {
    edits.push({ set: 'stream_options', value: { ...asRecord(json.stream_options), include_usage: true } });
  }
  return {
    method: 'POST',
    path,
    headers: headersOf(requestId, extraHeaders, apiKey),
    body: editJson(text, edits, () => json),
  };
}

export const openaiAdapter = {
  type: 'openai',
  forward: forwardCall,
  buildCall({ op, body, model, apiKey, requestId, extraHeaders, provider }) {
    const headers = headersOf(requestId, extraHeaders, apiKey);
    if (op === 'models') return { method: 'GET', path: PATHS.models, headers };
    // A body the gateway made (translated from another endpoint) goes as its JSON, like a client's would.
    const call = forwardCall({
      endpoint: op,
      text: JSON.stringify(body),
      json: body,
      stream: body.stream === true,
      model,
      apiKey,
      requestId,
      extraHeaders,
      provider: provider ?? { type: 'openai' },
      clientHeaders: {},
    });
    if (call !== undefined) return call;
    throw new UnsupportedFieldError(
      'model',
      `This provider does not serve ${op} (its endpoints: ${nativeEndpointsOf(provider ?? { type: 'openai' }).join(', ')}).`,
    );
  },
  parseError: parseOpenAIError,
} satisfies ProviderAdapter;
