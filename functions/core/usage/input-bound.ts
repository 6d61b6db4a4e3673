/**
 * An upper bound of the input tokens a request can be billed on one target, from the request alone — what a
 * budget reservation charges before the upstream call, and what the upstream's reported input is checked
 * against afterwards (./usage-check.ts).
 *
 * - **Text** — every string of the body (message text, names, tool calls and definitions, response formats,
 *   fields the gateway does not know; object keys too, since tool schemas are read as text) counts one token
 *   per UTF-8 byte. Byte-level BPE tokenizers (OpenAI's, Claude's, Llama 3's, Qwen's, DeepSeek's) and
 *   SentencePiece with byte fallback (Gemini's, Mistral's) never make a token of less than one byte, so this
 *   holds for all of them; the o200k count the gateway used before is exact only for OpenAI's own models.
 *   On top: {@link PER_MESSAGE} per message (role and separators), {@link PER_REQUEST}, and
 *   {@link TOOLS_OVERHEAD} when tools or a JSON response format are sent (Anthropic's hidden tool-use system
 *   prompt is documented up to 530 tokens).
 * - **Images** — each `image_url` part at its documented worst case (./image-tokens.ts), or the price
 *   entry's `imageTokens`.
 * - **Audio** — each `input_audio` part at one token per {@link AUDIO_BYTES_PER_TOKEN} bytes of decoded audio:
 *   Gemini's documented 32 tokens a second (the highest published rate) of an encoding of at least 2 kbit/s.
 * - **Anything else** — `file` parts (a PDF's pages cannot be counted from its size), unknown part types:
 *   the route's `maxInputTokens`.
 * The sum is capped at `maxInputTokens`: no target reads more than its context window.
 */
import type { PriceConfig, ProviderType } from '../config/schema.ts';
import { isRecord } from '../json.ts';
import { imageTokensOf } from './image-tokens.ts';

/** Role markers and separators of one chat message (OpenAI counts 3–4; Llama 3, Qwen and Gemma templates 5). */
export const PER_MESSAGE = 8;
/** Priming of the reply and a begin-of-text token. */
export const PER_REQUEST = 16;
/** Anthropic's tool-use system prompt (up to 530 tokens, Claude 3 Opus) and OpenAI's tool preamble. */
export const TOOLS_OVERHEAD = 600;
/** Bytes of decoded audio per token: 32 tokens a second at 2 kbit/s (250 bytes a second) is ~8 bytes each. */
export const AUDIO_BYTES_PER_TOKEN = 8;
/** Tokens an embeddings input item may add beyond its text (begin/end markers of BERT-style models). */
export const PER_EMBEDDING_INPUT = 4;

/** The target a bound is for: its adapter type, upstream model and price entry. */
export interface BoundTarget {
  readonly type: ProviderType;
  readonly model: string;
  readonly price: PriceConfig | undefined;
  /** The route's `maxInputTokens`. */
  readonly maxInputTokens: number;
}

type Body = Readonly<Record<string, unknown>>;

/** UTF-8 bytes of a string (native, no copy). */
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * UTF-8 bytes of every string, key and scalar in a JSON value. Iterative, so a deeply nested body cannot
 * overflow the stack here.
 */
function textBytes(value: unknown): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') total += bytes(v);
    else if (typeof v === 'number' || typeof v === 'boolean') total += String(v).length;
    else if (Array.isArray(v)) for (const item of v) stack.push(item);
    else if (isRecord(v)) {
      for (const [k, item] of Object.entries(v)) {
        total += bytes(k);
        stack.push(item);
      }
    }
  }
  return total;
}

/** Decoded bytes of base64 text (padding and whitespace make it an over-count, never an under-count). */
const base64Bytes = (data: string): number => Math.ceil((data.length * 3) / 4);

/** One content part: text by its bytes, media by their bounds, anything unknown at the route's cap. */
function partTokens(part: unknown, t: BoundTarget): number {
  if (typeof part === 'string') return bytes(part);
  if (!isRecord(part)) return textBytes(part);
  switch (part.type) {
    case 'text':
    case 'refusal':
      return textBytes(part);
    case 'image_url': {
      const img = part.image_url;
      return t.price?.imageTokens ?? imageTokensOf(t.type, t.model, isRecord(img) ? img.detail : undefined);
    }
    case 'input_audio': {
      const audio = part.input_audio;
      const data = isRecord(audio) && typeof audio.data === 'string' ? audio.data : '';
      return Math.ceil(base64Bytes(data) / AUDIO_BYTES_PER_TOKEN);
    }
    default:
      // `file` (file_data or file_id), and part types this gateway does not know: no bound but the route's.
      return t.maxInputTokens;
  }
}

function chatInputBound(body: Body, t: BoundTarget): number {
  let tokens = PER_REQUEST;
  // A JSON response format is a forced tool on Anthropic and Bedrock: the same hidden prompt.
  const rf = body.response_format;
  const hasTools =
    (Array.isArray(body.tools) && body.tools.length > 0) ||
    Array.isArray(body.functions) ||
    (isRecord(rf) && rf.type !== 'text');
  if (hasTools) tokens += TOOLS_OVERHEAD;
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'messages') tokens += bytes(key) + textBytes(value);
  }
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const m of messages) {
    tokens += PER_MESSAGE;
    if (!isRecord(m)) {
      tokens += textBytes(m);
      continue;
    }
    for (const [key, value] of Object.entries(m)) {
      // An assistant turn's `audio: {id}` makes the model hear its earlier spoken answer again: size unknown.
      if (key === 'audio' && isRecord(value)) return t.maxInputTokens;
      if (key !== 'content') tokens += bytes(key) + textBytes(value);
      else if (Array.isArray(value)) for (const part of value) tokens += partTokens(part, t);
      else tokens += textBytes(value);
      // Past the cap nothing more can change the answer.
      if (tokens >= t.maxInputTokens) return t.maxInputTokens;
    }
  }
  return Math.min(tokens, t.maxInputTokens);
}

/** Embeddings: strings by their bytes, token arrays by their length, plus a few markers per item. */
function embeddingsInputBound(input: unknown, t: BoundTarget): number {
  const items: unknown[] =
    Array.isArray(input) && !input.every((v) => typeof v === 'number') ? input : [input];
  let tokens = 0;
  for (const item of items) {
    tokens += PER_EMBEDDING_INPUT;
    if (typeof item === 'string') tokens += bytes(item);
    else if (Array.isArray(item)) tokens += item.length;
  }
  return Math.min(tokens, t.maxInputTokens);
}

/** The most input tokens the request can be billed on this target (see the module comment). */
export function inputBoundOf(op: 'chat' | 'embeddings', body: Body, t: BoundTarget): number {
  return op === 'chat' ? chatInputBound(body, t) : embeddingsInputBound(body.input, t);
}
