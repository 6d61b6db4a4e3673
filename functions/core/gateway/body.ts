/** Reads a request body up to a size limit without ever holding more than the limit in memory. */

import { utf8 } from '../bytes.ts';
import { InvalidRequestError, RequestTooLargeError } from '../errors.ts';
import { type GatewayRequest, header } from '../http.ts';

function tooLarge(limit: number): RequestTooLargeError {
  return new RequestTooLargeError({
    code: 'request_too_large',
    message: `Request body is larger than the limit of ${limit} bytes.`,
  });
}

/**
 * How deep a request body may nest. A chat request with tool schemas is a few dozen levels at most; a body
 * 100,000 levels deep parses fine but overflows the stack of anything recursive after it (JSON.stringify of
 * the tools, a translator), so it is a 400 here rather than a 500 later.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether a parsed JSON value nests deeper than `max` (walked without recursion). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const v = stack.pop();
    const depth = depths.pop() ?? 1;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) {
        stack.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/** The body as sent (text, what a provider that speaks the client's API gets) and parsed. */
export async function readJsonBody(
  req: GatewayRequest,
  limit: number,
): Promise<{ text: string; json: unknown }> {
  const declared = Number(header(req.headers, 'content-length') ?? Number.NaN);
  if (declared > limit) throw tooLarge(limit);
  let text: string;
  const body = req.body;
  if (body === undefined) text = '';
  else if (typeof body === 'string') {
    if (body.length > limit) throw tooLarge(limit);
    text = body;
  } else if (body instanceof Uint8Array) {
    if (body.byteLength > limit) throw tooLarge(limit);
    text = utf8.decode(body);
  } else {
    const bytes = await body(limit);
    if (bytes === undefined) throw tooLarge(limit);
    text = utf8.decode(bytes);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidRequestError({
      code: 'invalid_json',
      message: text === '' ? 'Request body is empty; expected JSON.' : 'Request body is not valid JSON.',
    });
  }
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
    throw new InvalidRequestError({
      code: 'invalid_request',
      message: `Request body nests deeper than ${MAX_JSON_DEPTH} levels.`,
    });
  }
  return { text, json: value };
}
