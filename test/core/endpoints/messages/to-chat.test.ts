import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { messagesRequestSchema } from '../../../../functions/core/endpoints/messages/schema.ts';
import { chatFromMessages } from '../../../../functions/core/endpoints/messages/to-chat.ts';
import { UnsupportedFieldError } from '../../../../functions/core/providers/types.ts';
import { chatRequestSchema, parseBody } from '../../../../functions/core/schemas/openai.ts';

type Body = Anthropic.MessageCreateParams & { temperature?: number; top_p?: number; top_k?: number };

/** The chat request of a Messages body (validated as the gateway would), checked against the chat schema. */
function chatOf(body: Body) {
  const { chat, warnings } = chatFromMessages(parseBody(messagesRequestSchema, body));
  parseBody(chatRequestSchema, chat); // what a chat target gets is a valid chat request
  return {
    chat: chat as unknown as OpenAI.ChatCompletionCreateParams & { parallel_tool_calls?: boolean },
    warnings,
  };
}

function rejected(body: Body): UnsupportedFieldError {
  try {
    chatOf(body);
  } catch (err) {
    if (err instanceof UnsupportedFieldError) return err;
    throw err;
  }
  throw new Error('the body was translated');
}

const base = { model: 'claude-sonnet-4-5', max_tokens: 512 } as const;
const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('chatFromMessages', () => {
  it('puts system first (text blocks as paragraphs) and keeps max_tokens, stop, temperature and top_p', () => {
    const { chat, warnings } = chatOf({
      ...base,
      system: [
        { type: 'text', text: 'You are terse.' },
        { type: 'text', text: 'Answer in French.', cache_control: { type: 'ephemeral' } },
      ],
      messages: [{ role: 'user', content: 'Hello' }],
      stop_sequences: ['END', 'STOP'],
      temperature: 0.3,
      top_p: 0.9,
    });
    expect(chat).toEqual({
      model: 'claude-sonnet-4-5',
      messages: [
        { role: 'system', content: 'You are terse.\n\nAnswer in French.' },
        { role: 'user', content: 'Hello' },
      ],
      max_tokens: 512,
      stop: ['END', 'STOP'],
      temperature: 0.3,
      top_p: 0.9,
    });
    expect(warnings).toEqual([]);
  });

  it('turns text and image blocks (base64 → data URL, url as is) into parts', () => {
    const { chat } = chatOf({
      ...base,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare these' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    expect(chat.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Compare these' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ],
      },
    ]);
  });

  it('turns tool_use into tool_calls and tool_result into tool messages before the user text that follows', () => {
    const { chat } = chatOf({
      ...base,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Rome' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
            {
              type: 'tool_result',
              tool_use_id: 'toolu_2',
              content: [{ type: 'text', text: 'no such city' }],
              is_error: true,
            },
            { type: 'text', text: 'Thanks!' },
          ],
        },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          {
            id: 'toolu_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
          {
            id: 'toolu_2',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Rome"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: no such city' },
      { role: 'user', content: 'Thanks!' },
    ]);
    expect(chat.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'The weather in a city',
          parameters: weatherTool.input_schema,
        },
      },
    ]);
  });

  it('moves a tool result’s image into a user message after the tool messages (chat tool messages are text)', () => {
    const { chat } = chatOf({
      ...base,
      messages: [
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'screenshot', input: {} }] },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_1',
              content: [
                { type: 'text', text: 'here it is' },
                { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/' } },
              ],
            },
          ],
        },
      ],
    });
    expect(chat.messages.slice(1)).toEqual([
      { role: 'tool', tool_call_id: 'toolu_1', content: 'here it is' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/' } }] },
    ]);
    expect(chat.messages[0]).toMatchObject({ role: 'assistant', content: null });
  });

  it('leaves thinking blocks of earlier turns out', () => {
    const { chat } = chatOf({
      ...base,
      messages: [
        { role: 'user', content: 'Hi' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'The user greets me.', signature: 'sig' },
            { type: 'text', text: 'Hello!' },
          ],
        },
        { role: 'user', content: 'How are you?' },
      ],
    });
    expect(chat.messages[1]).toEqual({ role: 'assistant', content: 'Hello!' });
  });

  it.each([
    [{ type: 'auto' }, 'auto', undefined],
    [{ type: 'any', disable_parallel_tool_use: true }, 'required', false],
    [
      { type: 'tool', name: 'get_weather' },
      { type: 'function', function: { name: 'get_weather' } },
      undefined,
    ],
    [{ type: 'none' }, 'none', undefined],
  ] as const)('maps tool_choice %j', (choice, expected, parallel) => {
    const { chat } = chatOf({
      ...base,
      tools: [weatherTool],
      tool_choice: choice as Anthropic.ToolChoice,
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(chat.tool_choice).toEqual(expected);
    expect(chat.parallel_tool_calls).toBe(parallel);
  });

  it('sends no tool_choice when there are no tools (chat refuses one)', () => {
    const { chat } = chatOf({
      ...base,
      tool_choice: { type: 'auto' },
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(chat.tool_choice).toBeUndefined();
  });

  it('streams with include_usage, and metadata.user_id becomes user', () => {
    const { chat } = chatOf({
      ...base,
      stream: true,
      metadata: { user_id: 'user-42' },
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(chat).toMatchObject({ stream: true, stream_options: { include_usage: true }, user: 'user-42' });
  });

  it('drops top_k and thinking with a warning each (a disabled thinking silently), and unknown fields', () => {
    const { chat, warnings } = chatOf({
      ...base,
      top_k: 5,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [{ role: 'user', content: 'x' }],
      ...{ brand_new_field: true },
    });
    expect(chat).not.toHaveProperty('top_k');
    expect(chat).not.toHaveProperty('thinking');
    expect(warnings).toEqual([
      'top_k dropped: chat translation has no equivalent',
      'thinking dropped: chat targets return no thinking blocks',
      'brand_new_field dropped: not a field the chat translation adapter knows',
    ]);
    expect(
      chatOf({ ...base, thinking: { type: 'disabled' }, messages: [{ role: 'user', content: 'x' }] })
        .warnings,
    ).toEqual([]);
  });

  it('turns output_config.format into a json_schema response_format', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const { chat } = chatOf({
      ...base,
      output_config: { format: { type: 'json_schema', schema } },
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(chat.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema } });
  });

  it('turns a PDF document into a file part and a text document into text', () => {
    const { chat } = chatOf({
      ...base,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain words' } },
          ],
        },
      ],
    });
    expect(chat.messages[0]?.content).toEqual([
      { type: 'file', file: { filename: 'document.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
      { type: 'text', text: 'plain words' },
    ]);
  });

  it('rejects, naming the field, what a chat target would silently ignore', () => {
    const user = [{ role: 'user' as const, content: 'x' }];
    const server = rejected({
      ...base,
      messages: user,
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
    });
    expect(server.param).toBe('tools[0].type');
    expect(
      rejected({
        ...base,
        messages: user,
        ...{ mcp_servers: [{ type: 'url', url: 'https://x', name: 'x' }] },
      }).param,
    ).toBe('mcp_servers');
    expect(rejected({ ...base, max_tokens: 0, messages: user }).param).toBe('max_tokens');
    const fileImage = rejected({
      ...base,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'file_1' } }] }],
    });
    expect(fileImage.param).toBe('messages[0].content[0].source.type');
    const serverBlock = rejected({
      ...base,
      messages: [
        { role: 'user', content: 'x' },
        {
          role: 'assistant',
          content: [{ type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} }],
        },
      ],
    });
    expect(serverBlock.param).toBe('messages[1].content[0].type');
  });
});
