/**
 * A tiny stand-in for what fronts the function: a loopback node:http server that turns each request into a
 * function URL event (API Gateway v2 payload) or a REST API proxy event (v1 payload), invokes the handler in
 * the shim's execution environment, parses the HTTP-integration response (JSON prelude + 8 NULs) off the
 * response stream and streams the body on as it comes. A client that leaves gets its response stream destroyed.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import {
  createServer,
  type OutgoingHttpHeaders as Head,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { APIGatewayProxyEvent, LambdaFunctionURLEvent } from 'aws-lambda';
import { z } from 'zod';
import { listenOnLoopback } from '../../support/loopback.ts';
import {
  type ExecutionEnvironment,
  HTTP_INTEGRATION_CONTENT_TYPE,
  type Invocation,
  PRELUDE_DELIMITER_LENGTH,
} from './awslambda-shim.ts';

export type EventFormat = 'function-url' | 'rest-api';

export interface FrontOptions {
  /** REST API stage: the first path segment of the invoke URL. */
  readonly stage?: string;
  /** REST API binary media types (content types whose body arrives base64-encoded). */
  readonly binaryMediaTypes?: readonly string[];
}

export interface LambdaFront {
  readonly format: EventFormat;
  readonly origin: string;
  /** What a client uses as its base: the origin (function URL) or `origin/<stage>` (REST API). */
  readonly baseURL: string;
  readonly events: (LambdaFunctionURLEvent | APIGatewayProxyEvent)[];
  readonly invocations: Invocation[];
  /** Responses whose stream broke the HTTP-integration protocol (answered 502). */
  readonly protocolErrors: string[];
  close(): Promise<void>;
}

const MAX_PRELUDE_BYTES = 64 * 1024;
const ACCOUNT_ID = '123456789012';
const URL_ID = 'abcdefghijklmnopqrstuvwxyz012345';
const API_ID = 'a1b2c3d4e5';
/** Response headers the service frames itself (a streamed response is always chunked). */
const HOP_BY_HOP = new Set('connection keep-alive transfer-encoding upgrade content-length'.split(' '));
const INTERNAL_ERROR = { message: 'Internal Server Error' };

const preludeSchema = z.looseObject({
  statusCode: z.number().int().min(100).max(599).default(200),
  headers: z.record(z.string(), z.string()).optional(),
  multiValueHeaders: z.record(z.string(), z.array(z.string())).optional(),
  cookies: z.array(z.string()).optional(),
});

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');
/** `12/Mar/2020:19:03:58 +0000`, the time format of both payloads. */
function eventTime(d: Date): string {
  const date = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}`;
  return `${date}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** Function URLs pass these bodies as text; anything else (or no content type) arrives base64-encoded. */
function isTextual(contentType: string | undefined): boolean {
  const t = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return t.startsWith('text/') || /^application\/([\w.+-]+\+)?(json|xml|javascript|yaml)$/.test(t);
}

interface Incoming {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly rawPath: string;
  readonly rawQuery: string;
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly traceId: string;
  readonly now: Date;
}

/** The headers as sent: names in the client's case, repeats kept. */
const rawHeaderPairs = (req: IncomingMessage): [string, string][] =>
  req.rawHeaders.flatMap((n, i): [string, string][] => (i % 2 ? [] : [[n, req.rawHeaders[i + 1] ?? '']]));

function functionUrlEvent(r: Incoming, requestId: string): LambdaFunctionURLEvent {
  const domainName = `${URL_ID}.lambda-url.us-east-1.on.aws`;
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [rawName, value] of rawHeaderPairs(r.req)) {
    const name = rawName.toLowerCase();
    if (name === 'cookie') cookies.push(...value.split(/;\s*/).filter((c) => c !== ''));
    else headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const forwardedFor = headers['x-forwarded-for'];
  Object.assign(headers, {
    host: domainName,
    'x-forwarded-for': forwardedFor === undefined ? r.sourceIp : `${forwardedFor}, ${r.sourceIp}`,
    'x-forwarded-proto': 'https',
    'x-forwarded-port': '443',
    'x-amzn-trace-id': r.traceId,
  });
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(r.rawQuery))
    query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const base64 = !isTextual(headers['content-type']);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: r.rawPath,
    rawQueryString: r.rawQuery,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(r.rawQuery === '' ? {} : { queryStringParameters: query }),
    requestContext: {
      accountId: 'anonymous',
      apiId: URL_ID,
      domainName,
      domainPrefix: URL_ID,
      http: {
        method: r.method,
        path: r.rawPath,
        protocol: `HTTP/${r.req.httpVersion}`,
        sourceIp: r.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: eventTime(r.now),
      timeEpoch: r.now.getTime(),
    },
    ...(r.body.length === 0 ? {} : { body: r.body.toString(base64 ? 'base64' : 'utf8') }),
    isBase64Encoded: r.body.length > 0 && base64,
  };
}

function restApiEvent(
  r: Incoming,
  requestId: string,
  stage: string,
  binary: readonly string[],
): APIGatewayProxyEvent {
  const domainName = `${API_ID}.execute-api.us-east-1.amazonaws.com`;
  const all = rawHeaderPairs(r.req);
  const forwardedFor = all.find(([name]) => name.toLowerCase() === 'x-forwarded-for')?.[1];
  const replaced = new Set(
    'host x-forwarded-for x-forwarded-port x-forwarded-proto x-amzn-trace-id'.split(' '),
  );
  const pairs = all.filter(([name]) => !replaced.has(name.toLowerCase()));
  pairs.push(
    ['Host', domainName],
    ['X-Amzn-Trace-Id', r.traceId],
    ['X-Forwarded-For', forwardedFor === undefined ? r.sourceIp : `${forwardedFor}, ${r.sourceIp}`],
    ['X-Forwarded-Port', '443'],
    ['X-Forwarded-Proto', 'https'],
  );
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of pairs) {
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const params = [...new URLSearchParams(r.rawQuery)];
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of params) {
    query[k] = v;
    multiQuery[k] = [...(multiQuery[k] ?? []), v];
  }
  const contentType = pairs.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
  const base64 = binary.some((t) => contentType.toLowerCase().startsWith(t.toLowerCase()));
  const resource = r.rawPath === '/' ? '/' : '/{proxy+}';
  return {
    resource,
    path: r.rawPath,
    httpMethod: r.method,
    headers,
    multiValueHeaders,
    queryStringParameters: params.length === 0 ? null : query,
    multiValueQueryStringParameters: params.length === 0 ? null : multiQuery,
    pathParameters: r.rawPath === '/' ? null : { proxy: r.rawPath.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: API_ID,
      authorizer: undefined,
      domainName,
      domainPrefix: API_ID,
      extendedRequestId: randomBytes(8).toString('base64url'),
      httpMethod: r.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: r.sourceIp,
        user: null,
        userAgent: headers['User-Agent'] ?? headers['user-agent'] ?? null,
        userArn: null,
      },
      path: `/${stage}${r.rawPath}`,
      protocol: `HTTP/${r.req.httpVersion}`,
      requestId,
      requestTime: eventTime(r.now),
      requestTimeEpoch: r.now.getTime(),
      resourceId: 'abc123',
      resourcePath: resource,
      stage,
    },
    body: r.body.length === 0 ? null : r.body.toString(base64 ? 'base64' : 'utf8'),
    isBase64Encoded: base64 && r.body.length > 0,
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Head = {}): void {
  const text = JSON.stringify(body);
  const length = Buffer.byteLength(text);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': length });
  res.end(text);
}

/** Status and headers from the prelude, as the service answers them. */
function responseHead(prelude: z.infer<typeof preludeSchema>, format: EventFormat): [number, Head] {
  const headers: Head = {};
  for (const [name, value] of Object.entries(prelude.headers ?? {})) {
    if (!HOP_BY_HOP.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  }
  if (format === 'rest-api') {
    for (const [name, values] of Object.entries(prelude.multiValueHeaders ?? {})) {
      if (!HOP_BY_HOP.has(name.toLowerCase())) headers[name.toLowerCase()] = values;
    }
  }
  if (format === 'function-url' && prelude.cookies !== undefined) headers['set-cookie'] = prelude.cookies;
  return [prelude.statusCode, headers];
}

/** Reads the invocation's response stream and answers the HTTP client from it. */
function relay(inv: Invocation, res: ServerResponse, format: EventFormat, protocolErrors: string[]): void {
  const wire = inv.wire;
  let state: 'start' | 'prelude' | 'body' | 'failed' = 'start';
  let pending = Buffer.alloc(0);
  const service = { 'x-amzn-requestid': inv.requestId };
  res.on('close', () => {
    if (!res.writableFinished) inv.abort();
  });
  const forward = (chunk: Buffer): void => {
    if (chunk.length === 0 || res.write(chunk)) return;
    wire.pause();
    res.once('drain', () => wire.resume());
  };
  const begin = (status: number, headers: Head): void => {
    state = 'body';
    res.writeHead(status, { ...headers, ...service });
    res.flushHeaders();
  };
  const protocolError = (why: string): void => {
    state = 'failed';
    protocolErrors.push(why);
    inv.abort();
    sendJson(res, 502, INTERNAL_ERROR, service);
  };
  const functionError = (): void => {
    state = 'failed';
    sendJson(res, 502, INTERNAL_ERROR, { ...service, 'x-amzn-errortype': 'FunctionError' });
  };
  wire.on('data', (chunk: Buffer) => {
    if (state === 'body') return forward(chunk);
    if (state === 'failed') return;
    if (state === 'start') {
      if (inv.responseStream.contentType !== HTTP_INTEGRATION_CONTENT_TYPE) {
        begin(200, { 'content-type': inv.responseStream.contentType });
        return forward(chunk);
      }
      state = 'prelude';
    }
    pending = Buffer.concat([pending, chunk]);
    const nul = pending.indexOf(0);
    if (nul === -1) {
      if (pending.length > MAX_PRELUDE_BYTES) protocolError('no NUL delimiter after the prelude');
      return;
    }
    if (pending.length < nul + PRELUDE_DELIMITER_LENGTH) return;
    if (pending.subarray(nul, nul + PRELUDE_DELIMITER_LENGTH).some((b) => b !== 0)) {
      return protocolError('the prelude is not followed by 8 NUL bytes');
    }
    let prelude: z.infer<typeof preludeSchema>;
    try {
      prelude = preludeSchema.parse(JSON.parse(pending.subarray(0, nul).toString('utf8')));
    } catch (e) {
      return protocolError(`bad prelude: ${e instanceof Error ? e.message : String(e)}`);
    }
    begin(...responseHead(prelude, format));
    forward(pending.subarray(nul + PRELUDE_DELIMITER_LENGTH));
  });
  wire.on('end', () => {
    if (state === 'body') res.end();
    else if (state === 'prelude') protocolError('the stream ended inside the prelude');
    else if (state === 'start') {
      void inv.done.then((outcome) => {
        if (outcome.kind !== 'success') functionError();
        else if (inv.responseStream.contentType === HTTP_INTEGRATION_CONTENT_TYPE)
          protocolError('HttpResponseStream.from without a write: no prelude was sent');
        else {
          begin(200, { 'content-type': inv.responseStream.contentType });
          res.end();
        }
      });
    }
  });
  wire.on('error', () => {
    // The function failed or timed out: before the first byte the service answers 502, after it the
    // response is cut short.
    if (state === 'body') res.destroy();
    else if (state !== 'failed') functionError();
  });
}

export async function startLambdaFront(
  env: ExecutionEnvironment,
  format: EventFormat,
  opts: FrontOptions = {},
): Promise<LambdaFront> {
  const stage = opts.stage ?? 'prod';
  const events: (LambdaFunctionURLEvent | APIGatewayProxyEvent)[] = [];
  const invocations: Invocation[] = [];
  const protocolErrors: string[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      let rawPath = q === -1 ? url : url.slice(0, q);
      const rawQuery = q === -1 ? '' : url.slice(q + 1);
      if (format === 'rest-api') {
        if (rawPath !== `/${stage}` && !rawPath.startsWith(`/${stage}/`)) {
          const errorType = { 'x-amzn-errortype': 'MissingAuthenticationTokenException' };
          return sendJson(res, 403, { message: 'Missing Authentication Token' }, errorType);
        }
        rawPath = rawPath.slice(stage.length + 1) || '/';
      }
      const incoming: Incoming = {
        req,
        method: req.method ?? 'GET',
        rawPath,
        rawQuery,
        body: Buffer.concat(chunks),
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        traceId: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
        now: new Date(),
      };
      const requestId = randomUUID();
      const event =
        format === 'function-url'
          ? functionUrlEvent(incoming, requestId)
          : restApiEvent(incoming, requestId, stage, opts.binaryMediaTypes ?? []);
      events.push(event);
      const inv = env.invoke(event);
      invocations.push(inv);
      relay(inv, res, format, protocolErrors);
    });
  });

  const listening = await listenOnLoopback(server);
  const { origin } = listening;
  return {
    format,
    origin,
    baseURL: format === 'rest-api' ? `${origin}/${stage}` : origin,
    events,
    invocations,
    protocolErrors,
    close: listening.close,
  };
}
