/** Provider type → adapter. Native adapters (anthropic, gemini, bedrock) register here when they land. */
import { mockAdapter } from './mock/adapter.ts';
import { openaiAdapter } from './openai/adapter.ts';
import type { ProviderAdapter } from './types.ts';

export const ADAPTERS: Readonly<Record<string, ProviderAdapter>> = {
  openai: openaiAdapter,
  mock: mockAdapter,
};
