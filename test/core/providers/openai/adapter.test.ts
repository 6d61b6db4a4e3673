import { describe, expect, it } from 'vitest';
import {
  openAIUsageOfBody,
  openaiAdapter,
  parseOpenAIError,
} from '../../../../functions/core/providers/openai/adapter.ts';

describe('openAIUsageOfBody', () => {
  it('reads usage from a chat completion, nested details included', () => {
    const body = JSON.stringify({
      id: 'chatcmpl-1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'the "usage" word {in} text' } }],
      usage: { prompt_tokens: 12, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 0 } },
      system_fingerprint: 'fp',
    });
    expect(openAIUsageOfBody(body)).toEqual({ inputTokens: 12, outputTokens: 5 });
  });

  it('reads embeddings usage (prompt tokens only)', () => {
    expect(openAIUsageOfBody('{"data":[],"usage":{"prompt_tokens":7,"total_tokens":7}}')).toEqual({
      inputTokens: 7,
      outputTokens: 0,
    });
  });

  it('gives undefined when there is no usage or it is null', () => {
    expect(openAIUsageOfBody('{"choices":[]}')).toBeUndefined();
    expect(openAIUsageOfBody('{"choices":[],"usage":null}')).toBeUndefined();
    expect(openAIUsageOfBody('not json')).toBeUndefined();
  });
});

describe('parseOpenAIError', () => {
  it('reads the OpenAI error body', () => {
    const text =
      '{"error":{"message":"too long","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}';
    expect(parseOpenAIError(400, text)).toEqual({
      message: 'too long',
      type: 'invalid_request_error',
      param: 'messages',
      code: 'context_length_exceeded',
    });
  });
  it('reads the shapes relays use: a string error, a top-level message, numeric codes, plain text', () => {
    expect(parseOpenAIError(500, '{"error":"upstream exploded"}')).toEqual({ message: 'upstream exploded' });
    expect(parseOpenAIError(429, '{"message":"slow down","code":1008}')).toEqual({
      message: 'slow down',
      code: '1008',
    });
    expect(parseOpenAIError(502, '<html>Bad Gateway</html>')).toEqual({
      message: '<html>Bad Gateway</html>',
    });
    expect(parseOpenAIError(503, '')).toEqual({ message: 'HTTP 503' });
  });
});

describe('openaiAdapter.buildCall', () => {
  it('replaces only the model, keeps unknown fields, and sends the key and request id', () => {
    const call = openaiAdapter.buildCall({
      op: 'chat',
      body: { model: 'alias', messages: [], foo_extra: { a: 1 } },
      model: 'upstream-model',
      apiKey: 'sk-up',
      requestId: 'req-9',
      extraHeaders: { 'http-referer': 'https://app.example' },
    });
    expect(call.path).toBe('/chat/completions');
    expect(JSON.parse(call.body ?? '')).toEqual({
      model: 'upstream-model',
      messages: [],
      foo_extra: { a: 1 },
    });
    expect(call.headers).toMatchObject({
      authorization: 'Bearer sk-up',
      'x-request-id': 'req-9',
      'http-referer': 'https://app.example',
    });
  });
});
