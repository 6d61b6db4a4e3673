/**
 * What every client endpoint (chat, embeddings, Responses, Messages) and every translator shares: answers are
 * read into typed pieces — the text to send in the client's format plus what the gateway needs from it (usage,
 * a failure, "the answer has started", done, the upstream id) — so nothing is recovered by parsing what a
 * translator just wrote (STYLE.md rule 12).
 */
import type { SwitchyardError } from '../errors.ts';
import type { Json } from '../json.ts';
import type { Usage } from '../providers/types.ts';
import type { FailureKind } from '../routing/failure.ts';

/** The client APIs the gateway serves (the ledger's `endpoint`, the metrics' `Endpoint`). */
export const ENDPOINT_IDS = ['chat', 'embeddings', 'responses', 'messages'] as const;
export type EndpointId = (typeof ENDPOINT_IDS)[number];

/** An upstream's failure said inside an answer (an error event, a `response.failed`, a 200 error body). */
export interface StreamFailure {
  /** What it means for the attempt: retried, failed over, or the client's to fix. */
  readonly kind: FailureKind;
  /** The upstream's own words (for the log line; the client reads them only for a refused request). */
  readonly message: string;
  readonly code?: string;
  readonly type?: string;
}

/** One step of a streamed answer, in the client's format. */
export interface StreamPiece {
  /** Whole SSE events to send to the client as they are ('' when this step completed none). */
  readonly text: string;
  /** Usage reported so far (cumulative: the latest report wins, never a sum). */
  readonly usage?: Usage;
  /**
   * Chat only: the usage-only chunk (`choices: []`), kept out of `text` — the relay sends it (with
   * `usage.cost`) only to a client that asked for it (`stream_options.include_usage`).
   */
  readonly usageChunk?: Json;
  /** The upstream failed in the stream; nothing after it is sent. */
  readonly failure?: StreamFailure;
  /** This step holds part of the answer (content, a tool call, a finish): a failure after it cannot fail over. */
  readonly started?: boolean;
  /** The upstream said the answer is complete (`[DONE]`, `message_stop`, `response.completed`). */
  readonly done?: boolean;
  /** The provider's id of the answer (chatcmpl-…, msg_…, resp_…), when this step told it. */
  readonly upstreamId?: string;
}

/** Reads (and translates) one upstream stream, chunk by chunk. */
export interface StreamReader {
  /** One upstream chunk (events and UTF-8 characters may be split anywhere) → the whole events it completes. */
  push(chunk: Uint8Array): StreamPiece;
  /** The upstream body ended: the events its end completes. */
  end(): StreamPiece;
  /**
   * The events that end a stream the gateway fails after it started (an upstream failure, a timeout, a cut),
   * when the stream's format ends a failure its own way (Responses: `response.failed`, then `error`, numbered
   * after the events sent); without it the spec's error event is sent.
   */
  fail?(err: SwitchyardError): string;
}

/** A whole (non-stream) answer in the client's format, and what the gateway needs from it. */
export interface AnswerRead {
  readonly text: string;
  readonly usage?: Usage;
  readonly upstreamId?: string;
}

/**
 * Thrown by a reader of a whole answer when the body is no answer of its endpoint: the attempt fails
 * (retried, failed over) — `why` in the gateway's words for the client, `failure` when the body says itself
 * what went wrong (a 200 whose body is an error).
 */
export class NotAnAnswerError extends Error {
  constructor(
    readonly why: string,
    readonly failure?: StreamFailure,
  ) {
    super(why);
    this.name = 'NotAnAnswerError';
  }
}

/** Merges pieces in order (text appended; the latest usage, id and usage chunk; any flag set stays set). */
export function mergePieces(a: StreamPiece, b: StreamPiece): StreamPiece {
  if (a.text === '' && a.usage === undefined && a.failure === undefined && !a.started && !a.done) return b;
  const upstreamId = b.upstreamId ?? a.upstreamId;
  const usage = b.usage ?? a.usage;
  const usageChunk = b.usageChunk ?? a.usageChunk;
  const failure = a.failure ?? b.failure;
  return {
    text: a.text + b.text,
    ...(usage === undefined ? {} : { usage }),
    ...(usageChunk === undefined ? {} : { usageChunk }),
    ...(failure === undefined ? {} : { failure }),
    ...(a.started === true || b.started === true ? { started: true } : {}),
    ...(a.done === true || b.done === true ? { done: true } : {}),
    ...(upstreamId === undefined ? {} : { upstreamId }),
  };
}

export const EMPTY_PIECE: StreamPiece = { text: '' };
