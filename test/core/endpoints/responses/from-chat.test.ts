import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseFromChat } from '../../../../functions/core/endpoints/responses/from-chat.ts';
import type { ResponseContext } from '../../../../functions/core/endpoints/responses/response-object.ts';
import { NotAnAnswerError } from '../../../../functions/core/endpoints/types.ts';
import type { Json } from '../../../../functions/core/json.ts';
import { type SdkServer, startSdkServer } from './sdk-server.ts';

const ctx = (request: Json = {}): ResponseContext => ({
  id: 'resp_abc',
  createdAt: 1_700_000_000,
  model: 'gpt-4o-mini',
  request: { model: 'gpt-4o-mini', input: 'hi', ...request },
});

const usage = {
  prompt_tokens: 40,
  completion_tokens: 12,
  total_tokens: 52,
  prompt_tokens_details: { cached_tokens: 8 },
  completion_tokens_details: { reasoning_tokens: 3 },
};

function completion(message: Json, finish = 'stop', withUsage = true): Json {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [
      { index: 0, message: { role: 'assistant', ...message }, finish_reason: finish, logprobs: null },
    ],
    ...(withUsage ? { usage } : {}),
  };
}

const twoCalls = completion(
  {
    content: 'Checking both.',
    tool_calls: [
      { id: 'call_p', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_r', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
    ],
  },
  'tool_calls',
);

let sdk: SdkServer;
beforeAll(async () => {
  sdk = await startSdkServer();
});
afterAll(async () => {
  await sdk.close();
});

describe('responseFromChat', () => {
  it('turns text and two tool calls into a message item and two function_call items, with usage', () => {
    const r = responseFromChat(twoCalls, ctx());
    expect(r).toMatchObject({
      id: 'resp_abc',
      object: 'response',
      created_at: 1_700_000_000,
      status: 'completed',
      error: null,
      incomplete_details: null,
      model: 'gpt-4o-mini',
      output_text: 'Checking both.',
      usage: {
        input_tokens: 40,
        input_tokens_details: { cached_tokens: 8 },
        output_tokens: 12,
        output_tokens_details: { reasoning_tokens: 3 },
        total_tokens: 52,
      },
    });
    expect(r.output).toEqual([
      {
        id: 'msg_abc_0',
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', annotations: [], logprobs: [], text: 'Checking both.' }],
      },
      {
        id: 'fc_abc_1',
        type: 'function_call',
        status: 'completed',
        arguments: '{"city":"Paris"}',
        call_id: 'call_p',
        name: 'get_weather',
      },
      {
        id: 'fc_abc_2',
        type: 'function_call',
        status: 'completed',
        arguments: '{"city":"Rome"}',
        call_id: 'call_r',
        name: 'get_weather',
      },
    ]);
  });

  it('echoes the request’s fields as OpenAI does, with its defaults for the ones left out', () => {
    const tools = [{ type: 'function', name: 'f', parameters: {}, strict: true }];
    const r = responseFromChat(
      completion({ content: 'ok' }),
      ctx({ instructions: 'be brief', temperature: 0.2, tools, metadata: { team: 'a' }, store: false }),
    );
    expect(r).toMatchObject({
      background: false,
      instructions: 'be brief',
      max_output_tokens: null,
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: false,
      temperature: 0.2,
      text: { format: { type: 'text' }, verbosity: 'medium' },
      tool_choice: 'auto',
      tools,
      top_p: 1,
      truncation: 'disabled',
      user: null,
      metadata: { team: 'a' },
    });
  });

  it('is incomplete for max_output_tokens when the chat answer stopped on its length', () => {
    const r = responseFromChat(
      completion({ content: 'a long ans' }, 'length'),
      ctx({ max_output_tokens: 16 }),
    );
    expect(r.status).toBe('incomplete');
    expect(r.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(r.max_output_tokens).toBe(16);
    expect((r.output as Json[])[0]?.status).toBe('incomplete');
  });

  it('has no message item for an answer that is only tool calls, and null usage when none came', () => {
    const only = completion(
      {
        content: null,
        tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
      },
      'tool_calls',
      false,
    );
    const r = responseFromChat(only, ctx());
    expect((r.output as Json[]).map((i) => i.type)).toEqual(['function_call']);
    expect(r.usage).toBeNull();
    expect(r.output_text).toBe('');
  });

  it('prefers the usage the gateway read when it is given', () => {
    const r = responseFromChat(completion({ content: 'x' }), ctx(), { inputTokens: 5, outputTokens: 1 });
    expect(r.usage).toMatchObject({ input_tokens: 5, output_tokens: 1, total_tokens: 6 });
  });

  it('refuses a completion without a choice', () => {
    expect(() => responseFromChat({ id: 'x', choices: [] }, ctx())).toThrow(NotAnAnswerError);
  });

  it('writes what the official openai SDK parses: responses.create gives the items, output_text and usage', async () => {
    sdk.answer(JSON.stringify(responseFromChat(twoCalls, ctx())));
    const r = await sdk.client.responses.create({ model: 'gpt-4o-mini', input: 'weather?' });
    expect(r.output_text).toBe('Checking both.');
    const calls = r.output.filter((i) => i.type === 'function_call');
    expect(calls.map((c) => [c.call_id, c.name, JSON.parse(c.arguments)])).toEqual([
      ['call_p', 'get_weather', { city: 'Paris' }],
      ['call_r', 'get_weather', { city: 'Rome' }],
    ]);
    expect(r.usage?.input_tokens_details.cached_tokens).toBe(8);
  });
});
