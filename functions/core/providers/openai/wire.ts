/**
 * OpenAI's response wire format, written by the native adapters' translators: one place that knows the
 * shapes of `chat.completion`, `chat.completion.chunk`, the usage chunk, stream error events and embeddings
 * lists, so every provider's answer reaches the client (and the ledger's usage reader) in the same form.
 */
import type { AnswerRead, StreamFailure, StreamPiece } from '../../endpoints/types.ts';
import type { Json } from '../../json.ts';
import type { Usage } from '../types.ts';

export interface ToolCallOut {
  readonly id: string;
  readonly name: string;
  /** JSON text of the arguments. */
  readonly arguments: string;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** OpenAI's `usage` object: prompt tokens include cached ones, completion tokens include reasoning. */
export function usageObject(u: Usage): Record<string, unknown> {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    // cache_write_tokens is not OpenAI's (it has no paid cache writes); OpenRouter reports it the same way.
    prompt_tokens_details: {
      cached_tokens: u.cachedInputTokens ?? 0,
      ...(u.cacheWriteTokens ? { cache_write_tokens: u.cacheWriteTokens } : {}),
    },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
  };
}

export interface CompletionInit {
  readonly id: string;
  readonly model: string;
  /** Epoch seconds. */
  readonly created: number;
  readonly content: string | null;
  readonly toolCalls: readonly ToolCallOut[];
  readonly finishReason: FinishReason | null;
  readonly usage?: Usage;
}

/** A non-stream answer as OpenAI's `chat.completion` JSON text (`usage` last, where readers look for it). */
export function completionBody(c: CompletionInit): string {
  const message: Record<string, unknown> = { role: 'assistant', content: c.content, refusal: null };
  if (c.toolCalls.length > 0) {
    message.tool_calls = c.toolCalls.map((t) => ({
      id: t.id,
      type: 'function',
      function: { name: t.name, arguments: t.arguments },
    }));
  }
  return JSON.stringify({
    id: c.id,
    object: 'chat.completion',
    created: c.created,
    model: c.model,
    choices: [{ index: 0, message, finish_reason: c.finishReason, logprobs: null }],
    ...(c.usage === undefined ? {} : { usage: usageObject(c.usage) }),
  });
}

/** A translated whole answer, typed: its text, and the usage and provider id the translator read. */
export function completionAnswer(c: CompletionInit, upstreamId: string | undefined): AnswerRead {
  return {
    text: completionBody(c),
    ...(c.usage === undefined ? {} : { usage: c.usage }),
    ...(upstreamId === undefined ? {} : { upstreamId }),
  };
}

export const DONE_EVENT = 'data: [DONE]\n\n';

/**
 * What a translator learnt while writing one step of a stream — the typed half of a {@link StreamPiece}: the
 * chunk writer records the start of the answer, its id and the usage chunk; the translator records a failure
 * and the end. `take(text)` hands the step over and starts the next.
 */
export class PieceLog {
  private started = false;
  private done = false;
  private usage: Usage | undefined;
  private usageChunk: Json | undefined;
  private failure: StreamFailure | undefined;
  private upstreamId: string | undefined;

  start(): void {
    this.started = true;
  }
  end(): void {
    this.done = true;
  }
  fail(failure: StreamFailure): void {
    this.failure = failure;
  }
  id(id: string): void {
    this.upstreamId = id;
  }
  use(usage: Usage, chunk: Json): void {
    this.usage = usage;
    this.usageChunk = chunk;
  }

  take(text: string): StreamPiece {
    const piece: StreamPiece = {
      text,
      ...(this.started ? { started: true } : {}),
      ...(this.done ? { done: true } : {}),
      ...(this.usage === undefined ? {} : { usage: this.usage }),
      ...(this.usageChunk === undefined ? {} : { usageChunk: this.usageChunk }),
      ...(this.failure === undefined ? {} : { failure: this.failure }),
      ...(this.upstreamId === undefined ? {} : { upstreamId: this.upstreamId }),
    };
    this.started = false;
    this.done = false;
    this.usage = undefined;
    this.usageChunk = undefined;
    this.failure = undefined;
    this.upstreamId = undefined;
    return piece;
  }
}

/**
 * Writes the `chat.completion.chunk` events of one streamed answer (same id, model and created on each), and
 * logs what they mean: a delta with content, tool calls or a finish reason starts the answer; the usage chunk
 * is not written as text but logged (the relay sends it to a client that asked for it).
 */
export class ChunkWriter {
  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly created: number,
    private readonly log: PieceLog,
  ) {}

  private chunk(choices: unknown[], usage?: Usage): Record<string, unknown> {
    const chunk: Record<string, unknown> = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices,
    };
    if (usage !== undefined) chunk.usage = usageObject(usage);
    return chunk;
  }

  /** A delta (`{role}`, `{content}`, `{tool_calls:[…]}`) with the finish reason when it is the last one. */
  delta(delta: Record<string, unknown>, finishReason: FinishReason | null = null): string {
    const content = typeof delta.content === 'string' && delta.content !== '';
    if (content || delta.tool_calls !== undefined || finishReason !== null) this.log.start();
    const chunk = this.chunk([{ index: 0, delta, finish_reason: finishReason, logprobs: null }]);
    return `data: ${JSON.stringify(chunk)}\n\n`;
  }

  /** The usage chunk OpenAI sends last for `stream_options.include_usage` (empty `choices`): logged, not written. */
  usage(u: Usage): string {
    this.log.use(u, this.chunk([], u));
    return '';
  }
}

/** A provider's mid-stream error, as a translator reports it: `kind` by its adapter's own error table. */
export function streamFailure(
  message: string,
  kind: FailureKindOf,
  type?: string,
  code?: string,
): StreamFailure {
  return {
    message,
    kind,
    ...(type === undefined ? {} : { type }),
    ...(code === undefined ? {} : { code }),
  };
}
type FailureKindOf = StreamFailure['kind'];

/** Float vectors as OpenAI's `base64` encoding: little-endian float32 bytes. */
function base64Floats(values: readonly number[]): string {
  const f = new Float32Array(values);
  const bytes = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i] as number);
  return btoa(bin);
}

/**
 * An embeddings answer as OpenAI's list. `usage` only when the provider counted tokens: without it the
 * gateway estimates them (and marks the ledger record `estimated`) rather than record a silent 0.
 */
export function embeddingsBody(
  vectors: readonly (readonly number[])[],
  model: string,
  encoding: 'float' | 'base64',
  inputTokens?: number,
): string {
  return JSON.stringify({
    object: 'list',
    data: vectors.map((v, index) => ({
      object: 'embedding',
      index,
      embedding: encoding === 'base64' ? base64Floats(v) : v,
    })),
    model,
    ...(inputTokens === undefined
      ? {}
      : { usage: { prompt_tokens: inputTokens, total_tokens: inputTokens } }),
  });
}
