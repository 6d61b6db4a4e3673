/**
 * The wire to Amazon Bedrock: the core's {@link HttpClient} over `@aws-sdk/client-bedrock-runtime`
 * (SigV4 with the role's credentials, no key). The core builds the call as if it were HTTP, the region in
 * `x-switchyard-region`, and the path says the operation:
 * - `<baseUrl>/model/<id>/converse[-stream]` (core/providers/bedrock): the Converse input as JSON; the answer
 *   is the ConverseCommand output (without `$metadata`) as JSON text, or one NDJSON line per ConverseStream
 *   event as the SDK yields it.
 * - `<baseUrl>/model/<id>/invoke[-with-response-stream]` (core/endpoints/messages/bedrock.ts): a body sent as
 *   its bytes — Claude's Messages body for Bedrock — and the answer as Anthropic's: the JSON body as it came,
 *   or each stream chunk (an Anthropic event, base64 `bytes` in the AWS event stream) as Anthropic SSE text,
 *   `event: <type>\ndata: <json>\n\n`, so the Messages stream reader reads Bedrock's stream like Anthropic's.
 *   An exception mid-stream is Anthropic's `event: error`.
 * SDK errors with an HTTP status become a response with that status and the body
 * `{"__type": "<ExceptionName>", "message": "…"}`; errors without one (refused, DNS) a ConnectionError.
 *
 * The SDK is loaded with a dynamic `import()` on the first call, so it costs nothing at module init and stays
 * out of the main Lambda bundle (lib/handler-bundling.ts puts it in a side file next to it).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type * as BedrockSdk from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { isRecord, own } from '../core/json.ts';
import { REGION_HEADER } from '../core/providers/bedrock/adapter.ts';
import { ConnectionError, type HttpClient, type UpstreamHttpResponse } from '../core/providers/types.ts';

export type BedrockSdkModule = typeof BedrockSdk;

export interface BedrockTransportOptions {
  /** Default: the SDK's provider chain (in Lambda, the function role's credentials). */
  readonly credentials?: BedrockSdk.BedrockRuntimeClientConfig['credentials'];
  /** SDK attempts per call; default 1 (no SDK retries): the gateway owns retries, backoff and fallback. */
  readonly maxAttempts?: number;
  /** How the SDK module is loaded; default the dynamic import (a side file of the Lambda bundle). */
  readonly loadSdk?: () => Promise<BedrockSdkModule>;
}

/** The one place the SDK is imported: the Lambda bundle resolves this specifier to its side file. */
const importSdk = (): Promise<BedrockSdkModule> => import('@aws-sdk/client-bedrock-runtime');

const encoder = new TextEncoder();
const utf8 = new TextDecoder();

/** Headers that are the SDK's business (signing, framing) or the adapter's message to this transport. */
const NOT_FORWARDED = new Set(['content-type', 'content-length', 'host', 'authorization', REGION_HEADER]);

/**
 * Status of a ConverseStream exception that arrived as the first event (the SDK throws it from `send`,
 * without an HTTP status): the statuses the ConverseStream API reference gives these exceptions, so a
 * failure before the first byte reached the client is retried or failed over like any other.
 */
const STREAM_EXCEPTION_STATUS: Readonly<Record<string, number>> = {
  ThrottlingException: 429,
  ValidationException: 400,
  ModelStreamErrorException: 424,
  // InvokeModelWithResponseStream's list adds it (API_runtime_InvokeModelWithResponseStream.html, Errors).
  ModelTimeoutException: 408,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
};

interface Target {
  readonly endpoint: string;
  readonly modelId: string;
  readonly op: 'converse' | 'invoke';
  readonly stream: boolean;
}

function targetOf(url: string): Target {
  const u = new URL(url);
  const m = /^(.*)\/model\/([^/]+)\/(converse|invoke)(-stream|-with-response-stream)?$/.exec(u.pathname);
  const op = m?.[3] === 'invoke' ? 'invoke' : 'converse';
  const suffix = m?.[4];
  if (
    m === null ||
    (suffix !== undefined && suffix !== (op === 'invoke' ? '-with-response-stream' : '-stream'))
  ) {
    throw new Error(`bedrock transport: not a Converse or InvokeModel URL: ${u.pathname}`);
  }
  return {
    endpoint: `${u.origin}${m[1] ?? ''}`,
    modelId: decodeURIComponent(m[2] ?? ''),
    op,
    stream: suffix !== undefined,
  };
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

type Json = Record<string, unknown>;

/** The adapter sends image bytes as base64 text (JSON has no bytes); the SDK wants a Uint8Array. */
function withImageBytes(blocks: unknown): void {
  if (!Array.isArray(blocks)) return;
  for (const b of blocks) {
    if (!isRecord(b)) continue;
    const source = isRecord(b.image) && isRecord(b.image.source) ? b.image.source : undefined;
    if (source !== undefined && typeof source.bytes === 'string') {
      source.bytes = new Uint8Array(Buffer.from(source.bytes, 'base64'));
    }
    if (isRecord(b.toolResult)) withImageBytes(b.toolResult.content);
  }
}

function converseInput(body: string | undefined, modelId: string): Json {
  const input: unknown = body === undefined ? {} : JSON.parse(body);
  if (!isRecord(input)) throw new Error('bedrock transport: the call body is not a JSON object');
  if (Array.isArray(input.messages))
    for (const m of input.messages) if (isRecord(m)) withImageBytes(m.content);
  return { ...input, modelId };
}

const oneChunk = (data: string | Uint8Array): AsyncIterable<Uint8Array> =>
  (async function* () {
    yield typeof data === 'string' ? encoder.encode(data) : data;
  })();

/** `ThrottlingException` → `throttlingException`: the member name of ConverseStream's exception events. */
const memberName = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

/** A modelled Bedrock exception (it has a `$fault`), as opposed to a socket or abort error. */
function isServiceError(
  err: unknown,
): err is Error & { $fault?: string; $metadata?: { httpStatusCode?: number } } {
  return err instanceof Error && ('$fault' in err || '$metadata' in err);
}

function statusOf(err: unknown): number | undefined {
  if (!isServiceError(err)) return undefined;
  const status = err.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 400) return status;
  if (err.$fault === undefined) return undefined;
  return own(STREAM_EXCEPTION_STATUS, err.name) ?? (err.$fault === 'client' ? 400 : 500);
}

/** ConverseStream events → NDJSON lines, each as soon as the SDK yields it; an exception → its event line. */
async function* ndjson(events: AsyncIterable<unknown> | undefined, signal: AbortSignal, done: () => void) {
  try {
    if (events === undefined) return;
    for await (const event of events) yield encoder.encode(`${JSON.stringify(event)}\n`);
  } catch (err) {
    if (signal.aborted || !isServiceError(err)) throw err;
    yield encoder.encode(`${JSON.stringify({ [memberName(err.name)]: { message: err.message } })}\n`);
  } finally {
    done();
  }
}

/**
 * InvokeModelWithResponseStream's exceptions → Anthropic's error types, so the stream ends as Anthropic's
 * would (`event: error`) and is read by the same table (core/providers/anthropic/errors.ts). Names from the
 * Errors section of API_runtime_InvokeModelWithResponseStream.html; types from
 * https://docs.anthropic.com/en/api/errors.
 */
const ANTHROPIC_ERROR_OF: Readonly<Record<string, string>> = {
  ThrottlingException: 'rate_limit_error', // 429 both
  ServiceUnavailableException: 'overloaded_error', // 503: no capacity now, as Anthropic's 529
  ModelTimeoutException: 'timeout_error', // 408: the model took too long, as Anthropic's 504
  ValidationException: 'invalid_request_error', // 400 both
  ModelStreamErrorException: 'api_error', // the model failed mid-answer
  InternalServerException: 'api_error', // 500 both
};

/** `throttlingException` (a stream member) or `ThrottlingException` (a thrown error) → Anthropic's type. */
function anthropicErrorTypeOf(name: string): string {
  return own(ANTHROPIC_ERROR_OF, name.charAt(0).toUpperCase() + name.slice(1)) ?? 'api_error';
}

const errorEvent = (name: string, message: string): Uint8Array =>
  encoder.encode(
    `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: anthropicErrorTypeOf(name), message } })}\n\n`,
  );

/** An event type safe on an `event:` line (Anthropic's are snake_case words). */
const EVENT_TYPE = /^[A-Za-z0-9_.-]{1,64}$/;

/** One chunk's bytes (an Anthropic event's JSON) → one Anthropic SSE event, the JSON kept as it came. */
function sseOf(bytes: Uint8Array): Uint8Array {
  const text = utf8.decode(bytes);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return errorEvent('ModelStreamErrorException', 'Bedrock sent a stream chunk that is not JSON.');
  }
  const type =
    isRecord(data) && typeof data.type === 'string' && EVENT_TYPE.test(data.type) ? data.type : undefined;
  // A `data:` line ends at a newline: JSON with one between its tokens is written again on one line.
  const line = /[\r\n]/.test(text) ? JSON.stringify(data) : text;
  return encoder.encode(`${type === undefined ? '' : `event: ${type}\n`}data: ${line}\n\n`);
}

type ResponseEvent = BedrockSdk.ResponseStream;

/** InvokeModelWithResponseStream's events → Anthropic SSE, each as soon as the SDK yields it. */
async function* anthropicSse(
  events: AsyncIterable<ResponseEvent> | undefined,
  signal: AbortSignal,
  done: () => void,
) {
  try {
    if (events === undefined) return;
    for await (const event of events) {
      if (event.chunk?.bytes !== undefined) {
        yield sseOf(event.chunk.bytes);
        continue;
      }
      // An exception the SDK yields as a member (rather than throws) ends the stream the same way.
      const [name, value] = Object.entries(event).find(([k, v]) => k !== '$unknown' && isRecord(v)) ?? [];
      if (name !== undefined && isRecord(value)) {
        yield errorEvent(name, typeof value.message === 'string' ? value.message : name);
        return;
      }
    }
  } catch (err) {
    if (signal.aborted || !isServiceError(err)) throw err;
    yield errorEvent(err.name, err.message);
  } finally {
    done();
  }
}

/** Creates the transport; SDK clients are made on first use, one per (endpoint, region), and kept. */
export function createBedrockTransport(opts: BedrockTransportOptions = {}): HttpClient & { close(): void } {
  const load = opts.loadSdk ?? importSdk;
  let sdk: Promise<BedrockSdkModule> | undefined;
  const clients = new Map<string, BedrockSdk.BedrockRuntimeClient>();
  // HTTP/1.1 with keep-alive (the client's default is an HTTP/2 handler, needed only for the bidirectional
  // stream this gateway does not use). NodeHttpHandler is in the main bundle already: DynamoDB uses it.
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 50 });
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 50 });
  const requestHandler = new NodeHttpHandler({ httpAgent, httpsAgent, connectionTimeout: 10_000 });

  const clientFor = (mod: BedrockSdkModule, endpoint: string, region: string) => {
    const key = `${endpoint} ${region}`;
    let client = clients.get(key);
    if (client === undefined) {
      client = new mod.BedrockRuntimeClient({
        region,
        endpoint,
        maxAttempts: opts.maxAttempts ?? 1,
        requestHandler,
        ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
      });
      clients.set(key, client);
    }
    return client;
  };

  return {
    async send({ url, headers, body, signal }): Promise<UpstreamHttpResponse> {
      const target = targetOf(url);
      const region = headerValue(headers, REGION_HEADER);
      if (region === undefined) throw new Error(`bedrock transport: no ${REGION_HEADER} header`);
      sdk ??= load().catch((err: unknown) => {
        sdk = undefined; // a failed load is tried again by the next call
        throw err;
      });
      const mod = await sdk;
      const client = clientFor(mod, target.endpoint, region);
      // The adapter's Converse JSON (core/providers/bedrock/request.ts), typed by its tests; InvokeModel
      // sends its body's bytes as they are (Bedrock reads Claude's Messages body itself).
      const input = target.op === 'converse' ? converseInput(body, target.modelId) : undefined;
      const forwarded = Object.entries(headers).filter(
        ([k]) => !NOT_FORWARDED.has(k.toLowerCase()) && !k.toLowerCase().startsWith('x-amz-'),
      );
      // The call's own controller: the caller's signal aborts it, and so does dispose() of a stream.
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      const unlink = () => signal.removeEventListener('abort', onAbort);
      /** Adds the call's headers (x-request-id, the provider's own) to the request the SDK signs. */
      const setHeaders = <A extends { request: unknown }>(args: A): A => {
        const req = args.request;
        if (isRecord(req) && isRecord(req.headers)) for (const [k, v] of forwarded) req.headers[k] = v;
        return args;
      };
      const headerStep = { step: 'build', name: 'switchyardHeaders' } as const;
      try {
        if (input === undefined) {
          const invoke = {
            modelId: target.modelId,
            body: encoder.encode(body ?? ''),
            contentType: 'application/json',
            accept: 'application/json',
          };
          if (!target.stream) {
            const command = new mod.InvokeModelCommand(invoke);
            command.middlewareStack.add((next) => (args) => next(setHeaders(args)), headerStep);
            const out = await client.send(command, { abortSignal: controller.signal });
            unlink();
            return {
              status: 200,
              headers: { 'content-type': 'application/json' },
              body: oneChunk(out.body ?? new Uint8Array()),
              dispose() {},
            };
          }
          const command = new mod.InvokeModelWithResponseStreamCommand(invoke);
          command.middlewareStack.add((next) => (args) => next(setHeaders(args)), headerStep);
          const out = await client.send(command, { abortSignal: controller.signal });
          return {
            status: 200,
            headers: { 'content-type': 'text/event-stream' },
            body: anthropicSse(out.body, controller.signal, unlink),
            dispose: () => {
              unlink();
              controller.abort();
            },
          };
        }
        if (!target.stream) {
          const command = new mod.ConverseCommand(input as unknown as BedrockSdk.ConverseCommandInput);
          command.middlewareStack.add((next) => (args) => next(setHeaders(args)), headerStep);
          const { $metadata: _, ...answer } = await client.send(command, { abortSignal: controller.signal });
          unlink();
          return {
            status: 200,
            headers: { 'content-type': 'application/json' },
            body: oneChunk(JSON.stringify(answer)),
            dispose() {},
          };
        }
        const command = new mod.ConverseStreamCommand(
          input as unknown as BedrockSdk.ConverseStreamCommandInput,
        );
        command.middlewareStack.add((next) => (args) => next(setHeaders(args)), headerStep);
        const out = await client.send(command, { abortSignal: controller.signal });
        return {
          status: 200,
          headers: { 'content-type': 'application/x-ndjson' },
          body: ndjson(out.stream, controller.signal, unlink),
          dispose: () => {
            unlink();
            controller.abort();
          },
        };
      } catch (err) {
        unlink();
        if (signal.aborted) throw signal.reason;
        const status = statusOf(err);
        const e = err instanceof Error ? err : new Error(String(err));
        if (status !== undefined) {
          return {
            status,
            headers: { 'content-type': 'application/json' },
            body: oneChunk(JSON.stringify({ __type: e.name, message: e.message })),
            dispose() {},
          };
        }
        throw new ConnectionError(`cannot reach ${new URL(url).host}: ${e.message}`, err);
      }
    },
    close() {
      for (const c of clients.values()) c.destroy();
      clients.clear();
      requestHandler.destroy();
    },
  };
}
