/**
 * Anthropic Messages answer → OpenAI `chat.completion`: text blocks are the content, `tool_use` blocks the
 * tool calls (JSON mode's answer tool is the content instead), thinking blocks are not part of the answer.
 */
import type { AnswerRead } from '../../endpoints/types.ts';
import { isRecord, type Json } from '../messages.ts';
import { completionAnswer, type FinishReason, type ToolCallOut } from '../openai/wire.ts';
import type { Usage } from '../types.ts';

/** Anthropic `stop_reason` → OpenAI `finish_reason`. Unknown (future) reasons read as 'stop'. */
export const FINISH_REASONS: ReadonlyMap<string, FinishReason> = new Map<string, FinishReason>([
  // https://docs.anthropic.com/en/api/handling-stop-reasons#end-turn — the answer is complete
  ['end_turn', 'stop'],
  // https://docs.anthropic.com/en/api/handling-stop-reasons#stop-sequence — OpenAI says 'stop' for a hit
  ['stop_sequence', 'stop'],
  // https://docs.anthropic.com/en/api/handling-stop-reasons#max-tokens
  ['max_tokens', 'length'],
  // https://docs.anthropic.com/en/api/handling-stop-reasons#tool-use (JSON mode's answer tool: see below)
  ['tool_use', 'tool_calls'],
  // https://docs.anthropic.com/en/api/handling-stop-reasons#pause-turn — a server-tool loop paused
  ['pause_turn', 'stop'],
  // https://docs.anthropic.com/en/api/handling-stop-reasons#refusal — declined for safety reasons
  ['refusal', 'content_filter'],
  // https://docs.anthropic.com/en/api/handling-stop-reasons#model-context-window-exceeded — truncated
  ['model_context_window_exceeded', 'length'],
]);

/** The finish reason of an answer: a `tool_use` stop with only JSON mode's answer tool is a plain 'stop'. */
export function finishReason(stopReason: unknown, toolCalls: number): FinishReason {
  if (stopReason === 'tool_use' && toolCalls === 0) return 'stop';
  return (typeof stopReason === 'string' ? FINISH_REASONS.get(stopReason) : undefined) ?? 'stop';
}

/** Anthropic's usage counters, each as last reported (stream reports are cumulative: the latest wins). */
export interface AnthropicUsage {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheCreation?: number;
}

const count = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;

/** Reads the counters a `usage` object carries into `into` (fields it lacks keep their earlier value). */
export function readUsage(into: AnthropicUsage, usage: unknown): void {
  if (!isRecord(usage)) return;
  const input = count(usage.input_tokens);
  const output = count(usage.output_tokens);
  const cacheRead = count(usage.cache_read_input_tokens);
  const cacheCreation = count(usage.cache_creation_input_tokens);
  if (input !== undefined) into.input = input;
  if (output !== undefined) into.output = output;
  if (cacheRead !== undefined) into.cacheRead = cacheRead;
  if (cacheCreation !== undefined) into.cacheCreation = cacheCreation;
}

/**
 * In OpenAI's meaning: Anthropic's `input_tokens` excludes the cache reads and writes, OpenAI's prompt
 * tokens include them. Undefined when the provider reported no counts (the gateway then estimates).
 */
export function openAIUsageOf(u: AnthropicUsage): Usage | undefined {
  if (u.input === undefined && u.output === undefined) return undefined;
  const cached = u.cacheRead ?? 0;
  const writes = u.cacheCreation ?? 0;
  return {
    inputTokens: (u.input ?? 0) + cached + writes,
    outputTokens: u.output ?? 0,
    cachedInputTokens: cached,
    ...(writes > 0 ? { cacheWriteTokens: writes } : {}),
  };
}

export interface TranslateOptions {
  /** The name of JSON mode's answer tool, when the request asked for JSON. */
  readonly jsonTool: string | undefined;
  /** Epoch seconds for `created`. */
  readonly created: number;
  /** The model asked for, used when the answer names none. */
  readonly model: string;
}

/** The JSON text of a tool input (an object; `{}` when absent). */
export const inputText = (input: unknown): string => JSON.stringify(isRecord(input) ? input : {});

/** A whole Anthropic `message` (JSON text) → OpenAI `chat.completion`, with its usage and id. */
export function completionFromMessage(text: string, opts: TranslateOptions): AnswerRead {
  const msg: unknown = JSON.parse(text);
  if (!isRecord(msg) || !Array.isArray(msg.content)) {
    throw new Error('The Anthropic answer is not a message (no content array).');
  }
  const texts: string[] = [];
  const toolCalls: ToolCallOut[] = [];
  let json: string | undefined;
  for (const b of msg.content.filter(isRecord) as Json[]) {
    if (b.type === 'text' && typeof b.text === 'string') texts.push(b.text);
    else if (b.type === 'tool_use' && opts.jsonTool !== undefined && b.name === opts.jsonTool) {
      json ??= inputText(b.input); // a second answer-tool call would make the content invalid JSON
    } else if (b.type === 'tool_use') {
      toolCalls.push({ id: String(b.id ?? ''), name: String(b.name ?? ''), arguments: inputText(b.input) });
    }
    // thinking, redacted_thinking and server-tool blocks are not part of the OpenAI answer
  }
  // JSON mode: the answer tool's input is the whole content (text around it would make it invalid JSON).
  const content = json ?? (texts.length > 0 ? texts.join('') : toolCalls.length > 0 ? null : '');
  const usage: AnthropicUsage = {};
  readUsage(usage, msg.usage);
  const u = openAIUsageOf(usage);
  const id = typeof msg.id === 'string' ? msg.id : undefined;
  return completionAnswer(
    {
      id: id ?? 'msg_unknown',
      model: typeof msg.model === 'string' ? msg.model : opts.model,
      created: opts.created,
      content,
      toolCalls,
      finishReason: finishReason(msg.stop_reason, toolCalls.length),
      ...(u === undefined ? {} : { usage: u }),
    },
    id,
  );
}
