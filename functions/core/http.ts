/**
 * The core's request and response are plain data, so node:http, middy's streaming response and the Lambda
 * event shapes all map onto them without a web `Request`/`Response` in between.
 */

/** Header names are lower-case. */
export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

/**
 * Reads the whole body, or resolves `undefined` as soon as more than `limit` bytes arrived (the rest is never
 * buffered). A function rather than an async iterable: node's stream iterator cost more than the read itself.
 */
export type BodyReader = (limit: number) => Promise<Uint8Array | undefined>;

export interface GatewayRequest {
  readonly method: string;
  /** Path without query string. */
  readonly path: string;
  /** The query string, without its `?` (only the admin API reads one). */
  readonly query?: string;
  readonly headers: HeaderMap;
  /** The whole body (Lambda), or a reader the core calls with its size limit (node:http). */
  readonly body: Uint8Array | string | BodyReader | undefined;
  /** Aborts when the client goes away; upstream calls are cancelled with it. */
  readonly signal?: AbortSignal;
}

export type ResponseBody = string | Uint8Array | AsyncIterable<string>;

export interface GatewayResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Bytes for a plain answer; an async iterable of SSE text for a stream (write each chunk as it comes). */
  readonly body: ResponseBody;
  /** For a stream body: releases the upstream when the host gives up before reading the body. */
  readonly cancel?: () => void;
}

export function header(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
