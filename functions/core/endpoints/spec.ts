/**
 * One spec per client endpoint (STYLE.md rule 12, after envoyproxy/ai-gateway's endpointspec): how its body
 * is parsed, whether a stream is asked for, how a target of each provider type is called (the request as sent
 * to a provider that speaks the API, else translated), how its answers are read into typed pieces, how its
 * input and output are estimated and bounded, and the shape of its errors. The gateway's request path is a
 * few steps over a spec; a new endpoint is one spec plus its translators.
 */

import type { Background } from '../background.ts';
import type { ProviderConfig } from '../config/schema.ts';
import type { SwitchyardError } from '../errors.ts';
import type { HeaderMap } from '../http.ts';
import type { Json } from '../json.ts';
import type { Logger } from '../ports.ts';
import type { ProviderAdapter, UpstreamCall } from '../providers/types.ts';
import type { AttemptFailure } from '../routing/failure.ts';
import type { SecretMasker } from '../secrets.ts';
import type { ResponseStorage } from '../stores/response-store.ts';
import type { TokenCounter } from '../usage/types.ts';
import type { AnswerRead, EndpointId, StreamReader } from './types.ts';

/**
 * The client's request: its body as sent (text) and parsed, its headers, and what the spec's `prepare` loaded
 * for it (`state`: a stored conversation, a translation made once) — undefined for a spec without one.
 */
export interface ClientRequest<B extends Json = Json, S = unknown> {
  readonly text: string;
  readonly json: B;
  readonly headers: HeaderMap;
  readonly state: S;
}

/** What a spec's `prepare` may use: who asks, and the gateway's stores. */
export interface PrepareContext {
  readonly keyId: string;
  /** The request's signal (client gone, deadline, shutdown): every store read of `prepare` passes it on. */
  readonly signal: AbortSignal;
  /** The route: the model name the client sent. */
  readonly route: string;
  readonly requestId: string;
  /** Wall clock at arrival, epoch ms. */
  readonly epochMs: number;
  /** Stored Responses (undefined: the host keeps none, so `store` keeps nothing and nothing can be continued). */
  readonly responses: ResponseStorage | undefined;
  readonly tokens: TokenCounter | undefined;
  /** What the request keeps beyond its answer (a stored Response) is masked by it first. */
  readonly secrets: SecretMasker;
  readonly logger: Logger;
  /** Where work that outlives the answer is tracked (the hosts finish it before they stop). */
  readonly background: Background | undefined;
  /** A line for the request's log line (a field dropped, a store that failed). */
  warn(warning: string): void;
}

/** The target an attempt calls. */
export interface TargetInput {
  /** The provider's id in the config. */
  readonly providerId: string;
  readonly adapter: ProviderAdapter;
  readonly provider: ProviderConfig;
  /** The target's upstream model. */
  readonly model: string;
  readonly apiKey: string | undefined;
  readonly requestId: string;
  /** Wall clock at the call, epoch ms (for `created` in translated answers). */
  readonly epochMs: number;
}

/** A target's call for one request, and how its answer is read in the client's format. */
export interface TargetCall {
  readonly call: UpstreamCall;
  /** A whole answer → the client's answer; throws NotAnAnswerError (anything it throws fails the attempt). */
  answer(text: string): AnswerRead;
  /** A streamed answer's reader (made per attempt). */
  stream(): StreamReader;
  /** The content type the streamed answer must have. */
  readonly streamType: string;
  /**
   * The answer is complete (read whole, or its stream's last piece about to be sent): what must happen before
   * the client can see it end — a stored Response is put, so a `previous_response_id` naming it right after
   * finds it. Never throws (a failure is the spec's to log).
   */
  complete?(): Promise<void>;
}

/** How a request's budget bound is computed: on its chat (or embeddings) form. */
export interface BoundsInput {
  readonly op: 'chat' | 'embeddings';
  readonly body: Json;
  /** Input tokens the body does not show: an earlier conversation the request continues. */
  readonly extraInputTokens?: number;
}

export interface EndpointSpec<B extends Json = Json, S = unknown> {
  readonly id: EndpointId;
  readonly path: string;
  /** Parses and checks the body once (throws the 400 naming the field). */
  parse(raw: unknown): B;
  model(body: B): string;
  stream(body: B): boolean;
  /**
   * Once the key and route are known, before admission: loads what the request depends on (a stored
   * conversation) and checks what the schema cannot (headers). Its result is the request's `state`.
   */
  prepare?(req: ClientRequest<B, undefined>, ctx: PrepareContext): S | Promise<S>;
  /** The call to one target: native or translated. May throw UnsupportedFieldError (the next target). */
  callFor(req: ClientRequest<B, S>, target: TargetInput): TargetCall | Promise<TargetCall>;
  /**
   * A target refused an attempt in a way the spec can fix by calling it differently (a provider that no
   * longer holds a conversation it served: the earlier turns then go as input). True: the same target is
   * called again at once (`callFor` again), not counted against the route's retries. At most once per target.
   */
  recover?(req: ClientRequest<B, S>, failure: AttemptFailure, providerId: string): boolean;
  /** The error body of this API (the one translation point per shape). */
  errorBody(err: SwitchyardError, requestId: string): Json;
  /**
   * The SSE event that ends a stream that failed after it started, when its reader writes no end of its own
   * ({@link StreamReader.fail}).
   */
  errorEvent(err: SwitchyardError, requestId: string): string;
  /** Headers every answer of this API carries besides the gateway's own (Anthropic's `request-id`). */
  headers?(requestId: string): Record<string, string>;
  /** Chat: the client asked for the usage chunk of its stream. */
  clientWantsUsage(body: B): boolean;
  /** Chat: the text with the usage chunk a client asked for, and the request's cost, put where it goes. */
  withUsageEvent(text: string, chunk: Json, cost: number | undefined): string;
  /** A whole answer's text with the request's cost in its usage (`usage.cost`), where the API has a place. */
  withCost(text: string, cost: number): string;
  /** Input tokens counted by the estimate tokenizer, when the upstream reports no usage. */
  estimateInput(counter: TokenCounter, req: ClientRequest<B, S>): number;
  /** Output tokens of a whole answer (`streamed` false) or of the forwarded stream text (true). */
  estimateOutput(counter: TokenCounter, text: string, streamed: boolean): number;
  /** What the budget bounds and the usage plausibility check read. */
  bounds(req: ClientRequest<B, S>): BoundsInput;
}
