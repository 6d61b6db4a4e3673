import { describe, expect, it } from 'vitest';
import {
  openAIUsageOfBody,
  openaiAdapter,
  parseOpenAIError,
  upstreamIdOf,
  withUsageCost,
} from '../../../../functions/core/providers/openai/adapter.ts';

describe('openAIUsageOfBody', () => {
  it('reads usage from a chat completion, nested details included', () => {
    const body = JSON.stringify({
      id: 'chatcmpl-1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'the "usage" word {in} text' } }],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 5,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 2 },
      },
      system_fingerprint: 'fp',
    });
    expect(openAIUsageOfBody(body)).toEqual({
      inputTokens: 12,
      outputTokens: 5,
      cachedInputTokens: 4,
      reasoningTokens: 2,
    });
  });

  it('reads embeddings usage (prompt tokens only)', () => {
    expect(openAIUsageOfBody('{"data":[],"usage":{"prompt_tokens":7,"total_tokens":7}}')).toEqual({
      inputTokens: 7,
      outputTokens: 0,
      cachedInputTokens: 0,
      reasoningTokens: 0,
    });
  });

  it('gives undefined when there is no usage or it is null', () => {
    expect(openAIUsageOfBody('{"choices":[]}')).toBeUndefined();
    expect(openAIUsageOfBody('{"choices":[],"usage":null}')).toBeUndefined();
    expect(openAIUsageOfBody('not json')).toBeUndefined();
  });

  it('gives undefined for a usage object without token counts, so the gateway estimates instead of a silent 0', () => {
    expect(openAIUsageOfBody('{"choices":[],"usage":{}}')).toBeUndefined();
    expect(openAIUsageOfBody('{"choices":[],"usage":{"total_tokens":50}}')).toBeUndefined();
    expect(openAIUsageOfBody('{"choices":[],"usage":{"prompt_tokens":"7"}}')).toBeUndefined();
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
      raw: true,
    });
    expect(parseOpenAIError(503, '')).toEqual({ message: 'HTTP 503', raw: true });
  });
});

const PROVIDER = { type: 'openai' } as const;
/** The call that forwards a chat request's text as the client sent it. */
const forward = (
  json: Record<string, unknown>,
  text = JSON.stringify(json),
  extraHeaders?: Record<string, string>,
) => {
  const call = openaiAdapter.forward({
    endpoint: 'chat',
    text,
    json,
    stream: json.stream === true,
    model: 'upstream-model',
    apiKey: 'sk-up',
    requestId: 'req-9',
    extraHeaders,
    provider: PROVIDER,
    clientHeaders: {},
  });
  if (call === undefined) throw new Error('an openai provider serves chat');
  return call;
};

describe('openaiAdapter.forward', () => {
  it('replaces only the model, keeps unknown fields, and sends the key and request id', () => {
    const call = forward({ model: 'alias', messages: [], foo_extra: { a: 1 } }, undefined, {
      'http-referer': 'https://app.example',
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

describe('withUsageCost', () => {
  it('adds the cost as the first field of the usage object and leaves the rest byte for byte', () => {
    const body =
      '{"id":"x","choices":[{"message":{"content":"{\\"usage\\": 1}"}}],"usage":{"prompt_tokens":3}}';
    const out = withUsageCost(body, 0.00012);
    expect(out).toBe(body.replace('"usage":{', '"usage":{"cost":0.00012,'));
    expect(JSON.parse(out).usage).toEqual({ cost: 0.00012, prompt_tokens: 3 });
  });

  it('handles an empty usage object and leaves a body without usage alone', () => {
    expect(JSON.parse(withUsageCost('{"usage":{}}', 1)).usage).toEqual({ cost: 1 });
    expect(withUsageCost('{"choices":[]}', 1)).toBe('{"choices":[]}');
    expect(withUsageCost('{"usage":null}', 1)).toBe('{"usage":null}');
  });
});

describe('upstreamIdOf', () => {
  it("reads the completion's id from the start of a body or chunk", () => {
    expect(upstreamIdOf('data: {"id":"chatcmpl-abc","object":"chat.completion.chunk"}')).toBe('chatcmpl-abc');
    expect(upstreamIdOf('{"object":"list","data":[]}')).toBeUndefined();
  });
});

describe('openaiAdapter.forward: what the client sent is what the provider gets', () => {
  it('keeps every byte but the model: key order inside tools, number formats, whitespace', () => {
    const text =
      '{"model":"alias", "tools":[{"function":{"parameters":{"z":1,"a":2},"name":"f"},"type":"function"}],"temperature":1.0}';
    expect(forward(JSON.parse(text), text).body).toBe(
      '{"model":"upstream-model", "tools":[{"function":{"parameters":{"z":1,"a":2},"name":"f"},"type":"function"}],"temperature":1.0}',
    );
  });

  it('serves only the endpoints its provider lists', () => {
    const input = {
      endpoint: 'responses',
      text: '{}',
      json: {},
      stream: false,
      model: 'm',
      apiKey: undefined,
      requestId: 'r',
      extraHeaders: undefined,
      clientHeaders: {},
    } as const;
    expect(openaiAdapter.forward({ ...input, provider: PROVIDER })?.path).toBe('/responses');
    expect(
      openaiAdapter.forward({ ...input, provider: { type: 'openai', endpoints: ['chat', 'embeddings'] } }),
    ).toBeUndefined();
  });
});

describe('openaiAdapter.forward stream usage', () => {
  const build = (body: Record<string, unknown>) => JSON.parse(forward(body).body ?? '');

  it('asks a stream for its usage chunk when the client did not', () => {
    expect(build({ model: 'a', messages: [], stream: true }).stream_options).toEqual({ include_usage: true });
    expect(
      build({ model: 'a', messages: [], stream: true, stream_options: { include_obfuscation: false } })
        .stream_options,
    ).toEqual({ include_obfuscation: false, include_usage: true });
  });

  it("keeps the client's own stream_options, and leaves non-stream requests alone", () => {
    const body = { model: 'a', messages: [], stream: true, stream_options: { include_usage: true } };
    expect(build(body).stream_options).toEqual({ include_usage: true });
    expect(build({ model: 'a', messages: [] }).stream_options).toBeUndefined();
  });
});
