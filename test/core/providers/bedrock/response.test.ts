import { describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../../../../functions/core/config/schema.ts';
import { bedrockAdapter } from '../../../../functions/core/providers/bedrock/adapter.ts';
import {
  bedrockUsage,
  FINISH_REASONS,
  finishReasonOf,
} from '../../../../functions/core/providers/bedrock/response.ts';

type Json = Record<string, unknown>;
const MODEL = 'amazon.nova-lite-v1:0';

function translate(answer: Json, body: Json = { messages: [{ role: 'user', content: 'hi' }] }): Json {
  const call = bedrockAdapter.buildCall({
    op: 'chat',
    body,
    model: MODEL,
    apiKey: undefined,
    requestId: 'r-42',
    extraHeaders: undefined,
    provider: { type: 'bedrock', region: 'us-east-1' } as ProviderConfig,
    epochMs: 1_700_000_000_500,
  });
  return JSON.parse(call.translator?.body(JSON.stringify(answer)).text ?? '{}');
}

const converse = (content: Json[], stopReason: string, usage?: Json): Json => ({
  output: { message: { role: 'assistant', content } },
  stopReason,
  ...(usage === undefined ? {} : { usage }),
  metrics: { latencyMs: 120 },
});

describe('Bedrock answer → chat.completion', () => {
  it('writes the text, the request id as id, the model, created and usage', () => {
    const out = translate(converse([{ text: 'Hello' }, { text: ' there' }], 'end_turn', usageOf(9, 2)));
    expect(out).toEqual({
      id: 'chatcmpl-r-42',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: MODEL,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello there', refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 9,
        completion_tokens: 2,
        total_tokens: 11,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
  });

  it('turns toolUse blocks into tool_calls with JSON-text arguments, content null without text', () => {
    const out = translate(
      converse(
        [{ toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { location: 'Paris' } } }],
        'tool_use',
      ),
    );
    const choice = (out.choices as Json[])[0] as Json;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message).toEqual({
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [
        {
          id: 'tooluse_1',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
        },
      ],
    });
  });

  it('gives the JSON-mode tool input as the content, finish stop, and drops a preamble', () => {
    const body = { messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_object' } };
    const out = translate(
      converse(
        [
          { text: 'Here is the JSON:' },
          { toolUse: { toolUseId: 't', name: 'json_response', input: { answer: 'echo: hi' } } },
        ],
        'tool_use',
      ),
      body,
    );
    const choice = (out.choices as Json[])[0] as Json;
    expect(choice.message).toEqual({ role: 'assistant', content: '{"answer":"echo: hi"}', refusal: null });
    expect(choice.finish_reason).toBe('stop');
  });

  it('in JSON mode beside client tools, a real tool call stays a tool call', () => {
    const body = {
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ type: 'function', function: { name: 'get_weather' } }],
      response_format: { type: 'json_object' },
    };
    const out = translate(
      converse([{ toolUse: { toolUseId: 't', name: 'get_weather', input: {} } }], 'tool_use'),
      body,
    );
    expect((out.choices as Json[])[0]).toMatchObject({ finish_reason: 'tool_calls' });
  });

  it('skips reasoning blocks (no place in a chat completion) and has no usage when Bedrock gave none', () => {
    const out = translate(
      converse(
        [{ reasoningContent: { reasoningText: { text: 'hmm', signature: 's' } } }, { text: 'ok' }],
        'end_turn',
      ),
    );
    expect((out.choices as Json[])[0]).toMatchObject({ message: { content: 'ok' } });
    expect(out.usage).toBeUndefined();
  });
});

function usageOf(inputTokens: number, outputTokens: number, read?: number, write?: number): Json {
  const u: Json = {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens + (read ?? 0) + (write ?? 0),
  };
  if (read !== undefined) u.cacheReadInputTokens = read;
  if (write !== undefined) u.cacheWriteInputTokens = write;
  return u;
}

describe('bedrockUsage', () => {
  it('counts cache reads and writes into the prompt tokens (inputTokens excludes them), cached = reads', () => {
    expect(bedrockUsage(usageOf(10, 5, 1000, 200))).toEqual({
      inputTokens: 1210,
      outputTokens: 5,
      cachedInputTokens: 1000,
      cacheWriteTokens: 200,
    });
  });

  it('is undefined without the token counts, never a 0 Bedrock did not say', () => {
    expect(bedrockUsage(undefined)).toBeUndefined();
    expect(bedrockUsage({ totalTokens: 4 })).toBeUndefined();
    expect(bedrockUsage({ inputTokens: 3 })).toBeUndefined();
  });
});

describe('Bedrock finish reasons', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['guardrail_intervened', 'content_filter'],
    ['content_filtered', 'content_filter'],
    ['model_context_window_exceeded', 'length'],
  ])('maps %s to %s', (bedrock, openai) => {
    expect(FINISH_REASONS.get(bedrock)).toBe(openai);
    expect(finishReasonOf(bedrock, true)).toBe(openai);
  });

  it('says stop for tool_use without a client tool call, and for a reason it does not know', () => {
    expect(finishReasonOf('tool_use', false)).toBe('stop');
    expect(finishReasonOf('something_new', false)).toBe('stop');
  });
});
