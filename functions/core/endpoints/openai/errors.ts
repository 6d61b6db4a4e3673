/** The gateway's errors in OpenAI's shape: the body (the error table), and the SSE event that ends a stream. */
import { type SwitchyardError, toErrorBody } from '../../errors.ts';
import type { Json } from '../../json.ts';

export function openAIErrorBody(err: SwitchyardError): Json {
  return toErrorBody(err) as unknown as Json;
}

/** `data: {"error": {…}}` — the OpenAI SDK raises it as an APIError; the stream ends without `[DONE]`. */
export function openAIErrorEvent(err: SwitchyardError): string {
  return `data: ${JSON.stringify(toErrorBody(err))}\n\n`;
}
