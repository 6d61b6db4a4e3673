/**
 * The most input tokens one image part can cost, per model family and requested `detail`, from each
 * provider's documentation (STYLE rule 2: a table, a link per row). A budget reservation counts every image
 * part at this worst case, so no image a client sends can cost more than was reserved for it.
 *
 * How each number follows from its document:
 * - OpenAI tile models: `detail: low` costs the base tokens; `high` (and `auto`, which may pick high) fits the
 *   image in 2048×2048, scales its short side to 768 px and counts 512 px tiles — at most 2 × 4 = 8 tiles
 *   (768 × 2048) — so the worst case is base + 8 × tile tokens.
 * - OpenAI patch models: 32 px patches, at most 1,536 (larger images are scaled down), times the model's
 *   multiplier; `detail` does not lower the cap, so low and high are the same.
 * - Claude: tokens = width × height / 750, images scaled down to the documented maximum sizes; the largest of
 *   them (784 × 1568) is 1,639 tokens. Claude has no `detail`.
 * - Gemini: images are fitted into 3072 × 3072; more than 384 px on a side → tiles of the short side / 1.5,
 *   clamped to 256–768 px, 258 tokens each — at most 12 × 2 = 24 tiles (a 3072 × 385 image), 6,192 tokens.
 * - A model no row knows: the largest number of the table (gpt-4o-mini at high detail). A model whose images
 *   cost more needs `imageTokens` on its price entry.
 */
import type { ProviderType } from '../config/schema.ts';

export interface ImageTokenRow {
  /** Model family, for messages and tests. */
  readonly family: string;
  /** Matches the target's upstream model name (lower-cased; any `vendor/` or region prefix kept). */
  readonly model: RegExp;
  /** Provider types whose every model is this family (their native API serves nothing else). */
  readonly types?: readonly ProviderType[];
  /** Worst case with `detail: low`. */
  readonly low: number;
  /** Worst case with `detail: high`, `auto`, none, or any other value. */
  readonly high: number;
  readonly doc: string;
}

const OPENAI_DOC = 'https://platform.openai.com/docs/guides/images-vision#calculating-costs';
const tiles = (base: number, tile: number) => ({ low: base, high: base + 8 * tile });
const patches = (multiplier: number) => {
  const most = Math.ceil(1536 * multiplier);
  return { low: most, high: most };
};

/** First match wins: the more specific names (`gpt-4o-mini`, `gpt-4.1-nano`) come before their families. */
export const IMAGE_TOKEN_ROWS: readonly ImageTokenRow[] = [
  {
    family: 'gpt-4o-mini',
    model: /gpt-4o-mini/,
    ...tiles(2833, 5667),
    doc: `${OPENAI_DOC} — base 2,833, tile 5,667 tokens`,
  },
  {
    family: 'gpt-4.1-nano / gpt-5-nano',
    model: /gpt-(4\.1|5(\.\d+)?)-nano/,
    ...patches(2.46),
    doc: `${OPENAI_DOC} — patches × 2.46`,
  },
  {
    family: 'gpt-4.1-mini / gpt-5-mini',
    model: /gpt-(4\.1|5(\.\d+)?)-mini/,
    ...patches(1.62),
    doc: `${OPENAI_DOC} — patches × 1.62`,
  },
  { family: 'o4-mini', model: /\bo4-mini/, ...patches(1.72), doc: `${OPENAI_DOC} — patches × 1.72` },
  {
    family: 'computer-use-preview',
    model: /computer-use-preview/,
    ...tiles(65, 129),
    doc: `${OPENAI_DOC} — base 65, tile 129 tokens`,
  },
  { family: 'gpt-5', model: /gpt-5/, ...tiles(70, 140), doc: `${OPENAI_DOC} — base 70, tile 140 tokens` },
  {
    family: 'gpt-4o / gpt-4.1 / gpt-4.5 / gpt-4-turbo',
    model: /gpt-4/,
    ...tiles(85, 170),
    doc: `${OPENAI_DOC} — base 85, tile 170 tokens`,
  },
  {
    family: 'o1 / o3',
    model: /\bo[13]\b/,
    ...tiles(75, 150),
    doc: `${OPENAI_DOC} — base 75, tile 150 tokens`,
  },
  {
    family: 'claude',
    model: /claude/,
    types: ['anthropic'],
    low: 1639,
    high: 1639,
    doc: 'https://docs.anthropic.com/en/docs/build-with-claude/vision#calculate-image-costs — 784×1568 px / 750',
  },
  {
    family: 'gemini',
    model: /gemini|gemma/,
    types: ['gemini'],
    low: 6192,
    high: 6192,
    doc: 'https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/image-understanding — 24 tiles × 258',
  },
];

/** A model no row matches: the largest number in the table. */
export const UNKNOWN_MODEL_IMAGE_TOKENS = Math.max(...IMAGE_TOKEN_ROWS.map((r) => r.high));

/** Rows found by `type/model`, so fifty images of one request match the table once (bounded: names are config). */
const found = new Map<string, ImageTokenRow | null>();

/** The documented row for a target, if any: by its provider type first, else by its model name. */
export function imageTokenRow(type: ProviderType, model: string): ImageTokenRow | undefined {
  const id = `${type}/${model}`;
  let row = found.get(id);
  if (row === undefined) {
    const name = model.toLowerCase();
    row =
      IMAGE_TOKEN_ROWS.find((r) => r.types?.includes(type)) ??
      IMAGE_TOKEN_ROWS.find((r) => r.model.test(name)) ??
      null;
    if (found.size < 10_000) found.set(id, row);
  }
  return row ?? undefined;
}

/** The most tokens one image part with this `detail` can cost on the target. */
export function imageTokensOf(type: ProviderType, model: string, detail: unknown): number {
  const row = imageTokenRow(type, model);
  if (row === undefined) return UNKNOWN_MODEL_IMAGE_TOKENS;
  return detail === 'low' ? row.low : row.high;
}
