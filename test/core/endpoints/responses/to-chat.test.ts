import { describe, expect, it } from 'vitest';
import { chatFromResponses } from '../../../../functions/core/endpoints/responses/to-chat.ts';
import type { Json } from '../../../../functions/core/json.ts';
import { unsupportedFieldError } from '../../providers/unsupported.ts';

const MODEL = 'gpt-4o-mini';
const chat = (body: Json, previous: readonly Json[] = []) =>
  chatFromResponses({ model: MODEL, ...body }, previous);

const weather = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather',
  parameters: { type: 'object' },
  strict: true,
};

describe('chatFromResponses', () => {
  it('turns a string input and instructions into a system then a user message, and maps the sampling fields', () => {
    const { chat: out, warnings } = chat({
      input: 'hello',
      instructions: 'be brief',
      max_output_tokens: 64,
      temperature: 0.3,
      top_p: 0.9,
      user: 'u-1',
    });
    expect(out).toEqual({
      model: MODEL,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello' },
      ],
      max_tokens: 64,
      temperature: 0.3,
      top_p: 0.9,
      user: 'u-1',
    });
    expect(warnings).toEqual([]);
  });

  it('asks a stream for its usage chunk', () => {
    const { chat: out } = chat({ input: 'hi', stream: true });
    expect(out.stream).toBe(true);
    expect(out.stream_options).toEqual({ include_usage: true });
    expect(chat({ input: 'hi', stream: false }).chat.stream).toBeUndefined();
  });

  it('turns items into chat messages: parts, roles, function calls joined to the assistant turn, their outputs', () => {
    const { chat: out } = chat({
      input: [
        { role: 'developer', content: 'rules' },
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'what is in this picture, and the weather?' },
            { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' },
          ],
        },
        {
          type: 'message',
          role: 'assistant',
          id: 'msg_1',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Let me look.', annotations: [] }],
        },
        {
          type: 'function_call',
          id: 'fc_1',
          call_id: 'call_a',
          name: 'get_weather',
          arguments: '{"city":"Paris"}',
        },
        {
          type: 'function_call',
          id: 'fc_2',
          call_id: 'call_b',
          name: 'get_weather',
          arguments: '{"city":"Rome"}',
        },
        { type: 'function_call_output', call_id: 'call_a', output: 'sunny' },
        { type: 'function_call_output', call_id: 'call_b', output: [{ type: 'input_text', text: 'rain' }] },
      ],
    });
    expect(out.messages).toEqual([
      { role: 'system', content: 'rules' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is in this picture, and the weather?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } },
        ],
      },
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [
          {
            id: 'call_a',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
          { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_a', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_b', content: 'rain' },
    ]);
  });

  it('gives a function call that follows no assistant text an assistant turn of its own', () => {
    const { chat: out } = chat({
      input: [
        { role: 'user', content: 'weather?' },
        { type: 'function_call', call_id: 'call_a', name: 'get_weather', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_a', output: 'sunny' },
        { role: 'user', content: 'thanks' },
      ],
    });
    expect(out.messages).toEqual([
      { role: 'user', content: 'weather?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'call_a', content: 'sunny' },
      { role: 'user', content: 'thanks' },
    ]);
  });

  it('puts the earlier turns first and resolves item references against them', () => {
    const previous: Json[] = [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'my name is Ada' }] },
      {
        type: 'message',
        id: 'msg_prev',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Hello Ada', annotations: [] }],
      },
    ];
    const { chat: out } = chat(
      {
        instructions: 'new rules',
        input: [
          { type: 'item_reference', id: 'msg_prev' },
          { role: 'user', content: 'my name?' },
        ],
      },
      previous,
    );
    expect(out.messages).toEqual([
      { role: 'system', content: 'new rules' },
      { role: 'user', content: 'my name is Ada' },
      { role: 'assistant', content: 'Hello Ada' },
      { role: 'assistant', content: 'Hello Ada' },
      { role: 'user', content: 'my name?' },
    ]);
  });

  it('refuses a reference it cannot resolve, naming it', () => {
    const err = unsupportedFieldError(() =>
      chat({ input: [{ type: 'item_reference', id: 'msg_elsewhere' }] }),
    );
    expect(err.param).toBe('input[0].id');
  });

  it('translates function tools and tool_choice, and keeps parallel_tool_calls with them', () => {
    const { chat: out } = chat({
      input: 'hi',
      tools: [weather],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
    });
    expect(out.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather',
          parameters: { type: 'object' },
          strict: true,
        },
      },
    ]);
    expect(out.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
    expect(out.parallel_tool_calls).toBe(false);
    expect(chat({ input: 'hi', tools: [weather], tool_choice: 'required' }).chat.tool_choice).toBe(
      'required',
    );
    // Without tools OpenAI's chat API refuses parallel_tool_calls.
    expect(chat({ input: 'hi', parallel_tool_calls: true }).chat.parallel_tool_calls).toBeUndefined();
  });

  it('refuses built-in tools and a tool_choice that names one, naming the param', () => {
    expect(
      unsupportedFieldError(() => chat({ input: 'hi', tools: [weather, { type: 'web_search' }] })).param,
    ).toBe('tools[1].type');
    expect(
      unsupportedFieldError(() =>
        chat({ input: 'hi', tools: [weather], tool_choice: { type: 'file_search' } }),
      ).param,
    ).toBe('tool_choice');
  });

  it('turns text.format into response_format', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    expect(
      chat({ input: 'hi', text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } } })
        .chat.response_format,
    ).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } });
    expect(chat({ input: 'hi', text: { format: { type: 'json_object' } } }).chat.response_format).toEqual({
      type: 'json_object',
    });
    expect(chat({ input: 'hi', text: { format: { type: 'text' } } }).chat.response_format).toBeUndefined();
  });

  it('drops what a chat target has no place for with a warning, and says nothing of the gateway’s own fields', () => {
    const { chat: out, warnings } = chat({
      input: 'hi',
      metadata: { team: 'a' },
      reasoning: { effort: 'low', summary: 'auto' },
      store: true,
      previous_response_id: 'resp_1',
      background: false,
      some_future_field: 1,
    });
    expect(out.reasoning_effort).toBe('low');
    expect(out).not.toHaveProperty('metadata');
    expect(out).not.toHaveProperty('store');
    expect(warnings).toEqual([
      'reasoning.summary dropped: a chat answer carries no reasoning summary',
      'metadata dropped: Chat Completions has no equivalent',
      'some_future_field dropped: not a field the Chat Completions adapter knows',
    ]);
  });

  it('refuses what it cannot honour: background runs, files by id, images in tool outputs', () => {
    expect(unsupportedFieldError(() => chat({ input: 'hi', background: true })).param).toBe('background');
    const fileById = { role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] };
    expect(unsupportedFieldError(() => chat({ input: [fileById] })).param).toBe(
      'input[0].content[0].file_id',
    );
    const imageById = { role: 'user', content: [{ type: 'input_image', file_id: 'file-1', detail: 'auto' }] };
    expect(unsupportedFieldError(() => chat({ input: [imageById] })).param).toBe(
      'input[0].content[0].file_id',
    );
    const imageOut = {
      type: 'function_call_output',
      call_id: 'c',
      output: [{ type: 'input_image', image_url: 'https://x/y.png' }],
    };
    expect(unsupportedFieldError(() => chat({ input: [imageOut] })).param).toBe('input[0].output[0].type');
    expect(
      unsupportedFieldError(() => chat({ input: [{ type: 'computer_call_output', call_id: 'c' }] })).param,
    ).toBe('input[0].type');
    expect(unsupportedFieldError(() => chat({})).param).toBe('input');
  });

  it('sends an inline file as a chat file part, and skips reasoning items with a warning', () => {
    const { chat: out, warnings } = chat({
      input: [
        { type: 'reasoning', id: 'rs_1', summary: [] },
        {
          role: 'user',
          content: [
            { type: 'input_file', filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' },
            { type: 'input_text', text: 'summarise' },
          ],
        },
      ],
    });
    expect(out.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
          { type: 'text', text: 'summarise' },
        ],
      },
    ]);
    expect(warnings).toEqual(['input[0] dropped: a reasoning item cannot be sent to a chat target']);
  });
});
