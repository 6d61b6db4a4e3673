import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../../functions/core/errors.ts';
import {
  chatCompletionOf,
  embeddingsListOf,
  FINISH_REASONS,
  finishOf,
  geminiUsage,
  splitToolCallId,
  toolCallId,
} from '../../../../functions/core/providers/gemini/response.ts';

const CTX = { requestId: 'req-42', model: 'gemini-2.5-flash', created: 1_700_000_000 };
type Json = Record<string, unknown>;

function translate(answer: Json): Json {
  return JSON.parse(chatCompletionOf(JSON.stringify(answer), CTX).text);
}
const candidate = (parts: Json[], finishReason = 'STOP'): Json => ({
  candidates: [{ content: { role: 'model', parts }, finishReason, index: 0 }],
});
const USAGE = { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 };

describe('chatCompletionOf', () => {
  it('joins the text parts into the message and keeps responseId and modelVersion', () => {
    const out = translate({
      ...candidate([{ text: 'Hello, ' }, { text: 'world' }]),
      usageMetadata: USAGE,
      modelVersion: 'gemini-2.5-flash-001',
      responseId: 'resp-1',
    });
    expect(out).toEqual({
      id: 'resp-1',
      object: 'chat.completion',
      created: CTX.created,
      model: 'gemini-2.5-flash-001',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello, world', refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
  });

  it('falls back to chatcmpl-<request id> and the target model, and strips a models/ prefix', () => {
    expect(translate(candidate([{ text: 'x' }]))).toMatchObject({ id: 'chatcmpl-req-42', model: CTX.model });
    expect(translate({ ...candidate([{ text: 'x' }]), modelVersion: 'models/gemini-2.0' }).model).toBe(
      'gemini-2.0',
    );
  });

  it('leaves thought summaries out of the content', () => {
    const out = translate(candidate([{ text: 'let me think', thought: true }, { text: 'answer' }]));
    expect((out.choices as Json[])[0]).toMatchObject({ message: { content: 'answer' } });
  });

  it('turns function calls into tool calls with JSON arguments and finish reason tool_calls', () => {
    const out = translate(
      candidate([
        { text: 'Let me check.' },
        { functionCall: { name: 'get_weather', args: { location: 'Paris' } }, thoughtSignature: 'c2ln' },
        { functionCall: { id: 'fc-own', name: 'get_time', args: {} } },
      ]),
    );
    const choice = (out.choices as Json[])[0] as Json;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message).toEqual({
      role: 'assistant',
      content: 'Let me check.',
      refusal: null,
      tool_calls: [
        {
          id: toolCallId(undefined, 'req-42', 0, 'c2ln'),
          type: 'function',
          function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
        },
        { id: 'fc-own', type: 'function', function: { name: 'get_time', arguments: '{}' } },
      ],
    });
  });

  it('answers a blocked prompt with null content and finish reason content_filter', () => {
    const out = translate({
      promptFeedback: { blockReason: 'PROHIBITED_CONTENT' },
      usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 },
    });
    expect((out.choices as Json[])[0]).toEqual({
      index: 0,
      message: { role: 'assistant', content: null, refusal: null },
      finish_reason: 'content_filter',
      logprobs: null,
    });
    expect(out.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 0 });
  });

  it('gives null content for a candidate cut off before any text', () => {
    const out = translate({ candidates: [{ content: { role: 'model' }, finishReason: 'MAX_TOKENS' }] });
    expect((out.choices as Json[])[0]).toMatchObject({ message: { content: null }, finish_reason: 'length' });
  });

  it('reports no usage when Gemini sent none', () => {
    expect(translate(candidate([{ text: 'x' }]))).not.toHaveProperty('usage');
  });

  it('throws an upstream error for a body that is not an answer', () => {
    expect(() => chatCompletionOf('<html>', CTX)).toThrow(UpstreamError);
    expect(() => chatCompletionOf('{"candidates":[]}', CTX)).toThrow(/without a candidate/);
  });
});

describe('finish reasons', () => {
  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['BLOCKLIST', 'content_filter'],
    ['PROHIBITED_CONTENT', 'content_filter'],
    ['SPII', 'content_filter'],
    ['IMAGE_SAFETY', 'content_filter'],
    ['LANGUAGE', 'content_filter'],
    ['MALFORMED_FUNCTION_CALL', 'stop'],
    ['OTHER', 'stop'],
    ['FINISH_REASON_UNSPECIFIED', 'stop'],
    ['SOMETHING_NEW', 'stop'],
  ])('maps %s to %s', (gemini, openai) => {
    expect(finishOf(gemini, false)).toBe(openai);
  });

  it('says tool_calls only for a natural stop with function calls', () => {
    expect(finishOf('STOP', true)).toBe('tool_calls');
    expect(finishOf('MAX_TOKENS', true)).toBe('length');
    expect(finishOf('SAFETY', true)).toBe('content_filter');
  });

  it('has a row for every documented reason', () => {
    expect(FINISH_REASONS.size).toBeGreaterThanOrEqual(12);
  });
});

describe('geminiUsage', () => {
  it('counts tool-use prompt tokens as prompt and thinking tokens as completion tokens', () => {
    expect(
      geminiUsage({
        promptTokenCount: 100,
        toolUsePromptTokenCount: 20,
        cachedContentTokenCount: 60,
        candidatesTokenCount: 30,
        thoughtsTokenCount: 50,
        totalTokenCount: 200,
      }),
    ).toEqual({ inputTokens: 120, outputTokens: 80, cachedInputTokens: 60, reasoningTokens: 50 });
  });

  it('reads left-out counts as 0 and no usageMetadata as no usage', () => {
    expect(geminiUsage({ promptTokenCount: 3, totalTokenCount: 3 })).toEqual({
      inputTokens: 3,
      outputTokens: 0,
      cachedInputTokens: 0,
      reasoningTokens: 0,
    });
    expect(geminiUsage(undefined)).toBeUndefined();
    expect(geminiUsage({})).toBeUndefined();
  });

  it('reaches the ledger through the OpenAI reader of the translated body', () => {
    const text = chatCompletionOf(
      JSON.stringify({
        ...candidate([{ text: 'x' }]),
        usageMetadata: {
          promptTokenCount: 9,
          cachedContentTokenCount: 4,
          candidatesTokenCount: 2,
          thoughtsTokenCount: 3,
        },
      }),
      CTX,
    );
    expect(text.usage).toEqual({
      inputTokens: 9,
      outputTokens: 5,
      cachedInputTokens: 4,
      reasoningTokens: 3,
    });
  });
});

describe('tool-call ids', () => {
  it('are unique per request and carry a thought signature that comes back out intact', () => {
    const sig = 'CiQB0e2Kb+/xyz==';
    const id = toolCallId(undefined, 'req-42', 1, sig);
    expect(id).toMatch(/^call_req42_1__sig_[A-Za-z0-9_-]+$/);
    expect(splitToolCallId(id)).toEqual({ id: 'call_req42_1', signature: sig });
    expect(splitToolCallId('call_plain')).toEqual({ id: 'call_plain' });
  });
});

describe('embeddingsListOf', () => {
  const answer = JSON.stringify({ embeddings: [{ values: [0.5, -0.25] }, { values: [1, 0] }] });

  it('lists the vectors as OpenAI embeddings without usage', () => {
    expect(JSON.parse(embeddingsListOf(answer, 'gemini-embedding-001', 'float').text)).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -0.25] },
        { object: 'embedding', index: 1, embedding: [1, 0] },
      ],
      model: 'gemini-embedding-001',
    });
  });

  it('encodes base64 as little-endian float32', () => {
    const out = JSON.parse(embeddingsListOf(answer, 'm', 'base64').text) as { data: { embedding: string }[] };
    const bytes = Buffer.from(out.data[0]?.embedding ?? '', 'base64');
    expect(Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, 2))).toEqual([0.5, -0.25]);
  });
});
