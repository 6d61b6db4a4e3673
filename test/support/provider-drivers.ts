/**
 * One driver per provider type, so the same end-to-end suite runs over all of them: start the provider's
 * fake (its real wire format on loopback), the config entry that points at it, and each fault in the
 * provider's own words (Anthropic's 529 overloaded_error, Gemini's 400 API_KEY_INVALID, Bedrock's
 * ThrottlingException…).
 */

import type { LocalGatewayOptions } from '../../functions/local/server.ts';
import { startAnthropicFake } from './fake-anthropic.ts';
import { startBedrockFake } from './fake-bedrock.ts';
import { startGeminiFake } from './fake-gemini.ts';
import type { RecordedRequest } from './fake-openai.ts';
import { startFakeOpenAI } from './fake-openai.ts';

export type Fault =
  /** A rate limit (retryable, then 429 upstream_rate_limited). */
  | 'rate_limited'
  /** An overload / 5xx (retryable, then 502 upstream_server_error). */
  | 'server'
  /** Our provider key is wrong (next target, then 502 upstream_auth). */
  | 'auth'
  /** The request itself is bad (400, the upstream's code kept). */
  | 'bad_request';

export interface Driver {
  readonly type: string;
  /** The provider entry of the config (without id). */
  provider(): Record<string, unknown>;
  /** Options the local gateway needs to reach this fake (Bedrock: the credentials it signs with). */
  readonly gateway?: Partial<LocalGatewayOptions>;
  /** The upstream model name routes use. */
  readonly model: string;
  /** Embeddings model, when the provider type serves embeddings. */
  readonly embedModel?: string;
  /** The upstream error code the gateway keeps for a `bad_request` fault. */
  readonly badRequestCode: string;
  fail(fault: Fault): void;
  /** Reports these token counts on the next answer. */
  usage(input: number, output: number): void;
  /** Drops the next stream after `events` events, before the provider's end-of-answer event. */
  cut(events: number): void;
  readonly requests: readonly Pick<RecordedRequest, 'body' | 'headers' | 'path'>[];
  reset(): void;
  close(): Promise<void>;
}

export async function openaiDriver(): Promise<Driver> {
  const fake = await startFakeOpenAI();
  return {
    type: 'openai',
    provider: () => ({ type: 'openai', baseUrls: [fake.url] }),
    model: 'gpt-4o-mini',
    embedModel: 'text-embedding-3-small',
    badRequestCode: 'context_length_exceeded',
    fail(fault) {
      const b = {
        rate_limited: { status: 429, retryAfter: '0' },
        server: { status: 503 },
        auth: { status: 401, errorType: 'invalid_request_error', errorCode: 'invalid_api_key' },
        bad_request: { status: 400, errorCode: 'context_length_exceeded' },
      }[fault];
      fake.enqueue(b);
    },
    usage: (input, output) => fake.enqueue({ usage: { prompt_tokens: input, completion_tokens: output } }),
    cut: (events) => fake.enqueue({ cutAfterChunks: events }),
    requests: fake.requests,
    reset: () => fake.reset(),
    close: () => fake.close(),
  };
}

export async function anthropicDriver(): Promise<Driver> {
  const fake = await startAnthropicFake();
  return {
    type: 'anthropic',
    provider: () => ({ type: 'anthropic', baseUrls: [fake.url] }),
    model: 'claude-sonnet-4-5',
    badRequestCode: 'invalid_request_error',
    fail(fault) {
      const b = {
        rate_limited: { status: 429, retryAfter: '0' },
        server: { status: 529 },
        auth: { status: 401 },
        bad_request: { status: 400, errorMessage: 'prompt is too long: 250000 tokens > 200000 maximum' },
      }[fault];
      fake.enqueue(b);
    },
    usage: (input, output) => fake.enqueue({ usage: { input_tokens: input, output_tokens: output } }),
    cut: (events) => fake.enqueue({ cutAfterEvents: events }),
    requests: fake.requests,
    reset: () => fake.reset(),
    close: () => fake.close(),
  };
}

export async function geminiDriver(): Promise<Driver> {
  const fake = await startGeminiFake();
  return {
    type: 'gemini',
    provider: () => ({ type: 'gemini', baseUrls: [fake.url] }),
    model: 'gemini-2.5-flash',
    embedModel: 'gemini-embedding-001',
    badRequestCode: 'INVALID_ARGUMENT',
    fail(fault) {
      const b = {
        rate_limited: { status: 429 },
        server: { status: 503 },
        // Gemini answers a bad key with 400 INVALID_ARGUMENT (reason API_KEY_INVALID), not 401.
        auth: { status: 400, errorMessage: 'API key not valid. Please pass a valid API key.' },
        bad_request: {
          status: 400,
          errorMessage: 'The input token count exceeds the maximum number of tokens',
        },
      }[fault];
      fake.enqueue(b);
    },
    usage: (input, output) => fake.enqueue({ usage: { prompt: input, candidates: output } }),
    cut: (events) => fake.enqueue({ cutAfterEvents: events }),
    requests: fake.requests,
    reset: () => fake.reset(),
    close: () => fake.close(),
  };
}

export async function bedrockDriver(): Promise<Driver> {
  const accessKeyId = 'AKIDFAKEBEDROCK01';
  const fake = await startBedrockFake({ accessKeyId });
  return {
    type: 'bedrock',
    // The real AWS SDK signs with these and talks to the fake's event-stream endpoint on loopback.
    gateway: { bedrock: { credentials: { accessKeyId, secretAccessKey: 'fake-secret' } } },
    provider: () => ({ type: 'bedrock', region: 'us-east-1', baseUrls: [fake.url] }),
    model: 'anthropic.claude-3-5-haiku-20241022-v1:0',
    badRequestCode: 'ValidationException',
    fail(fault) {
      const b = {
        rate_limited: { status: 429 },
        server: { status: 503 },
        auth: { status: 403 },
        bad_request: { status: 400 },
      }[fault];
      fake.enqueue(b);
    },
    usage: (inputTokens, outputTokens) => fake.enqueue({ usage: { inputTokens, outputTokens } }),
    cut: (events) => fake.enqueue({ cutAfterEvents: events }),
    requests: fake.requests,
    reset: () => fake.reset(),
    close: () => fake.close(),
  };
}

export const DRIVERS: Readonly<Record<string, () => Promise<Driver>>> = {
  openai: openaiDriver,
  anthropic: anthropicDriver,
  gemini: geminiDriver,
  bedrock: bedrockDriver,
};
