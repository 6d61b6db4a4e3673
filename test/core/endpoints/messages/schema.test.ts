import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import {
  countTokensRequestSchema,
  MAX_TOOLS,
  messagesRequestSchema,
} from '../../../../functions/core/endpoints/messages/schema.ts';
import { InvalidRequestError } from '../../../../functions/core/errors.ts';
import { parseBody } from '../../../../functions/core/schemas/openai.ts';

const parse = (body: unknown) => parseBody(messagesRequestSchema, body);

/** The error parseBody throws for a body, as the client would read it. */
function refusal(body: unknown): InvalidRequestError {
  try {
    parse(body);
  } catch (err) {
    if (err instanceof InvalidRequestError) return err;
    throw err;
  }
  throw new Error('the body was accepted');
}

const base: Anthropic.MessageCreateParamsNonStreaming = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  messages: [{ role: 'user', content: 'Hello' }],
};

describe('messagesRequestSchema', () => {
  it('accepts what the Anthropic SDK sends: blocks, tools, tool_choice, thinking, metadata, unknown fields', () => {
    const body: Anthropic.MessageCreateParamsStreaming & { temperature: number; top_k: number } = {
      ...base,
      stream: true,
      temperature: 0.5,
      top_k: 40,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          ],
        },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } }],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'sunny' }] },
      ],
      tools: [
        { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      thinking: { type: 'enabled', budget_tokens: 2048 },
      metadata: { user_id: 'user-7' },
      stop_sequences: ['END'],
    };
    const parsed = parse({ ...body, some_future_field: { x: 1 } });
    expect(parsed.some_future_field).toEqual({ x: 1 });
    expect(parsed.messages).toHaveLength(3);
  });

  it('requires max_tokens, naming it', () => {
    const { max_tokens: _, ...rest } = base;
    const err = refusal(rest);
    expect(err.param).toBe('max_tokens');
    expect(err.message).toBe("Missing required parameter: 'max_tokens'.");
  });

  it('bounds the model name and refuses control characters in it', () => {
    expect(refusal({ ...base, model: 'm'.repeat(257) }).param).toBe('model');
    expect(refusal({ ...base, model: 'claude\u001b[31m' }).param).toBe('model');
    expect(parse({ ...base, model: 'm'.repeat(256) }).model).toHaveLength(256);
  });

  it('checks the blocks it knows, naming the field inside the block', () => {
    const bad = { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] };
    expect(refusal(bad).param).toBe('messages[0].content[0].text');
    const noId = {
      ...base,
      messages: [{ role: 'assistant', content: [{ type: 'tool_use', name: 'f', input: {} }] }],
    };
    expect(refusal(noId).param).toBe('messages[0].content[0].id');
    const badSource = {
      ...base,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', data: 'x' } }] }],
    };
    expect(refusal(badSource).param).toBe('messages[0].content[0].source.media_type');
  });

  it('lets block types it does not know pass, for an Anthropic target to judge', () => {
    const body = {
      ...base,
      messages: [
        { role: 'user', content: [{ type: 'search_result', source: 'x', title: 't', content: [] }] },
      ],
    };
    expect(parse(body).messages[0]?.content).toHaveLength(1);
  });

  it('refuses a tool_choice of type tool without a name, and a role it does not know', () => {
    expect(refusal({ ...base, tool_choice: { type: 'tool' } }).param).toBe('tool_choice.name');
    expect(refusal({ ...base, messages: [{ role: 'tool', content: 'x' }] }).param).toBe('messages[0].role');
  });

  it('bounds lists: tools', () => {
    const tools = Array.from({ length: MAX_TOOLS + 1 }, (_, i) => ({ name: `t${i}`, input_schema: {} }));
    expect(refusal({ ...base, tools }).param).toBe('tools');
  });

  it('keeps temperature in Anthropic’s range (0–1)', () => {
    expect(refusal({ ...base, temperature: 1.5 }).param).toBe('temperature');
  });
});

describe('countTokensRequestSchema', () => {
  it('takes the counted fields without max_tokens', () => {
    const body: Anthropic.MessageCountTokensParams = {
      model: 'claude-sonnet-4-5',
      messages: [{ role: 'user', content: 'Hello' }],
      system: 'Be brief.',
    };
    expect(parseBody(countTokensRequestSchema, body).system).toBe('Be brief.');
  });
});
