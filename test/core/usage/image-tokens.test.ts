/** The documented worst case of one image part, per model family and detail; a doc link on every row. */
import { describe, expect, it } from 'vitest';
import {
  IMAGE_TOKEN_ROWS,
  imageTokenRow,
  imageTokensOf,
  UNKNOWN_MODEL_IMAGE_TOKENS,
} from '../../../functions/core/usage/image-tokens.ts';

describe('image token bounds', () => {
  it("gives OpenAI's tile models base + 8 tiles at high or auto detail, the base at low", () => {
    expect(imageTokensOf('openai', 'gpt-4o', 'high')).toBe(85 + 8 * 170);
    expect(imageTokensOf('openai', 'openai/gpt-4o-2024-08-06', 'auto')).toBe(1445);
    expect(imageTokensOf('openai', 'gpt-4o', 'low')).toBe(85);
    expect(imageTokensOf('openai', 'gpt-4o-mini', undefined)).toBe(2833 + 8 * 5667);
    expect(imageTokensOf('openai', 'gpt-4o-mini', 'low')).toBe(2833);
    expect(imageTokensOf('openai', 'gpt-5', 'high')).toBe(70 + 8 * 140);
    expect(imageTokensOf('openai', 'o3', 'high')).toBe(75 + 8 * 150);
  });

  it("gives OpenAI's patch models 1,536 patches × their multiplier whatever the detail", () => {
    expect(imageTokensOf('openai', 'gpt-4.1-mini', 'low')).toBe(Math.ceil(1536 * 1.62));
    expect(imageTokensOf('openai', 'gpt-5-nano', 'high')).toBe(Math.ceil(1536 * 2.46));
    expect(imageTokensOf('openai', 'o4-mini', 'high')).toBe(Math.ceil(1536 * 1.72));
    // The family row (gpt-4.1) must not catch its mini first.
    expect(imageTokenRow('openai', 'gpt-4.1-mini')?.family).toBe('gpt-4.1-mini / gpt-5-mini');
    expect(imageTokenRow('openai', 'gpt-4.1')?.family).toBe('gpt-4o / gpt-4.1 / gpt-4.5 / gpt-4-turbo');
  });

  it('gives Claude and Gemini their caps by provider type, or by model name through a relay', () => {
    expect(imageTokensOf('anthropic', 'whatever', 'low')).toBe(1639);
    expect(imageTokensOf('openai', 'anthropic/claude-sonnet-4.5', 'high')).toBe(1639);
    expect(imageTokensOf('gemini', 'gemini-2.5-pro', 'low')).toBe(6192);
    expect(imageTokensOf('openai', 'google/gemini-2.5-flash', 'high')).toBe(6192);
  });

  it('gives a model no row knows the largest number of the table', () => {
    expect(UNKNOWN_MODEL_IMAGE_TOKENS).toBe(48_169);
    expect(imageTokensOf('openai', 'qwen2.5-vl-72b-instruct', 'low')).toBe(48_169);
  });

  it('links each row to the document its numbers come from', () => {
    for (const row of IMAGE_TOKEN_ROWS) expect(row.doc).toMatch(/^https:\/\/\S+/);
  });
});
