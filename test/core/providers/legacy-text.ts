/**
 * Translator tests read what a translator says as one text, in the OpenAI wire format: the piece's text with
 * the usage chunk it logged (before `[DONE]`) and the error it logged (as OpenAI's error event) written back
 * in — so each test checks the whole of what the translator said, typed fields included, in one place.
 */
import type { StreamPiece } from '../../../functions/core/endpoints/types.ts';
import type { ResponseTranslator } from '../../../functions/core/providers/types.ts';

export function legacyText(p: StreamPiece): string {
  let text = p.text;
  if (p.usageChunk !== undefined) {
    const usage = `data: ${JSON.stringify(p.usageChunk)}\n\n`;
    text = text.includes('data: [DONE]\n\n')
      ? text.replace('data: [DONE]\n\n', `${usage}data: [DONE]\n\n`)
      : text + usage;
  }
  if (p.failure !== undefined) {
    const { message, type, code, kind } = p.failure;
    const error = {
      message,
      ...(type === undefined ? {} : { type }),
      ...(code === undefined ? {} : { code }),
      kind,
    };
    text += `data: ${JSON.stringify({ error })}\n\n`;
  }
  return text;
}

/** A translator as text in, text out: its whole answers' text, its stream read through one reader. */
export function legacyTranslator(tr: ResponseTranslator): {
  body(text: string): string;
  push(chunk: Uint8Array): string;
  end(): string;
} {
  const reader = tr.stream();
  return {
    body: (text) => tr.body(text).text,
    push: (chunk) => legacyText(reader.push(chunk)),
    end: () => legacyText(reader.end()),
  };
}
