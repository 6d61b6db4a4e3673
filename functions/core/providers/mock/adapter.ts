/** The `mock` provider: the OpenAI adapter's transforms over an in-process transport (no network). */
import { openaiAdapter } from '../openai/adapter.ts';
import type { ProviderAdapter } from '../types.ts';
import { mockTransport } from './transport.ts';

export const mockAdapter = {
  ...openaiAdapter,
  type: 'mock',
  transport: mockTransport,
} satisfies ProviderAdapter;
