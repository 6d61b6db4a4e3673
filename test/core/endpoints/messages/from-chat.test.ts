import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import {
  ChatToMessagesStream,
  type MessagesContext,
  messageFromChat,
} from '../../../../functions/core/endpoints/messages/from-chat.ts';
import { RateLimitError } from '../../../../functions/core/errors.ts';
import type { Json } from '../../../../functions/core/json.ts';
import { parseEvents } from '../../../../functions/core/sse/splitter.ts';
import { chatChunkFrames, chatCompletionBody, usageObject } from '../../../support/fake-openai-stream.ts';

const ctx: MessagesContext = { model: 'claude-route', requestId: 'req-1', stopSequences: ['END'] };

function completion(message: Json, finish: string, extra: Json = {}): Json {
  return {
    id: 'chatcmpl-AbC123',
    object: 'chat.completion',
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish, ...extra }],
    usage: {
      prompt_tokens: 100,
      completion_tokens: 20,
      total_tokens: 120,
      prompt_tokens_details: { cached_tokens: 60, cache_write_tokens: 10 },
    },
  };
}

describe('messageFromChat', () => {
  it('writes a text answer as a message with msg_ id, end_turn and usage split by cache', () => {
    const msg = messageFromChat(
      completion({ content: 'Hello!' }, 'stop'),
      ctx,
    ) as unknown as Anthropic.Message;
    expect(msg).toEqual({
      id: 'msg_AbC123',
      type: 'message',
      role: 'assistant',
      model: 'gpt-4o-mini',
      content: [{ type: 'text', text: 'Hello!' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      // 100 prompt tokens = 30 uncached + 60 cache reads + 10 cache writes
      usage: {
        input_tokens: 30,
        output_tokens: 20,
        cache_read_input_tokens: 60,
        cache_creation_input_tokens: 10,
      },
    });
  });

  it('writes tool calls as tool_use blocks with parsed input, after the text', () => {
    const msg = messageFromChat(
      completion(
        {
          content: 'Checking.',
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
            {
              id: 'functions.lookup:1',
              type: 'function',
              function: { name: 'lookup', arguments: 'not json' },
            },
          ],
        },
        'tool_calls',
      ),
      ctx,
    );
    expect(msg.content).toEqual([
      { type: 'text', text: 'Checking.' },
      { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
      // an id Anthropic would refuse back is made safe; arguments that are no JSON object read as {}
      { type: 'tool_use', id: 'functions_lookup_1', name: 'lookup', input: {} },
    ]);
    expect(msg.stop_reason).toBe('tool_use');
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
    ['something_new', 'end_turn'],
  ])('maps finish_reason %s to stop_reason %s', (finish, stop) => {
    expect(messageFromChat(completion({ content: 'x' }, finish), ctx).stop_reason).toBe(stop);
  });

  it('says stop_sequence when the relay reports which requested sequence matched', () => {
    const msg = messageFromChat(completion({ content: 'x' }, 'stop', { stop_reason: 'END' }), ctx);
    expect(msg).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
    const other = messageFromChat(completion({ content: 'x' }, 'stop', { stop_reason: 'OTHER' }), ctx);
    expect(other).toMatchObject({ stop_reason: 'end_turn', stop_sequence: null });
  });

  it('calls a stop with tool calls tool_use, and a refusal text', () => {
    const tool = { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } };
    expect(messageFromChat(completion({ content: null, tool_calls: [tool] }, 'stop'), ctx).stop_reason).toBe(
      'tool_use',
    );
    const refused = messageFromChat(
      completion({ content: null, refusal: 'I cannot.' }, 'content_filter'),
      ctx,
    );
    expect(refused).toMatchObject({ content: [{ type: 'text', text: 'I cannot.' }], stop_reason: 'refusal' });
  });

  it('lets the usage the gateway read win, and names the context model when the answer names none', () => {
    const { model: _, ...noModel } = completion({ content: 'x' }, 'stop');
    const msg = messageFromChat(noModel, ctx, { inputTokens: 7, outputTokens: 2 });
    expect(msg.model).toBe('claude-route');
    expect(msg.usage).toEqual({
      input_tokens: 7,
      output_tokens: 2,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    });
  });
});

/** Feeds chat SSE frames (as fake-openai sends them) and returns the Messages events written. */
function translate(frames: string[], finish = true): { type: string; data: Json }[] {
  const s = new ChatToMessagesStream({ ...ctx, inputTokens: 9 });
  let text = '';
  for (const f of frames) for (const ev of parseEvents(f)) text += s.push(JSON.parse(ev.data) as Json);
  if (finish) text += s.finish({ done: true });
  return parseEvents(text).map((ev) => {
    const data = JSON.parse(ev.data) as Json;
    expect(ev.event).toBe(data.type); // `event:` names the data's type, as Anthropic's do
    return { type: String(data.type), data };
  });
}

const answer = {
  id: 'chatcmpl-xyz',
  created: 1,
  model: 'gpt-4o-mini',
  n: 1,
  content: 'Hello there',
  tool: undefined,
  usage: usageObject(11, 3, 4),
};

describe('ChatToMessagesStream', () => {
  it('writes the documented sequence for a text answer, with usage in message_delta', () => {
    const events = translate(chatChunkFrames(answer, 4, true));
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0]?.data.message).toMatchObject({
      id: 'msg_xyz',
      role: 'assistant',
      content: [],
      usage: { input_tokens: 9, output_tokens: 0 },
    });
    expect(events[2]?.data).toEqual({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    });
    const text = events
      .filter((e) => e.type === 'content_block_delta')
      .map((e) => (e.data.delta as { text: string }).text)
      .join('');
    expect(text).toBe('Hello there');
    expect(events[7]?.data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: {
        input_tokens: 7,
        output_tokens: 3,
        cache_read_input_tokens: 4,
        cache_creation_input_tokens: 0,
      },
    });
  });

  it('writes a tool call as a tool_use block with input_json_delta parts', () => {
    const frames = chatChunkFrames(
      { ...answer, content: null, tool: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      5,
      true,
    );
    const events = translate(frames);
    const start = events.find((e) => e.type === 'content_block_start');
    expect(start?.data).toMatchObject({
      index: 0,
      content_block: { type: 'tool_use', name: 'get_weather', input: {} },
    });
    const json = events
      .filter((e) => e.type === 'content_block_delta')
      .map((e) => (e.data.delta as { type: string; partial_json: string }).partial_json)
      .join('');
    expect(json).toBe('{"city":"Paris"}');
    expect(events.find((e) => e.type === 'message_delta')?.data.delta).toEqual({
      stop_reason: 'tool_use',
      stop_sequence: null,
    });
  });

  it('closes the text block before a tool block, and numbers blocks in order', () => {
    const chunk = (delta: Json, finish: string | null = null): string =>
      `data: ${JSON.stringify({ id: 'c1', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const events = translate([
      chunk({ role: 'assistant', content: 'Let me look.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'a', arguments: '{}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', function: { name: 'b', arguments: '{"x":1}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    expect(events.map((e) => `${e.type}${e.data.index === undefined ? '' : `#${e.data.index}`}`)).toEqual([
      'message_start',
      'ping',
      'content_block_start#0',
      'content_block_delta#0',
      'content_block_stop#0',
      'content_block_start#1',
      'content_block_delta#1',
      'content_block_stop#1',
      'content_block_start#2',
      'content_block_delta#2',
      'content_block_stop#2',
      'message_delta',
      'message_stop',
    ]);
  });

  it('ends with `event: error` (and no message_stop) on an error or a stream that is not done', () => {
    const s = new ChatToMessagesStream(ctx);
    const head = s.push({ id: 'c', choices: [{ index: 0, delta: { content: 'Hi' } }] });
    expect(head).toContain('event: content_block_delta');
    const tail = s.finish({ done: false, error: new RateLimitError({ code: 'x', message: 'slow down' }) });
    expect(parseEvents(tail).map((e) => [e.event, JSON.parse(e.data)])).toEqual([
      [
        'error',
        { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' }, request_id: 'req-1' },
      ],
    ]);
    expect(s.finish({ done: true })).toBe('');
    const cut = new ChatToMessagesStream(ctx);
    cut.push({ id: 'c', choices: [{ index: 0, delta: { content: 'Hi' } }] });
    expect(parseEvents(cut.finish({ done: false }))[0]?.data).toContain('"api_error"');
  });

  it('writes message_start when the answer was done before any chunk', () => {
    const s = new ChatToMessagesStream(ctx);
    const types = parseEvents(s.finish({ done: true, usage: { inputTokens: 3, outputTokens: 0 } })).map(
      (e) => e.event,
    );
    expect(types).toEqual(['message_start', 'ping', 'message_delta', 'message_stop']);
  });
});

describe('fake-openai answers (wire check)', () => {
  it('translates a whole fake completion body', () => {
    const body = JSON.parse(chatCompletionBody(answer)) as Json;
    expect(messageFromChat(body, ctx)).toMatchObject({
      content: [{ type: 'text', text: 'Hello there' }],
      usage: { input_tokens: 7, output_tokens: 3, cache_read_input_tokens: 4 },
    });
  });
});
