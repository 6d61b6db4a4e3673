/** Provider type → adapter. OpenAI-compatible relays are presets of `openai` (config/presets.ts), not entries. */

import type { ProviderType } from '../config/schema.ts';
import { anthropicAdapter } from './anthropic/adapter.ts';
import { bedrockAdapter } from './bedrock/adapter.ts';
import { geminiAdapter } from './gemini/adapter.ts';
import { mockAdapter } from './mock/adapter.ts';
import { openaiAdapter } from './openai/adapter.ts';
import type { ProviderAdapter } from './types.ts';

/** Every provider type of the config has one (a type without an adapter does not compile). */
export const ADAPTERS: Readonly<Record<ProviderType, ProviderAdapter>> = {
  openai: openaiAdapter,
  anthropic: anthropicAdapter,
  gemini: geminiAdapter,
  bedrock: bedrockAdapter,
  mock: mockAdapter,
};
