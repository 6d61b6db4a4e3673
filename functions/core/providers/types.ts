/**
 * A provider adapter is data plus small transforms (STYLE.md rule 2): how to forward a client's request to a
 * provider that speaks the client's API (the request as sent, the model replaced), how to build the call for
 * a chat or embeddings request in the provider's own API (a field table) with a translator of its answers
 * into typed OpenAI-format pieces, and how to read the provider's error bodies. The router never changes.
 */
import type { ProviderConfig } from '../config/schema.ts';
import type { AnswerRead, EndpointId, StreamReader } from '../endpoints/types.ts';
import type { HeaderMap } from '../http.ts';
import type { Json } from '../json.ts';
import type { FailureKind } from '../routing/failure.ts';

export type Operation = 'chat' | 'embeddings' | 'models';

export interface UpstreamCall {
  readonly method: 'GET' | 'POST';
  /** Appended to the provider's base URL. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  /**
   * A translated call: turns the provider's answer into OpenAI's chat/embeddings format, typed (made per call,
   * it may keep state such as a forced JSON tool's name). Undefined when the provider answers in the
   * client's own format: the endpoint's reader reads it as it came.
   */
  readonly translator?: ResponseTranslator;
  /** Request fields dropped because the provider has no equivalent (one line each, for the log line). */
  readonly warnings?: readonly string[];
  /** The content type a streamed answer of this call has; default `text/event-stream`. */
  readonly streamType?: string;
}

/**
 * Provider answer → OpenAI answer, typed, for one call. Error bodies (status ≥ 400) never reach it: they go to
 * {@link ProviderAdapter.parseError}.
 */
export interface ResponseTranslator {
  /** A whole non-stream answer (provider JSON text) → an OpenAI `chat.completion` / embeddings list. */
  body(text: string): AnswerRead;
  /** The reader of a streamed answer: OpenAI `chat.completion.chunk` events, typed pieces. */
  stream(): StreamReader;
}

/** A client's request forwarded to a provider that serves the client's API natively. */
export interface ForwardInput {
  readonly endpoint: EndpointId;
  /** The request body as the client sent it (text), and parsed. */
  readonly text: string;
  readonly json: Json;
  readonly stream: boolean;
  /** The upstream model of the target. */
  readonly model: string;
  readonly apiKey: string | undefined;
  readonly requestId: string;
  readonly extraHeaders: Readonly<Record<string, string>> | undefined;
  readonly provider: ProviderConfig;
  /** The client's request headers (an API's version or beta headers pass through). */
  readonly clientHeaders: HeaderMap;
}

export interface CallInput {
  readonly op: Operation;
  /** The provider's config entry (native adapters read options such as `region`). */
  readonly provider?: ProviderConfig;
  /** Wall clock at the call, epoch ms (for `created` in translated answers). */
  readonly epochMs?: number;
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
  /**
   * The message is the body's own text (not a JSON error: an HTML page, a proxy's plain text): it never
   * reaches a client, only the log line (upstream/messages.ts).
   */
  readonly raw?: boolean;
  readonly code?: string;
  readonly type?: string;
  readonly param?: string | null;
  /**
   * What the error means when its status says otherwise (Gemini answers a bad key with 400 API_KEY_INVALID:
   * `auth`; Anthropic a spent balance with 400 "credit balance is too low": `balance`).
   */
  readonly kind?: FailureKind;
}

/** An error body that is not the provider's JSON error (a proxy's HTML page, plain text). */
export function unstructuredError(status: number, text: string): ProviderErrorInfo {
  return { message: text.trim().slice(0, 500) || `HTTP ${status}`, raw: true };
}

export interface Usage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Input tokens served from the provider's prompt cache (part of inputTokens). */
  readonly cachedInputTokens?: number;
  /**
   * Input tokens written into the provider's prompt cache (part of inputTokens; Anthropic and Bedrock bill
   * them above the input price), priced at `cacheWriteInput`.
   */
  readonly cacheWriteTokens?: number;
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

/**
 * Thrown by {@link ProviderAdapter.buildCall} when the target cannot honour a request field (Anthropic has no
 * `n`). The attempt loop moves on to the next target; when no target can, the client gets a 400 naming it.
 */
export class UnsupportedFieldError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnsupportedFieldError';
  }
}

export interface ProviderAdapter {
  readonly type: string;
  /**
   * The call that forwards a client's request as it was sent (the gateway's edits only), when this provider
   * serves the client's endpoint natively; undefined when it does not (the request is translated to chat).
   */
  forward?(input: ForwardInput): UpstreamCall | undefined;
  /** A chat or embeddings request in the provider's own API. May throw {@link UnsupportedFieldError}. */
  buildCall(input: CallInput): UpstreamCall;
  parseError(status: number, text: string): ProviderErrorInfo;
  /** In-process transport replacing HTTP (the mock provider). */
  readonly transport?: HttpClient;
}
