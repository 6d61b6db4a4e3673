/**
 * Token counting for estimates: js-tiktoken's BPE with the o200k_base ranks (GPT-4o and later). Other model
 * families tokenize differently, so for them this is an estimate — which is all the ledger claims
 * (`usageSource: estimated`). The ranks (2.3 MB) are loaded by the host on first use, never at import: the
 * Lambda bundle stays small and most requests (whose upstream reports usage) never need them.
 */
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';
import { isRecord } from '../json.ts';
import type { TokenCounter } from './types.ts';

/**
 * js-tiktoken's BPE is superlinear in the length of one pre-tokenized piece: 20,000 letters without a space
 * (a base64 blob, a hex dump) took 28–37 s of synchronous CPU, and Chinese text, whose sentences are single
 * pieces, ~15 µs a character — one request's estimate froze the process. So no piece is longer than
 * {@link MAX_PIECE} characters (a space goes in every {@link MAX_PIECE} characters of a run without one, which
 * the pre-tokenizer splits at: at most a token per cut), and a text longer than {@link SAMPLED_CHARS} is
 * counted by {@link SAMPLES} windows, one at a random place in each of as many equal parts of it, scaled to
 * its length — random, so a client cannot put cheap text where the windows fall and dense text elsewhere.
 * Worst case measured: ~0.1 s.
 */
export const MAX_PIECE = 64;
export const SAMPLED_CHARS = 4096;
export const SAMPLES = 4;

const LONG_RUN = new RegExp(`\\S{${MAX_PIECE + 1},}`);
const PIECE = new RegExp(`\\S{${MAX_PIECE}}`, 'g');

export function createTokenCounter(
  loadRanks: () => TiktokenBPE,
  random: () => number = Math.random,
): TokenCounter {
  let encoder: Tiktoken | undefined;
  const encode = (text: string): number => {
    encoder ??= new Tiktoken(loadRanks());
    const cut = LONG_RUN.test(text) ? text.replace(PIECE, '$& ') : text;
    return encoder.encode(cut, [], []).length;
  };
  return {
    count(text: string): number {
      if (text === '') return 0;
      if (text.length <= SAMPLED_CHARS) return encode(text);
      const window = SAMPLED_CHARS / SAMPLES;
      const part = text.length / SAMPLES;
      let counted = 0;
      for (let i = 0; i < SAMPLES; i++) {
        const at = Math.floor(i * part + random() * (part - window));
        counted += encode(text.slice(at, at + window));
      }
      return Math.ceil((counted * text.length) / SAMPLED_CHARS);
    },
  };
}

/** Tokens OpenAI adds per message (role and separators) and to prime the reply, per its cookbook. */
const PER_MESSAGE = 3;
const REPLY_PRIMING = 3;

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) if (isRecord(part) && typeof part.text === 'string') text += part.text;
  return text;
}

/** Input tokens of a chat request: message contents, names, tool calls and the tool definitions. */
export function estimateChatInputTokens(
  counter: TokenCounter,
  body: Readonly<Record<string, unknown>>,
): number {
  let tokens = REPLY_PRIMING;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const m of messages) {
    if (!isRecord(m)) continue;
    tokens += PER_MESSAGE;
    let text = contentText(m.content);
    if (typeof m.name === 'string') text += m.name;
    if (Array.isArray(m.tool_calls)) {
      for (const call of m.tool_calls) {
        const fn = isRecord(call) && isRecord(call.function) ? call.function : undefined;
        if (typeof fn?.name === 'string') text += fn.name;
        if (typeof fn?.arguments === 'string') text += fn.arguments;
      }
    }
    tokens += counter.count(text);
  }
  if (Array.isArray(body.tools) && body.tools.length > 0) tokens += counter.count(JSON.stringify(body.tools));
  return tokens;
}

/** Input tokens of an embeddings request: strings are counted, token arrays by their length. */
export function estimateEmbeddingInputTokens(counter: TokenCounter, input: unknown): number {
  if (typeof input === 'string') return counter.count(input);
  if (!Array.isArray(input)) return 0;
  if (input.every((v) => typeof v === 'number')) return input.length;
  let tokens = 0;
  for (const item of input) {
    if (typeof item === 'string') tokens += counter.count(item);
    else if (Array.isArray(item)) tokens += item.length;
  }
  return tokens;
}
