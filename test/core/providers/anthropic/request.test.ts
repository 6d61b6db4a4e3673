import { describe, expect, it } from 'vitest';
import { anthropicAdapter } from '../../../../functions/core/providers/anthropic/adapter.ts';
import type { CallInput, UpstreamCall } from '../../../../functions/core/providers/types.ts';
import { unsupportedFieldError } from '../unsupported.ts';

type Json = Record<string, unknown>;

const user = (content: unknown) => ({ role: 'user', content });
const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather of a city',
    parameters: { type: 'object', properties: { location: { type: 'string' } } },
  },
};

function call(body: Json, more: Partial<CallInput> = {}): UpstreamCall {
  return anthropicAdapter.buildCall({
    op: 'chat',
    body: { model: 'alias', messages: [user('hi')], ...body },
    model: 'claude-sonnet-4-5',
    apiKey: 'sk-ant-test',
    requestId: 'req-1',
    extraHeaders: undefined,
    ...more,
  });
}

const sent = (body: Json, more: Partial<CallInput> = {}): Json => JSON.parse(call(body, more).body ?? '{}');

const rejected = (body: Json) => unsupportedFieldError(() => call(body));

describe('anthropicAdapter.buildCall: the call', () => {
  it('posts to /messages with the key, the API version, the request id and the provider headers', () => {
    const c = call({}, { extraHeaders: { 'anthropic-beta': 'x-1' } });
    expect(c.method).toBe('POST');
    expect(c.path).toBe('/messages');
    expect(c.headers).toEqual({
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'x-request-id': 'req-1',
      'anthropic-beta': 'x-1',
      'x-api-key': 'sk-ant-test',
    });
    expect(c.translator).toBeDefined();
  });

  it('sends the target model and always a max_tokens (Anthropic requires one)', () => {
    expect(sent({})).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 4096 });
    const provider = { type: 'anthropic' as const, maxTokens: 1000 };
    expect(sent({}, { provider }).max_tokens).toBe(1000);
    expect(sent({ max_tokens: 50 }, { provider }).max_tokens).toBe(50);
    expect(sent({ max_tokens: 50, max_completion_tokens: 70 }).max_tokens).toBe(70);
    expect(sent({ max_completion_tokens: 70 }).max_tokens).toBe(70);
  });

  it('refuses embeddings and the model list: Anthropic has no such API', () => {
    for (const op of ['embeddings', 'models'] as const) {
      expect(unsupportedFieldError(() => call({}, { op })).param).toBe('model');
    }
  });
});

describe('anthropicAdapter.buildCall: the field table', () => {
  it('maps stop, top_p, stream and user to their Anthropic fields', () => {
    expect(sent({ stop: 'END', top_p: 0.5, stream: true, user: 'u-7' })).toMatchObject({
      stop_sequences: ['END'],
      top_p: 0.5,
      stream: true,
      metadata: { user_id: 'u-7' },
    });
    expect(sent({ stop: ['a', 'b'] }).stop_sequences).toEqual(['a', 'b']);
  });

  it('clamps temperature into Anthropic 0–1, with a warning', () => {
    expect(sent({ temperature: 0.3 }).temperature).toBe(0.3);
    const c = call({ temperature: 1.7 });
    expect(JSON.parse(c.body ?? '').temperature).toBe(1);
    expect(c.warnings).toContain('temperature 1.7 clamped to 1');
  });

  it('drops sampling fields Anthropic lacks, each with a warning, and unknown fields too', () => {
    const c = call({ presence_penalty: 1, frequency_penalty: 1, seed: 3, logit_bias: { 1: 2 }, foo: 1 });
    const body = JSON.parse(c.body ?? '');
    for (const f of ['presence_penalty', 'frequency_penalty', 'seed', 'logit_bias', 'foo']) {
      expect(body[f]).toBeUndefined();
      expect(c.warnings?.some((w) => w.startsWith(`${f} dropped`))).toBe(true);
    }
  });

  it('takes n only as 1', () => {
    expect(sent({ n: 1 }).n).toBeUndefined();
    expect(rejected({ n: 2 }).param).toBe('n');
  });

  it('rejects log probabilities, which Anthropic cannot give, but not a request that turns them off', () => {
    expect(rejected({ logprobs: true }).param).toBe('logprobs');
    expect(rejected({ top_logprobs: 3 }).param).toBe('top_logprobs');
    expect(sent({ logprobs: false, top_logprobs: 0 }).logprobs).toBeUndefined();
  });

  it('rejects audio output and legacy function calling', () => {
    expect(rejected({ modalities: ['text', 'audio'] }).param).toBe('modalities');
    expect(rejected({ audio: { voice: 'alloy' } }).param).toBe('audio');
    expect(rejected({ functions: [{ name: 'f' }] }).param).toBe('functions');
  });
});

describe('anthropicAdapter.buildCall: messages', () => {
  it('moves system and developer messages to the top-level system text', () => {
    const body = sent({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Use French.' }] },
        user('hi'),
      ],
    });
    expect(body.system).toBe('Be brief.\n\nUse French.');
    expect(body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
  });

  it('turns image parts into base64 or url image blocks, and inline PDFs into documents', () => {
    const body = sent({
      messages: [
        user([
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
        ]),
      ],
    });
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
        ],
      },
    ]);
  });

  it('rejects content parts Anthropic cannot read, naming the part', () => {
    const e = rejected({
      messages: [user([{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }])],
    });
    expect(e.param).toBe('messages[0].content[0].type');
  });

  it('turns assistant tool calls into tool_use blocks and consecutive tool messages into one user turn', () => {
    const body = sent({
      messages: [
        user('weather in Paris and Rome?'),
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
            },
            {
              id: 'call_2',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"location":"Rome"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'rain' }] },
        user('thanks'),
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { location: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { location: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: 'sunny' },
          { type: 'tool_result', tool_use_id: 'call_2', content: 'rain' },
          { type: 'text', text: 'thanks' },
        ],
      },
    ]);
  });

  it('rejects tool-call arguments that are not a JSON object, naming them', () => {
    const bad = {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1]' } }],
    };
    expect(rejected({ messages: [user('x'), bad] }).param).toBe(
      'messages[1].tool_calls[0].function.arguments',
    );
  });
});

describe('anthropicAdapter.buildCall: tools', () => {
  it('sends tools as name, description and input_schema', () => {
    expect(sent({ tools: [weather] }).tools).toEqual([
      {
        name: 'get_weather',
        description: 'Weather of a city',
        input_schema: { type: 'object', properties: { location: { type: 'string' } } },
      },
    ]);
    const bare = { type: 'function', function: { name: 'now' } };
    expect(sent({ tools: [bare] }).tools).toEqual([
      { name: 'now', input_schema: { type: 'object', properties: {} } },
    ]);
  });

  it.each([
    ['auto', { type: 'auto' }],
    ['none', { type: 'none' }],
    ['required', { type: 'any' }],
    [
      { type: 'function', function: { name: 'get_weather' } },
      { type: 'tool', name: 'get_weather' },
    ],
  ])('maps tool_choice %j to %j', (choice, expected) => {
    expect(sent({ tools: [weather], tool_choice: choice }).tool_choice).toEqual(expected);
  });

  it('turns parallel_tool_calls: false into disable_parallel_tool_use on the tool choice', () => {
    expect(sent({ tools: [weather], parallel_tool_calls: false }).tool_choice).toEqual({
      type: 'auto',
      disable_parallel_tool_use: true,
    });
    expect(
      sent({ tools: [weather], tool_choice: 'required', parallel_tool_calls: false }).tool_choice,
    ).toEqual({
      type: 'any',
      disable_parallel_tool_use: true,
    });
    expect(sent({ tools: [weather], parallel_tool_calls: true }).tool_choice).toBeUndefined();
  });

  it('sends no tool_choice without tools (Anthropic refuses one)', () => {
    expect(sent({ tool_choice: 'auto', parallel_tool_calls: false }).tool_choice).toBeUndefined();
  });

  it('rejects tools that are not functions', () => {
    expect(rejected({ tools: [{ type: 'custom', custom: { name: 'x' } }] }).param).toBe('tools[0].type');
  });
});

describe('anthropicAdapter.buildCall: JSON mode', () => {
  const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };

  it('answers json_schema through a forced tool named after the schema', () => {
    const body = sent({ response_format: { type: 'json_schema', json_schema: { name: 'reply', schema } } });
    expect(body.tools).toEqual([
      { name: 'reply', description: 'Answer with JSON that matches the reply schema.', input_schema: schema },
    ]);
    expect(body.tool_choice).toEqual({ type: 'tool', name: 'reply', disable_parallel_tool_use: true });
    expect(body.response_format).toBeUndefined();
  });

  it('answers json_object through a forced tool taking any object', () => {
    const body = sent({ response_format: { type: 'json_object' } });
    expect(body.tools).toEqual([
      { name: 'json_answer', description: 'Answer with a JSON object.', input_schema: { type: 'object' } },
    ]);
    expect(body.tool_choice).toMatchObject({ type: 'tool', name: 'json_answer' });
  });

  it('with client tools, requires a call of either a client tool or the answer tool', () => {
    const body = sent({ tools: [weather], response_format: { type: 'json_object' } });
    expect((body.tools as Json[]).map((t) => t.name)).toEqual(['get_weather', 'json_answer']);
    expect(body.tool_choice).toEqual({ type: 'any' });
  });

  it('sends nothing for response_format text', () => {
    const body = sent({ response_format: { type: 'text' } });
    expect(body.tools).toBeUndefined();
    expect(body.tool_choice).toBeUndefined();
  });

  it('rejects a schema named like one of the tools', () => {
    const rf = { type: 'json_schema', json_schema: { name: 'get_weather', schema } };
    expect(rejected({ tools: [weather], response_format: rf }).param).toBe('response_format');
  });
});
