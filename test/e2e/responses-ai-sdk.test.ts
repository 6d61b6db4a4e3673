/**
 * The Vercel AI SDK's default OpenAI provider (`createOpenAI({ baseURL, apiKey })(model)`), which speaks the
 * Responses API: `generateText` and `streamText`, a tool loop, and a conversation carried on by the messages
 * the SDK returns — on a native route and on translated ones (chat-only relay, Anthropic).
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, type ModelMessage, Output, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bodyOf, type ResponsesRig, ROUTES, startResponsesRig } from '../support/responses-rig.ts';

let rig: ResponsesRig;
/** Every request the AI SDK sent to the gateway: method and path. */
const sent: string[] = [];

beforeAll(async () => {
  rig = await startResponsesRig();
});
afterAll(async () => rig.close());
beforeEach(() => {
  rig.reset();
  sent.length = 0;
});

/** The AI SDK's provider as an app sets it up: the gateway's base URL and a client key, nothing else. */
function provider() {
  return createOpenAI({
    baseURL: rig.h.baseURL,
    apiKey: rig.h.masterKey,
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      sent.push(`${init?.method ?? 'GET'} ${url.pathname}`);
      return fetch(input, init);
    },
  });
}

const weather = tool({
  description: 'The weather at a place',
  inputSchema: z.object({ location: z.string() }),
  execute: async ({ location }) => `sunny in ${location}`,
});

describe.each(['native', 'relay', 'claude', 'gemini'] as const)('the AI SDK on the %s route', (target) => {
  const model = () => provider()(ROUTES[target]);

  it('calls POST /v1/responses and gets the text and usage with generateText', async () => {
    const result = await generateText({ model: model(), prompt: 'hello from the AI SDK' });
    expect(sent).toEqual(['POST /v1/responses']);
    expect(result.text).toBe('echo: hello from the AI SDK');
    expect(result.finishReason).toBe('stop');
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    if (target === 'native') expect(rig.native.requests[0]?.path).toBe('/v1/responses');
  });

  it('streams the text with streamText', async () => {
    const result = streamText({ model: model(), prompt: 'stream from the AI SDK' });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('echo: stream from the AI SDK');
    expect(await result.finishReason).toBe('stop');
    expect((await result.usage).outputTokens).toBeGreaterThan(0);
    expect(sent).toEqual(['POST /v1/responses']);
  });

  it('runs a tool loop: the call, the tool result sent back, the final text', async () => {
    const result = await generateText({
      model: model(),
      prompt: 'weather in Paris?',
      tools: { weather },
      stopWhen: stepCountIs(3),
    });
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]?.toolCalls).toEqual([
      expect.objectContaining({ toolName: 'weather', input: { location: 'Paris' } }),
    ]);
    expect(result.text).toContain('sunny in Paris');
    expect(sent).toEqual(['POST /v1/responses', 'POST /v1/responses']);
  });

  it('streams a tool loop with streamText', async () => {
    const result = streamText({
      model: model(),
      prompt: 'weather in Paris?',
      tools: { weather },
      stopWhen: stepCountIs(3),
    });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toContain('sunny in Paris');
    expect((await result.steps).length).toBe(2);
  });

  it('carries a conversation on with the messages the SDK returned', async () => {
    const messages: ModelMessage[] = [{ role: 'user', content: 'my name is Ada' }];
    const first = await generateText({ model: model(), messages });
    messages.push(...first.response.messages, { role: 'user', content: 'what is my name?' });
    const second = await generateText({ model: model(), messages });
    expect(second.text).toBe('echo: what is my name?');
    // The upstream got the earlier answer back, in its own format.
    const fake = rig[target];
    const body = JSON.stringify(bodyOf(fake, fake.requests.length - 1));
    expect(body).toContain('my name is Ada');
    if (target !== 'native') expect(body).toContain('echo: my name is Ada');
  });
});

describe('an AI SDK conversation that moves between routes', () => {
  it('gives a native provider the gateway’s earlier answer as an item, not a reference it cannot resolve', async () => {
    const messages: ModelMessage[] = [{ role: 'user', content: 'my name is Ada' }];
    const first = await generateText({ model: provider()(ROUTES.relay), messages });
    messages.push(...first.response.messages, { role: 'user', content: 'what is my name?' });
    const second = await generateText({ model: provider()(ROUTES.native), messages });
    expect(second.text).toBe('echo: what is my name?');
    const input = bodyOf(rig.native).input as Record<string, unknown>[];
    expect(input.map((i) => i.type ?? i.role)).toEqual(['user', 'message', 'user']);
    expect(input[1]).toMatchObject({ type: 'message', role: 'assistant' });
    expect(input[1]?.id).toBeUndefined();
    expect(JSON.stringify(input[1])).toContain('echo: my name is Ada');
  });
});

describe('the AI SDK with previousResponseId', () => {
  it.each(['relay', 'claude'] as const)('continues a stored conversation on the %s route', async (target) => {
    const first = await generateText({ model: provider()(ROUTES.native), prompt: 'my name is Ada' });
    const responseId = first.providerMetadata?.openai?.responseId;
    expect(typeof responseId).toBe('string');
    const second = await generateText({
      model: provider()(ROUTES[target]),
      prompt: 'what is my name?',
      providerOptions: { openai: { previousResponseId: String(responseId) } },
    });
    expect(second.text).toBe('echo: what is my name?');
    const body = JSON.stringify(bodyOf(rig[target]));
    expect(body).toContain('my name is Ada');
    expect(body).toContain('echo: my name is Ada');
  });
});

describe('the AI SDK reading what the gateway translated', () => {
  it('reads cached and reasoning tokens from a translated usage', async () => {
    rig.relay.enqueue({
      usage: { prompt_tokens: 30, completion_tokens: 12, cached_tokens: 10, reasoning_tokens: 5 },
    });
    const result = await generateText({ model: provider()(ROUTES.relay), prompt: 'count me' });
    expect(result.usage).toMatchObject({
      inputTokens: 30,
      inputTokenDetails: { cacheReadTokens: 10, noCacheTokens: 20 },
      outputTokens: 12,
      outputTokenDetails: { reasoningTokens: 5 },
      totalTokens: 42,
    });
  });

  it('gets a structured answer (Output.object → text.format json_schema → response_format)', async () => {
    const result = await generateText({
      model: provider()(ROUTES.relay),
      prompt: 'structured please',
      output: Output.object({ schema: z.object({ answer: z.string() }) }),
    });
    expect(result.output).toEqual({ answer: 'echo: structured please' });
    expect(bodyOf(rig.relay).response_format).toMatchObject({ type: 'json_schema' });
  });

  it('reports a stream cut mid-way as an error, after the text that came', async () => {
    rig.relay.enqueue({ cutAfterChunks: 3, chunkSize: 4 });
    const errors: unknown[] = [];
    const result = streamText({
      model: provider()(ROUTES.relay),
      prompt: 'a long answer please',
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    const parts: string[] = [];
    for await (const part of result.fullStream) parts.push(part.type);
    expect(parts).toContain('text-delta');
    expect(parts).toContain('error');
    // The SDK reads response.failed: the step finishes as an error, not as a complete answer.
    expect(await result.finishReason).toBe('error');
    expect(String(errors[0])).toContain('Stream interrupted');
  });
});
