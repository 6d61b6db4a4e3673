/**
 * OpenAI's response wire format, written by the native adapters' translators: one place that knows the
 * shapes of `chat.completion`, `chat.completion.chunk`, the usage chunk, stream error events and embeddings
 * lists, so every provider's answer reaches the client (and the ledger's usage reader) in the same form.
 */
import type { FailureKind } from '../../routing/failure.ts';
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

export const DONE_EVENT = 'data: [DONE]\n\n';

/** Writes the `chat.completion.chunk` events of one streamed answer (same id, model and created on each). */
export class ChunkWriter {
  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly created: number,
  ) {}

  private event(choices: unknown[], usage?: Usage): string {
    const chunk: Record<string, unknown> = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices,
    };
    if (usage !== undefined) chunk.usage = usageObject(usage);
    return `data: ${JSON.stringify(chunk)}\n\n`;
  }

  /** A delta (`{role}`, `{content}`, `{tool_calls:[…]}`) with the finish reason when it is the last one. */
  delta(delta: Record<string, unknown>, finishReason: FinishReason | null = null): string {
    return this.event([{ index: 0, delta, finish_reason: finishReason, logprobs: null }]);
  }

  /** The usage chunk OpenAI sends last for `stream_options.include_usage` (empty `choices`). */
  usage(u: Usage): string {
    return this.event([], u);
  }
}

/**
 * A provider's mid-stream error, in the shape the relay reads and translates into Switchyard's own. `kind`
 * is what the provider's adapter reads in it (as it would for the same error as a status): the stream head
 * fails over by it. The event itself never reaches a client — the relay writes its own error event.
 */
export function errorEvent(message: string, type?: string, code?: string, kind?: FailureKind): string {
  const error: Record<string, unknown> = { message };
  if (type !== undefined) error.type = type;
  if (code !== undefined) error.code = code;
  if (kind !== undefined) error.kind = kind;
  return `data: ${JSON.stringify({ error })}\n\n`;
}

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
