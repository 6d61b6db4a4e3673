/**
 * One spec per client endpoint (STYLE.md rule 12, after envoyproxy/ai-gateway's endpointspec): how its body
 * is parsed, whether a stream is asked for, how a target of each provider type is called (the request as sent
 * to a provider that speaks the API, else translated), how its answers are read into typed pieces, how its
 * input and output are estimated and bounded, and the shape of its errors. The gateway's request path is a
 * few steps over a spec; a new endpoint is one spec plus its translators.
 */
import type { ProviderConfig } from '../config/schema.ts';
import type { SwitchyardError } from '../errors.ts';
import type { HeaderMap } from '../http.ts';
import type { Json } from '../json.ts';
import type { ProviderAdapter, UpstreamCall } from '../providers/types.ts';
import type { TokenCounter } from '../usage/types.ts';
import type { AnswerRead, EndpointId, StreamReader } from './types.ts';

/** The client's request: its body as sent (text) and parsed, and its headers. */
export interface ClientRequest<B extends Json = Json> {
  readonly text: string;
  readonly json: B;
  readonly headers: HeaderMap;
}

/** The target an attempt calls. */
export interface TargetInput {
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
}

/** How a request's budget bound is computed: on its chat (or embeddings) form. */
export interface BoundsInput {
  readonly op: 'chat' | 'embeddings';
  readonly body: Json;
}

export interface EndpointSpec<B extends Json = Json> {
  readonly id: EndpointId;
  readonly path: string;
  /** Parses and checks the body once (throws the 400 naming the field). */
  parse(raw: unknown): B;
  model(body: B): string;
  stream(body: B): boolean;
  /** The call to one target: native or translated. May throw UnsupportedFieldError (the next target). */
  callFor(req: ClientRequest<B>, target: TargetInput): TargetCall;
  /** The error body of this API (the one translation point per shape). */
  errorBody(err: SwitchyardError): Json;
  /** The SSE event that ends a stream that failed after it started. */
  errorEvent(err: SwitchyardError): string;
  /** Headers an error of this API carries besides the gateway's own (Anthropic's `request-id`). */
  errorHeaders?(requestId: string): Record<string, string>;
  /** Chat: the client asked for the usage chunk of its stream. */
  clientWantsUsage(body: B): boolean;
  /** Chat: the text with the usage chunk a client asked for, and the request's cost, put where it goes. */
  withUsageEvent(text: string, chunk: Json, cost: number | undefined): string;
  /** A whole answer's text with the request's cost in its usage (`usage.cost`), where the API has a place. */
  withCost(text: string, cost: number): string;
  /** Input tokens counted by the estimate tokenizer, when the upstream reports no usage. */
  estimateInput(counter: TokenCounter, body: B): number;
  /** Output tokens of a whole answer (`streamed` false) or of the forwarded stream text (true). */
  estimateOutput(counter: TokenCounter, text: string, streamed: boolean): number;
  /** What the budget bounds and the usage plausibility check read. */
  bounds(body: B): BoundsInput;
}
