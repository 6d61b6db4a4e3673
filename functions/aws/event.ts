/**
 * The one thin adapter from Lambda's two HTTP event shapes to the core's request: a function URL sends the
 * API Gateway v2 payload, the REST API proxy integration the v1 payload. Parsed with zod, not cast.
 */
import * as z from 'zod';
import type { GatewayRequest } from '../core/http.ts';

const headers = z.record(z.string(), z.string().optional()).nullish();

const v2 = z.object({
  version: z.literal('2.0'),
  rawPath: z.string(),
  rawQueryString: z.string().nullish(),
  headers,
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().default(false),
  requestContext: z.object({ http: z.object({ method: z.string() }) }),
});

const v1 = z.object({
  httpMethod: z.string(),
  path: z.string(),
  queryStringParameters: z.record(z.string(), z.string().optional()).nullish(),
  headers,
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().nullish(),
});

export const httpEvent = z.union([v2, v1]);

/** Header names lower-cased (v1 keeps the client's case). */
function lower(h: Record<string, string | undefined> | null | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k.toLowerCase()] = v;
  return out;
}

export function toGatewayRequest(event: unknown, signal?: AbortSignal): GatewayRequest {
  const e = httpEvent.parse(event);
  const body = e.body ?? undefined;
  const bytes =
    body === undefined ? undefined : e.isBase64Encoded === true ? Buffer.from(body, 'base64') : body;
  const base =
    'version' in e
      ? { method: e.requestContext.http.method, path: e.rawPath, headers: lower(e.headers) }
      : { method: e.httpMethod, path: e.path, headers: lower(e.headers) };
  const query =
    'version' in e
      ? (e.rawQueryString ?? '')
      : new URLSearchParams(
          Object.entries(e.queryStringParameters ?? {}).flatMap(([k, v]): [string, string][] =>
            v === undefined ? [] : [[k, v]],
          ),
        ).toString();
  return {
    ...base,
    ...(query === '' ? {} : { query }),
    body: bytes,
    ...(signal === undefined ? {} : { signal }),
  };
}
