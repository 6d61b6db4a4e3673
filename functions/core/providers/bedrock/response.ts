/**
 * Bedrock Converse answer → OpenAI `chat.completion`: text blocks become `content`, toolUse blocks
 * `tool_calls` (or, for the JSON-mode tool, the JSON `content` itself), the stop reason a finish reason, and
 * the token usage OpenAI's (prompt tokens include cache reads and writes). Shared with the stream translator.
 */
import type { AnswerRead } from '../../endpoints/types.ts';
import { isRecord, type Json } from '../messages.ts';
import { completionAnswer, type FinishReason, type ToolCallOut } from '../openai/wire.ts';
import type { Usage } from '../types.ts';

/** ConverseResponse.stopReason (the same values in ConverseStream's messageStop). */
const STOP_DOC = 'https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html';

/** What a translator of one call knows besides the answer. */
export interface AnswerContext {
  /** `chatcmpl-<request id>`: Converse answers carry no id. */
  readonly id: string;
  readonly model: string;
  /** Epoch seconds. */
  readonly created: number;
  /** The forced tool that carries a JSON-mode answer: its input is the message content. */
  readonly jsonTool?: string;
}

/** One row of the stop-reason table: the Converse value, OpenAI's, and why (with the doc it follows). */
interface StopRow {
  readonly bedrock: string;
  readonly openai: FinishReason;
  readonly doc: string;
}

const STOP_ROWS: readonly StopRow[] = [
  { bedrock: 'end_turn', openai: 'stop', doc: `the model ended its turn: ${STOP_DOC}` },
  { bedrock: 'stop_sequence', openai: 'stop', doc: `a stop sequence was generated: ${STOP_DOC}` },
  { bedrock: 'max_tokens', openai: 'length', doc: `inferenceConfig.maxTokens reached: ${STOP_DOC}` },
  // A JSON-mode tool's answer ends with 'stop' instead (finishReasonOf).
  { bedrock: 'tool_use', openai: 'tool_calls', doc: `the model wants a tool run: ${STOP_DOC}` },
  { bedrock: 'guardrail_intervened', openai: 'content_filter', doc: `a guardrail stopped it: ${STOP_DOC}` },
  {
    bedrock: 'content_filtered',
    openai: 'content_filter',
    doc: `the model's filter stopped it: ${STOP_DOC}`,
  },
  {
    bedrock: 'model_context_window_exceeded',
    openai: 'length',
    doc: `the answer filled the context window, cut short like max_tokens: ${STOP_DOC}`,
  },
  {
    bedrock: 'malformed_model_output',
    openai: 'stop',
    doc: `the model's output was not well-formed; OpenAI has no reason for it: ${STOP_DOC}`,
  },
  {
    bedrock: 'malformed_tool_use',
    openai: 'stop',
    doc: `the model's tool call was not well-formed; OpenAI has no reason for it: ${STOP_DOC}`,
  },
];

/** Converse `stopReason` → OpenAI `finish_reason`. */
export const FINISH_REASONS: ReadonlyMap<string, FinishReason> = new Map(
  STOP_ROWS.map((r) => [r.bedrock, r.openai]),
);

/**
 * The finish reason of an answer. `tool_use` means tool calls only when a client tool was called: the
 * JSON-mode tool's input is the answer itself, which OpenAI ends with 'stop'.
 */
export function finishReasonOf(stopReason: unknown, calledClientTool: boolean): FinishReason {
  const reason = typeof stopReason === 'string' ? (FINISH_REASONS.get(stopReason) ?? 'stop') : 'stop';
  if (reason === 'tool_calls' && !calledClientTool) return 'stop';
  return reason;
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

/**
 * Converse TokenUsage → usage in OpenAI's meaning. `inputTokens` counts only the tokens neither read from
 * nor written to the prompt cache (`totalTokens` = input + output + cache reads + cache writes), so OpenAI's
 * prompt_tokens is their sum and cached_tokens the cache reads. Undefined when the counts are missing:
 * the gateway then estimates rather than record a 0 Bedrock never said.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html
 */
export function bedrockUsage(u: unknown): Usage | undefined {
  if (!isRecord(u) || typeof u.inputTokens !== 'number' || typeof u.outputTokens !== 'number')
    return undefined;
  const read = count(u.cacheReadInputTokens);
  const writes = count(u.cacheWriteInputTokens);
  return {
    inputTokens: count(u.inputTokens) + read + writes,
    outputTokens: count(u.outputTokens),
    cachedInputTokens: read,
    ...(writes > 0 ? { cacheWriteTokens: writes } : {}),
  };
}

/** Tool-call arguments are JSON text in OpenAI; Converse gives the input as a document (object). */
export const argumentsOf = (input: unknown): string => JSON.stringify(input ?? {});

/**
 * A whole Converse answer (the ConverseCommand output as JSON) → OpenAI `chat.completion`, with its usage.
 * Converse gives an answer no id of its own: none is recorded as the provider's.
 */
export function completionOf(text: string, ctx: AnswerContext): AnswerRead {
  const json: unknown = JSON.parse(text);
  const answer = isRecord(json) ? json : {};
  const output = isRecord(answer.output) ? answer.output : {};
  const message = isRecord(output.message) ? output.message : {};
  const blocks = Array.isArray(message.content) ? message.content.filter(isRecord) : [];
  let content = '';
  let jsonAnswer: string | undefined;
  const toolCalls: ToolCallOut[] = [];
  for (const b of blocks) {
    if (typeof b.text === 'string') content += b.text;
    const use: Json | undefined = isRecord(b.toolUse) ? b.toolUse : undefined;
    if (use === undefined) continue; // reasoning, citations, …: OpenAI's chat answer has no place for them
    if (ctx.jsonTool !== undefined && use.name === ctx.jsonTool) jsonAnswer = argumentsOf(use.input);
    else {
      toolCalls.push({
        id: typeof use.toolUseId === 'string' ? use.toolUseId : `call_${toolCalls.length}`,
        name: typeof use.name === 'string' ? use.name : '',
        arguments: argumentsOf(use.input),
      });
    }
  }
  const usage = bedrockUsage(answer.usage);
  return completionAnswer(
    {
      id: ctx.id,
      model: ctx.model,
      created: ctx.created,
      // JSON mode: the tool input is the answer; a preamble the model wrote before the call is not JSON.
      content: jsonAnswer ?? (content === '' && toolCalls.length > 0 ? null : content),
      toolCalls,
      finishReason: finishReasonOf(answer.stopReason, toolCalls.length > 0),
      ...(usage === undefined ? {} : { usage }),
    },
    undefined,
  );
}
