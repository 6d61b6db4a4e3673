import { describe, expect, it } from 'vitest';
import {
  completionFromMessage,
  FINISH_REASONS,
  finishReason,
} from '../../../../functions/core/providers/anthropic/response.ts';
import { openAIUsageOfBody } from '../../../../functions/core/providers/openai/adapter.ts';

type Json = Record<string, unknown>;

const opts = { jsonTool: undefined, created: 1_700_000_000, model: 'claude-sonnet-4-5' };

function message(content: Json[], more: Json = {}): string {
  return JSON.stringify({
    id: 'msg_01AbC',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5-20250929',
    content,
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    ...more,
  });
}

const translate = (text: string, jsonTool?: string): Json =>
  JSON.parse(completionFromMessage(text, { ...opts, jsonTool }).text);

describe('completionFromMessage', () => {
  it('makes a chat.completion with the message id, the answering model and the text blocks joined', () => {
    const out = translate(
      message([
        { type: 'text', text: 'Hello' },
        { type: 'text', text: ', world' },
      ]),
    );
    expect(out).toEqual({
      id: 'msg_01AbC',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'claude-sonnet-4-5-20250929',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello, world', refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 5,
        total_tokens: 17,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
  });

  it('turns tool_use blocks into tool calls with JSON-text arguments, content null without text', () => {
    const out = translate(
      message(
        [
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
        ],
        { stop_reason: 'tool_use' },
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
          id: 'toolu_1',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
        },
        { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
      ],
    });
  });

  it('leaves thinking blocks out of the answer', () => {
    const out = translate(
      message([
        { type: 'thinking', thinking: 'Let me think', signature: 'sig' },
        { type: 'redacted_thinking', data: 'xx' },
        { type: 'text', text: '42' },
      ]),
    );
    expect(((out.choices as Json[])[0] as { message: Json }).message.content).toBe('42');
  });

  it("gives JSON mode's answer-tool input as the content, with finish_reason stop", () => {
    const out = translate(
      message(
        [
          { type: 'text', text: 'Here you go:' },
          { type: 'tool_use', id: 'toolu_1', name: 'reply', input: { answer: 'echo: hi' } },
        ],
        { stop_reason: 'tool_use' },
      ),
      'reply',
    );
    const choice = (out.choices as Json[])[0] as { message: Json; finish_reason: string };
    expect(choice.message.content).toBe('{"answer":"echo: hi"}');
    expect(choice.message.tool_calls).toBeUndefined();
    expect(choice.finish_reason).toBe('stop');
  });

  it('counts cache reads and writes into prompt tokens, cache reads as cached tokens, writes apart', () => {
    const usage = {
      input_tokens: 10,
      output_tokens: 7,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 20,
    };
    const out = translate(message([{ type: 'text', text: 'ok' }], { usage }));
    expect(out.usage).toEqual({
      prompt_tokens: 130,
      completion_tokens: 7,
      total_tokens: 137,
      prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 20 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    // and the gateway reads it back from the translated text
    expect(openAIUsageOfBody(JSON.stringify(out))).toEqual({
      inputTokens: 130,
      outputTokens: 7,
      cachedInputTokens: 100,
      reasoningTokens: 0,
      cacheWriteTokens: 20,
    });
  });

  it('writes no usage when Anthropic reported none (the gateway estimates instead of recording 0)', () => {
    const text = JSON.stringify({ ...JSON.parse(message([{ type: 'text', text: 'ok' }])), usage: undefined });
    expect(translate(text).usage).toBeUndefined();
  });

  it('throws on a 2xx body that is not a message', () => {
    expect(() => completionFromMessage('{"type":"ping"}', opts)).toThrow(/not a message/);
    expect(() => completionFromMessage('<html>', opts)).toThrow();
  });
});

describe('finish reasons', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['pause_turn', 'stop'],
    ['refusal', 'content_filter'],
    ['model_context_window_exceeded', 'length'],
  ])('maps %s to %s', (anthropic, openai) => {
    expect(FINISH_REASONS.get(anthropic)).toBe(openai);
    expect(finishReason(anthropic, 1)).toBe(openai);
  });

  it('reads tool_use as stop when only the JSON answer tool was called, and unknown reasons as stop', () => {
    expect(finishReason('tool_use', 0)).toBe('stop');
    expect(finishReason('some_future_reason', 0)).toBe('stop');
    expect(finishReason(null, 0)).toBe('stop');
  });
});
