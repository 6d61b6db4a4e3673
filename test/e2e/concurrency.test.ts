import type OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Harness,
  openaiProvider,
  route,
  startHarness,
  upstreamBody,
} from '../support/gateway-harness.ts';

let h: Harness<'a' | 'b'>;

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {}, b: {} },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url), b: openaiProvider(f.b.url) },
      routes: {
        // 200 requests at once on a loaded CI machine: the harness's 300 ms first byte is a timeout test's
        // bound, not this one's (a CI run saw 504s from it while other suites ran beside it).
        'gpt-4o-mini': route([{ provider: 'a', model: 'm' }], {
          timeouts: { firstByteMs: 10_000, idleMs: 10_000, totalMs: 30_000 },
        }),
        fallback: route([
          { provider: 'a', model: 'm' },
          { provider: 'b', model: 'm' },
        ]),
      },
    }),
  });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.reset();
});

interface Outcome {
  readonly prompt: string;
  readonly content: string;
  readonly requestId: string | null;
  readonly provider: string | null;
  readonly usageChunks: number;
}

async function one(model: string, i: number): Promise<Outcome> {
  const prompt = `prompt number ${i} ${Math.random().toString(36).slice(2)}`;
  const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: prompt }];
  if (i % 2 === 0) {
    const { data, response } = await h.client.chat.completions.create({ model, messages }).withResponse();
    return {
      prompt,
      content: data.choices[0]?.message.content ?? '',
      requestId: response.headers.get('x-request-id'),
      provider: response.headers.get('x-switchyard-provider'),
      usageChunks: 0,
    };
  }
  const { data: stream, response } = await h.client.chat.completions
    .create({ model, messages, stream: true, stream_options: { include_usage: i % 4 === 1 } })
    .withResponse();
  let content = '';
  let usageChunks = 0;
  for await (const c of stream) {
    content += c.choices[0]?.delta.content ?? '';
    if (c.usage) usageChunks++;
  }
  return {
    prompt,
    content,
    requestId: response.headers.get('x-request-id'),
    provider: response.headers.get('x-switchyard-provider'),
    usageChunks,
  };
}

const N = 200;

describe('concurrent requests', () => {
  it(`answers ${N} concurrent stream and non-stream requests, each with its own prompt`, async () => {
    // Slow enough upstream answers that the requests really overlap.
    h.fakes.a.setDefault({ firstByteDelayMs: 20, chunkDelayMs: 5, chunkSize: 12 });
    const outcomes = await Promise.all(Array.from({ length: N }, (_, i) => one('gpt-4o-mini', i)));
    for (const [i, o] of outcomes.entries()) {
      expect(o.content).toBe(`echo: ${o.prompt}`);
      expect(o.usageChunks).toBe(i % 4 === 1 ? 1 : 0);
    }
    expect(new Set(outcomes.map((o) => o.requestId)).size).toBe(N);
    expect(h.fakes.a.requests).toHaveLength(N);
    const summaries = outcomes.map((o) => h.summary(o.requestId ?? ''));
    expect(summaries.every((s) => s?.status === 200 && s.attempts === 1)).toBe(true);
    expect(summaries.filter((s) => s?.stream).length).toBe(N / 2);
  });

  it('falls back independently for concurrent requests when the first target fails all of them', async () => {
    h.fakes.a.setDefault({ status: 503 });
    h.fakes.b.setDefault({ firstByteDelayMs: 10 });
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => one('fallback', i)));
    for (const o of outcomes) {
      expect(o.content).toBe(`echo: ${o.prompt}`);
      expect(o.provider).toBe('b');
    }
    expect(h.fakes.a.requests).toHaveLength(60);
    expect(h.fakes.b.requests).toHaveLength(60);
    const prompts = h.fakes.b.requests.map((_, i) => upstreamBody(h.fakes.b, i).messages);
    expect(new Set(prompts.map((p) => JSON.stringify(p))).size).toBe(60);
  });
});
