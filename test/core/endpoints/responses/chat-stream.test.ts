import { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatToResponsesStream } from '../../../../functions/core/endpoints/responses/from-chat.ts';
import type { ResponseContext } from '../../../../functions/core/endpoints/responses/response-object.ts';
import type { Json } from '../../../../functions/core/json.ts';
import { parseEvents } from '../../../../functions/core/sse/splitter.ts';
import { type SdkServer, startSdkServer } from './sdk-server.ts';

const ctx: ResponseContext = {
  id: 'resp_s1',
  createdAt: 1_700_000_000,
  model: 'gpt-4o-mini',
  request: { model: 'gpt-4o-mini', input: 'hi', stream: true },
};

const chunk = (delta: Json, finish: string | null = null): Json => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
});
const usageChunk: Json = {
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'gpt-4o-mini',
  choices: [],
  usage: {
    prompt_tokens: 20,
    completion_tokens: 9,
    total_tokens: 29,
    prompt_tokens_details: { cached_tokens: 4 },
    completion_tokens_details: { reasoning_tokens: 0 },
  },
};
const call = (index: number, header: { id: string; name: string } | undefined, args: string): Json =>
  chunk({
    tool_calls: [
      header === undefined
        ? { index, function: { arguments: args } }
        : { index, id: header.id, type: 'function', function: { name: header.name, arguments: args } },
    ],
  });

/** Text, then two tool calls with their arguments in pieces, then the finish and the usage chunk. */
const textAndTwoCalls: Json[] = [
  chunk({ role: 'assistant', content: '' }),
  chunk({ content: 'Checking ' }),
  chunk({ content: 'both.' }),
  call(0, { id: 'call_p', name: 'get_weather' }, ''),
  call(0, undefined, '{"city":'),
  call(0, undefined, '"Paris"}'),
  call(1, { id: 'call_r', name: 'get_weather' }, '{"city":"Rome"}'),
  chunk({}, 'tool_calls'),
  usageChunk,
];

function run(chunks: readonly Json[], end: Parameters<ChatToResponsesStream['finish']>[0] = { done: true }) {
  const s = new ChatToResponsesStream(ctx);
  let text = '';
  for (const c of chunks) text += s.push(c);
  text += s.finish(end);
  const events = parseEvents(text).map((e) => ({ name: e.event, data: JSON.parse(e.data) as Json }));
  return { s, text, events, types: events.map((e) => e.data.type) };
}

let sdk: SdkServer;
beforeAll(async () => {
  sdk = await startSdkServer();
});
afterAll(async () => {
  await sdk.close();
});

describe('ChatToResponsesStream', () => {
  it('writes the documented events for a text answer, numbered from 0, named as their type', () => {
    const { events, types } = run([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo' }),
      chunk({}, 'stop'),
      usageChunk,
    ]);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.every((e) => e.name === e.data.type)).toBe(true);
    expect(events[0]?.data.response).toMatchObject({
      id: 'resp_s1',
      status: 'in_progress',
      output: [],
      usage: null,
    });
    expect(events[6]?.data).toMatchObject({
      item_id: 'msg_s1_0',
      output_index: 0,
      content_index: 0,
      text: 'Hello',
    });
    expect(events[9]?.data.response).toMatchObject({
      status: 'completed',
      output_text: 'Hello',
      usage: {
        input_tokens: 20,
        input_tokens_details: { cached_tokens: 4 },
        output_tokens: 9,
        total_tokens: 29,
      },
    });
  });

  it('closes the text before a tool call starts, and each call with its arguments at the end', () => {
    const { events, types, s } = run(textAndTwoCalls);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events[9]?.data.item).toEqual({
      id: 'fc_s1_1',
      type: 'function_call',
      status: 'in_progress',
      arguments: '',
      call_id: 'call_p',
      name: 'get_weather',
    });
    expect(events[14]?.data).toMatchObject({
      item_id: 'fc_s1_1',
      name: 'get_weather',
      arguments: '{"city":"Paris"}',
    });
    const final = events.at(-1)?.data.response as Json;
    expect(final).toEqual(s.response());
    expect((final.output as Json[]).map((i) => [i.type, i.status, i.arguments ?? i.content])).toEqual([
      [
        'message',
        'completed',
        [{ type: 'output_text', annotations: [], logprobs: [], text: 'Checking both.' }],
      ],
      ['function_call', 'completed', '{"city":"Paris"}'],
      ['function_call', 'completed', '{"city":"Rome"}'],
    ]);
  });

  it('is parsed by the official openai SDK’s stream helper into the same final Response', async () => {
    const { text, s } = run(textAndTwoCalls);
    sdk.answer(text, 'text/event-stream');
    const stream = sdk.client.responses.stream({ model: 'gpt-4o-mini', input: 'weather?' });
    let deltas = '';
    stream.on('response.output_text.delta', (e) => {
      deltas += e.delta;
    });
    const final = await stream.finalResponse();
    expect(deltas).toBe('Checking both.');
    expect(final.output_text).toBe('Checking both.');
    // The SDK adds its own `parsed` fields; everything the stream said is there.
    expect(final.output).toMatchObject(s.response().output as Json[]);
    expect(final.usage?.total_tokens).toBe(29);
  });

  it('writes a refusal as its own part, and text after tool calls as a new message item, in output order', async () => {
    const { events, types, text, s } = run([
      chunk({ refusal: 'I cannot ' }),
      chunk({ refusal: 'do that.' }),
      call(0, { id: 'call_a', name: 'f' }, '{}'),
      chunk({ content: 'But here is why.' }),
      chunk({}, 'stop'),
    ]);
    expect(types).toContain('response.refusal.delta');
    expect(events.find((e) => e.data.type === 'response.refusal.done')?.data.refusal).toBe(
      'I cannot do that.',
    );
    const done = events
      .filter((e) => e.data.type === 'response.output_item.done')
      .map((e) => e.data.output_index);
    expect(done).toEqual([0, 1, 2]);
    const output = s.response().output as Json[];
    expect(output.map((i) => i.type)).toEqual(['message', 'function_call', 'message']);
    expect(output[0]?.content).toEqual([{ type: 'refusal', refusal: 'I cannot do that.' }]);

    sdk.answer(text, 'text/event-stream');
    const final = await sdk.client.responses.stream({ model: 'gpt-4o-mini', input: 'x' }).finalResponse();
    expect(final.output_text).toBe('But here is why.');
    expect(final.output).toMatchObject(output);
  });

  it('holds arguments that come before the call’s name until it can announce the call', () => {
    const { events } = run([
      chunk({ tool_calls: [{ index: 0, id: 'call_x', function: { arguments: '{"a"' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { name: 'f', arguments: ':1}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    const added = events.find((e) => e.data.type === 'response.output_item.added');
    expect(added?.data.item).toMatchObject({ name: 'f', call_id: 'call_x', arguments: '' });
    const deltas = events.filter((e) => e.data.type === 'response.function_call_arguments.delta');
    expect(deltas.map((e) => e.data.delta)).toEqual(['{"a":1}']);
  });

  it('ends incomplete, for max_output_tokens, when the chat stream stopped on its length', () => {
    const { events, types } = run([chunk({ content: 'cut sh' }), chunk({}, 'length')]);
    expect(types.at(-1)).toBe('response.incomplete');
    const r = events.at(-1)?.data.response as Json;
    expect(r.status).toBe('incomplete');
    expect(r.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect((r.output as Json[])[0]?.status).toBe('incomplete');
  });

  it('reports the usage finish is given when the upstream sent none (the gateway’s estimate)', () => {
    const { events } = run([chunk({ content: 'hi' }), chunk({}, 'stop')], {
      done: true,
      usage: { inputTokens: 3, outputTokens: 1 },
    });
    const last = events.at(-1)?.data.response as Json;
    expect(last.usage).toMatchObject({ input_tokens: 3, output_tokens: 1 });
  });

  it('fails with response.failed, then an error event the SDK raises as an APIError', async () => {
    const failure = { code: 'upstream_server_error', type: 'upstream_error', message: 'Stream interrupted.' };
    const { events, types, text, s } = run([chunk({ content: 'partial' })], { done: false, error: failure });
    expect(types.slice(-2)).toEqual(['response.failed', 'error']);
    const failed = events.at(-2)?.data.response as Json;
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'upstream_server_error', message: 'Stream interrupted.' },
    });
    expect((failed.output as Json[])[0]).toMatchObject({
      status: 'incomplete',
      content: [{ text: 'partial' }],
    });
    expect(events.at(-1)?.data).toMatchObject({
      code: 'upstream_server_error',
      message: 'Stream interrupted.',
      param: null,
      error: { type: 'upstream_error', code: 'upstream_server_error', message: 'Stream interrupted.' },
    });
    expect(s.response().status).toBe('failed');

    sdk.answer(text, 'text/event-stream');
    const stream = await sdk.client.responses.create({ model: 'gpt-4o-mini', input: 'hi', stream: true });
    const seen: string[] = [];
    const read = async () => {
      for await (const e of stream) seen.push(e.type);
    };
    const err = await read().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).message).toBe('Stream interrupted.');
    expect(seen).toContain('response.failed');
  });

  it('fails a stream that ended without its end, and writes nothing more after the end', () => {
    const { s, types } = run([chunk({ content: 'partial' })], { done: false });
    expect(types.slice(-2)).toEqual(['response.failed', 'error']);
    expect(s.response().error).toMatchObject({ code: 'server_error' });
    expect(s.finish({ done: true })).toBe('');
    expect(s.push(chunk({ content: 'more' }))).toBe('');
  });
});
