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

export async function readJsonBody(req: GatewayRequest, limit: number): Promise<unknown> {
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
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError({
      code: 'invalid_json',
      message: text === '' ? 'Request body is empty; expected JSON.' : 'Request body is not valid JSON.',
    });
  }
}
