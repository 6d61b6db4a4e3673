/**
 * Token estimates for answers whose upstream reported no usage (an old relay, a cut stream): counted with a
 * real tokenizer and recorded as `usageSource: estimated` — never a silent 0.
 */

import { isRecord } from '../json.ts';
import type { Usage } from '../providers/types.ts';
import { parseEvents } from '../sse/splitter.ts';
import { estimateChatInputTokens, estimateEmbeddingInputTokens } from './tokenizer.ts';
import type { TokenCounter } from './types.ts';

type Body = Readonly<Record<string, unknown>>;

export function estimateInputTokens(counter: TokenCounter, op: 'chat' | 'embeddings', body: Body): number {
  return op === 'chat'
    ? estimateChatInputTokens(counter, body)
    : estimateEmbeddingInputTokens(counter, body.input);
}

/** The text a choice produced: content, refusal and tool-call arguments (message or delta). */
function choiceText(part: unknown): string {
  if (!isRecord(part)) return '';
  let text = '';
  for (const field of ['content', 'refusal', 'reasoning_content']) {
    const v = part[field];
    if (typeof v === 'string') text += v;
  }
  if (Array.isArray(part.tool_calls)) {
    for (const call of part.tool_calls) {
      const fn = isRecord(call) && isRecord(call.function) ? call.function : undefined;
      if (typeof fn?.name === 'string') text += fn.name;
      if (typeof fn?.arguments === 'string') text += fn.arguments;
    }
  }
  return text;
}

function textOfCompletion(json: unknown, key: 'message' | 'delta'): string {
  if (!isRecord(json) || !Array.isArray(json.choices)) return '';
  let text = '';
  for (const c of json.choices) if (isRecord(c)) text += choiceText(c[key]);
  return text;
}

/** Output tokens of a non-stream chat answer body. */
export function estimateOutputOfBody(counter: TokenCounter, text: string): number {
  try {
    return counter.count(textOfCompletion(JSON.parse(text), 'message'));
  } catch {
    return 0;
  }
}

/** Output tokens of the chat SSE events forwarded (whole events). */
export function estimateOutputOfEvents(counter: TokenCounter, forwarded: string): number {
  let text = '';
  for (const ev of parseEvents(forwarded)) {
    if (ev.data === '[DONE]') continue;
    try {
      text += textOfCompletion(JSON.parse(ev.data), 'delta');
    } catch {
      // not JSON: nothing the model produced
    }
  }
  return counter.count(text);
}

export function estimatedUsage(inputTokens: number, outputTokens: number): Usage {
  return { inputTokens, outputTokens, cachedInputTokens: 0, reasoningTokens: 0 };
}

/**
 * A counter without a tokenizer: four UTF-8 bytes a token, the usual rule of thumb for English. For a number
 * that must cost nothing on the hot path (a translated stream's first event) or when no tokenizer is there.
 */
export const BYTES_COUNTER: TokenCounter = {
  count: (text) => Math.ceil(Buffer.byteLength(text, 'utf8') / 4),
};
