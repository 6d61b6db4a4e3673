import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import {
  estimateMessagesTokens,
  messagesOutputText,
} from '../../../../functions/core/endpoints/messages/count-tokens.ts';
import { countTokensRequestSchema } from '../../../../functions/core/endpoints/messages/schema.ts';
import { parseBody } from '../../../../functions/core/schemas/openai.ts';
import { localTokenCounter } from '../../../../functions/local/token-counter.ts';

const counter = localTokenCounter();
const estimate = (body: Anthropic.MessageCountTokensParams) =>
  estimateMessagesTokens(counter, parseBody(countTokensRequestSchema, body)).input_tokens;

const hello: Anthropic.MessageCountTokensParams = {
  model: 'claude-sonnet-4-5',
  messages: [{ role: 'user', content: 'Hello, world!' }],
};

describe('estimateMessagesTokens', () => {
  it('counts a turn’s text plus the per-turn and priming tokens', () => {
    // 'Hello, world!' is 4 tokens; 3 per turn; 3 to prime the reply
    expect(estimate(hello)).toBe(10);
  });

  it('counts the system prompt, tool calls and results, and the tool definitions', () => {
    const tools: Anthropic.Tool[] = [
      { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
    ];
    const full = estimate({
      ...hello,
      system: [{ type: 'text', text: 'You are a weather bot.' }],
      tools,
      messages: [
        ...hello.messages,
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny, 24°C' }] },
      ],
    });
    const parts =
      10 +
      counter.count('You are a weather bot.') +
      3 +
      counter.count('get_weather{"city":"Paris"}') +
      3 +
      counter.count('sunny, 24°C') +
      counter.count(JSON.stringify(tools));
    expect(full).toBe(parts);
  });

  it('counts an image at Claude’s documented worst case and a PDF by its pages', () => {
    const image = estimate({
      ...hello,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    expect(image).toBe(6 + 1639);
    const twoPages = btoa(
      '%PDF-1.4\n1 0 obj << /Type /Pages /Count 2 >>\n2 0 obj << /Type /Page >>\n3 0 obj <</Type/Page>>',
    );
    const pdf = estimate({
      ...hello,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: twoPages } },
          ],
        },
      ],
    });
    expect(pdf).toBe(6 + 2 * 3000);
  });
});

describe('messagesOutputText', () => {
  it('collects text, tool names and inputs and thinking from forwarded events', () => {
    const ev = (d: object) => `event: x\ndata: ${JSON.stringify(d)}\n\n`;
    const forwarded = [
      ev({ type: 'message_start', message: { id: 'msg_1', content: [] } }) +
        ev({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }) +
        ev({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Hmm. ' } }),
      ev({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig' } }) +
        ev({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }) +
        ev({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Hello' } }),
      ev({
        type: 'content_block_start',
        index: 2,
        content_block: { type: 'tool_use', id: 't', name: 'f', input: {} },
      }) +
        ev({
          type: 'content_block_delta',
          index: 2,
          delta: { type: 'input_json_delta', partial_json: '{"a":1}' },
        }) +
        'event: ping\ndata: not json\n\n',
    ];
    expect(messagesOutputText(forwarded)).toBe('Hmm. Hellof{"a":1}');
  });
});
