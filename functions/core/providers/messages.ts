/**
 * Reading OpenAI chat messages, for the native adapters that rebuild them in their provider's shape: text of
 * a content (string or parts), images (data URL or http URL), an assistant turn's tool calls.
 */

import { isRecord, type Json } from '../json.ts';
import { UnsupportedFieldError } from './types.ts';

export { isRecord };

/** A message's content as text: the string itself, or its text parts joined (other parts skipped). */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((p): p is Json => isRecord(p) && p.type === 'text' && typeof p.text === 'string')
    .map((p) => p.text as string)
    .join('');
}

export type ImageSource =
  | { readonly kind: 'base64'; readonly mediaType: string; readonly data: string }
  | { readonly kind: 'url'; readonly url: string };

/** An `image_url` part's image: a `data:<type>;base64,<data>` URL is inline bytes, anything else a URL. */
export function imageOf(part: Json): ImageSource | undefined {
  if (part.type !== 'image_url') return undefined;
  const ref = part.image_url;
  const url =
    typeof ref === 'string' ? ref : isRecord(ref) && typeof ref.url === 'string' ? ref.url : undefined;
  if (url === undefined) return undefined;
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (m !== null) return { kind: 'base64', mediaType: m[1] as string, data: m[2] as string };
  return { kind: 'url', url };
}

/** The parts of a content: a string is one text part. */
export function partsOf(content: unknown): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  return content.filter(isRecord);
}

export interface ToolCallIn {
  readonly id: string;
  readonly name: string;
  /** Parsed arguments (providers take an object, not JSON text). */
  readonly input: Json;
}

/** Tool-call arguments are JSON text from the model; a provider that takes an object gets it parsed. */
export function parseArguments(text: unknown, where: string): Json {
  if (typeof text !== 'string' || text.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    if (isRecord(v)) return v;
  } catch {
    // fall through
  }
  throw new UnsupportedFieldError(where, `'${where}' must be a JSON object for this provider.`);
}

/** An assistant message's `tool_calls` (function calls only). */
export function toolCallsOf(message: Json, index: number): ToolCallIn[] {
  if (!Array.isArray(message.tool_calls)) return [];
  return message.tool_calls.filter(isRecord).map((c, i) => {
    const fn = isRecord(c.function) ? c.function : {};
    return {
      id: typeof c.id === 'string' ? c.id : `call_${index}_${i}`,
      name: typeof fn.name === 'string' ? fn.name : '',
      input: parseArguments(fn.arguments, `messages[${index}].tool_calls[${i}].function.arguments`),
    };
  });
}

/** A tool-result message's content: its text (a JSON text is kept as text: providers parse as they need). */
export function toolResultText(message: Json): string {
  return textOf(message.content);
}
export type { Json };
