/**
 * Any OpenAI-compatible API (OpenAI, and relays such as 4sapi, OpenRouter, SiliconFlow, DMXAPI as presets).
 * The body goes through untouched except `model`, which becomes the target's upstream model.
 */
import type { ProviderAdapter, ProviderErrorInfo, Usage } from '../types.ts';

const PATHS = { chat: '/chat/completions', embeddings: '/embeddings', models: '/models' } as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads `{"error":{message,type,code,param}}` (also `{"error":"text"}` and `{"message": …}` from relays). */
export function parseOpenAIError(status: number, text: string): ProviderErrorInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { message: text.trim().slice(0, 500) || `HTTP ${status}` };
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

/** OpenAI's `usage` (chat: prompt/completion tokens; embeddings: prompt tokens only). */
export function openAIUsage(json: unknown): Usage | undefined {
  if (!isRecord(json) || !isRecord(json.usage)) return undefined;
  const u = json.usage;
  const input = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
  const output = typeof u.completion_tokens === 'number' ? u.completion_tokens : 0;
  return { inputTokens: input, outputTokens: output };
}

/**
 * Usage of a non-stream answer. The answer goes to the client as the bytes it came in, so parsing all of it
 * only to read `usage` was measurable; OpenAI-compatible bodies put one `"usage": {…}` object near the end,
 * and only that object is parsed. Falls back to a full parse when the cut-out does not parse.
 */
export function openAIUsageOfBody(text: string): Usage | undefined {
  const key = text.lastIndexOf('"usage"');
  if (key === -1) return undefined;
  const open = text.indexOf('{', key);
  if (open !== -1 && /^"usage"\s*:\s*$/.test(text.slice(key, open))) {
    let depth = 0;
    for (let i = open; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 123) depth++;
      else if (c === 125 && --depth === 0) {
        try {
          return openAIUsage({ usage: JSON.parse(text.slice(open, i + 1)) });
        } catch {
          break;
        }
      }
    }
  }
  try {
    return openAIUsage(JSON.parse(text));
  } catch {
    return undefined;
  }
}

export const openaiAdapter = {
  type: 'openai',
  buildCall({ op, body, model, apiKey, requestId, extraHeaders }) {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId };
    if (extraHeaders !== undefined) Object.assign(headers, extraHeaders);
    if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
    if (op === 'models') return { method: 'GET', path: PATHS.models, headers };
    return { method: 'POST', path: PATHS[op], headers, body: JSON.stringify({ ...body, model }) };
  },
  parseError: parseOpenAIError,
  usage: openAIUsage,
  usageOfBody: openAIUsageOfBody,
} satisfies ProviderAdapter;
