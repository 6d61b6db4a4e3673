/**
 * Gemini's error bodies (https://ai.google.dev/gemini-api/docs/troubleshooting): Google's standard
 * `{"error":{"code":400,"message":"…","status":"INVALID_ARGUMENT","details":[…]}}`. The status string is the
 * code; the HTTP status classifies it (429 RESOURCE_EXHAUSTED: rate limit, 403 PERMISSION_DENIED: auth,
 * 500/503/504: server) except for the one case where it misleads: a bad key is answered with 400.
 */
import { isRecord } from '../messages.ts';
import { type ProviderErrorInfo, unstructuredError } from '../types.ts';

/** The ErrorInfo reason of a wrong, expired or unknown key (answered with 400 INVALID_ARGUMENT). */
const KEY_REASON = 'API_KEY_INVALID';
const KEY_MESSAGE = /API key (not valid|expired|not found)/i;

function badKey(err: Record<string, unknown>, message: string): boolean {
  if (KEY_MESSAGE.test(message)) return true;
  const details: unknown[] = Array.isArray(err.details) ? err.details : [];
  return details.some((d) => isRecord(d) && d.reason === KEY_REASON);
}

/**
 * Reads a Gemini error body (also the `[{"error":…}]` array the non-SSE stream endpoint answers with); the
 * stream translator reads a mid-stream `{"error":…}` event through it too, for the same failure kind.
 */
export function parseGeminiError(status: number, text: string): ProviderErrorInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return unstructuredError(status, text);
  }
  const top: unknown = Array.isArray(json) ? json[0] : json;
  const err = isRecord(top) ? top.error : undefined;
  if (typeof err === 'string') return { message: err };
  if (!isRecord(err)) return { message: `HTTP ${status}` };
  const message = typeof err.message === 'string' && err.message !== '' ? err.message : `HTTP ${status}`;
  const info: { message: string; code?: string; type?: string; kind?: 'auth' | 'target_refused' } = {
    message,
  };
  const code =
    typeof err.status === 'string' ? err.status : typeof err.code === 'string' ? err.code : undefined;
  if (code !== undefined) info.code = code;
  if (typeof err.type === 'string') info.type = err.type;
  if (badKey(err, message)) info.kind = 'auth';
  // "User location is not supported", "free tier not available in your country": this target cannot serve
  // it, another provider may. https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
  else if (code === 'FAILED_PRECONDITION') info.kind = 'target_refused';
  return info;
}
