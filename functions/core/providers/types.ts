/**
 * A provider adapter is data plus small transforms (STYLE.md rule 2): how to build the upstream call from the
 * OpenAI-shaped request, how to read the provider's error bodies and usage. Native adapters (Anthropic,
 * Gemini, Bedrock) add request/response translation behind the same interface; the router never changes.
 */
import type { HeaderMap } from '../http.ts';

export type Operation = 'chat' | 'embeddings' | 'models';

export interface UpstreamCall {
  readonly method: 'GET' | 'POST';
  /** Appended to the provider's base URL. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

export interface CallInput {
  readonly op: Operation;
  /** The client's body, already validated; unknown fields are kept. */
  readonly body: Readonly<Record<string, unknown>>;
  /** The upstream model name of the target. */
  readonly model: string;
  readonly apiKey: string | undefined;
  readonly requestId: string;
  readonly extraHeaders: Readonly<Record<string, string>> | undefined;
}

export interface ProviderErrorInfo {
  readonly message: string;
  readonly code?: string;
  readonly type?: string;
  readonly param?: string | null;
}

export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Input tokens served from the provider's prompt cache (part of inputTokens). */
  readonly cachedInputTokens?: number;
  /** Reasoning tokens (part of outputTokens). */
  readonly reasoningTokens?: number;
}

/** The wire between the gateway and a provider: undici for HTTP providers, in-process for `mock`. */
export interface HttpClient {
  send(req: {
    readonly url: string;
    readonly method: 'GET' | 'POST';
    readonly headers: Record<string, string>;
    readonly body?: string;
    readonly signal: AbortSignal;
  }): Promise<UpstreamHttpResponse>;
}

export interface UpstreamHttpResponse {
  readonly status: number;
  readonly headers: HeaderMap;
  readonly body: AsyncIterable<Uint8Array>;
  /** Releases the connection when the body will not be read to its end. */
  dispose(): void;
}

/** Thrown by an {@link HttpClient} when no response arrived (refused, reset, DNS): the next base URL is tried. */
export class ConnectionError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ConnectionError';
  }
}

export interface ProviderAdapter {
  readonly type: string;
  buildCall(input: CallInput): UpstreamCall;
  parseError(status: number, text: string): ProviderErrorInfo;
  /** Usage of a non-stream answer or of one stream chunk (parsed JSON), when present. */
  usage(json: unknown): Usage | undefined;
  /** Usage of a whole non-stream answer body (text), read without parsing all of it when the format allows. */
  usageOfBody(text: string): Usage | undefined;
  /** In-process transport replacing HTTP (the mock provider). */
  readonly transport?: HttpClient;
}
