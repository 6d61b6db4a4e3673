import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import {
  MessagesStreamReader,
  messagesUsage,
  readMessagesBody,
} from '../../../../functions/core/endpoints/messages/readers.ts';
import {
  mergePieces,
  NotAnAnswerError,
  type StreamPiece,
} from '../../../../functions/core/endpoints/types.ts';

const enc = new TextEncoder();
const sse = (e: { type: string }): string => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

/** A streamed answer as Anthropic sends it (the streaming doc's example: text, then a tool call). */
const EVENTS: Anthropic.RawMessageStreamEvent[] = [
  {
    type: 'message_start',
    message: {
      id: 'msg_01ABC',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: 25,
        output_tokens: 1,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 40,
      },
    } as unknown as Anthropic.Message,
  },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '', citations: null } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Héllo ' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'wörld' } },
  { type: 'content_block_stop', index: 0 },
  {
    type: 'content_block_start',
    index: 1,
    content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} },
  } as Anthropic.RawMessageStreamEvent,
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } },
  { type: 'content_block_stop', index: 1 },
  {
    type: 'message_delta',
    delta: { stop_reason: 'tool_use', stop_sequence: null },
    usage: { output_tokens: 42 },
  } as Anthropic.RawMessageStreamEvent,
  { type: 'message_stop' },
];
const PING = 'event: ping\ndata: {"type": "ping"}\n\n';
const STREAM = sse(EVENTS[0] as Anthropic.RawMessageStreamEvent) + PING + EVENTS.slice(1).map(sse).join('');

/** Feeds the bytes cut at the given offsets, then ends; returns every piece merged. */
function readAll(bytes: Uint8Array, cuts: number[]): { merged: StreamPiece; pieces: StreamPiece[] } {
  const reader = new MessagesStreamReader();
  const pieces: StreamPiece[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    pieces.push(reader.push(bytes.subarray(at, cut)));
    at = cut;
  }
  pieces.push(reader.end());
  return { merged: pieces.reduce(mergePieces), pieces };
}

describe('MessagesStreamReader', () => {
  it('passes every event through as it came, wherever the chunks are cut (UTF-8 characters included)', () => {
    const bytes = enc.encode(STREAM);
    for (let cut = 1; cut < bytes.length; cut += 7) {
      const { merged } = readAll(bytes, [cut, Math.min(bytes.length, cut + 3)]);
      expect(merged.text).toBe(STREAM);
      expect(merged.done).toBe(true);
    }
  });

  it('tells the id, the cumulative usage in the gateway’s meaning, started, and done', () => {
    const { merged } = readAll(enc.encode(STREAM), []);
    expect(merged).toMatchObject({ upstreamId: 'msg_01ABC', started: true, done: true });
    // input = 25 uncached + 100 cache reads + 40 cache writes; output from message_delta
    expect(merged.usage).toEqual({
      inputTokens: 165,
      outputTokens: 42,
      cachedInputTokens: 100,
      cacheWriteTokens: 40,
    });
  });

  it('says started only at the first delta (message_start, ping and an empty block start are not the answer)', () => {
    const reader = new MessagesStreamReader();
    const head = reader.push(enc.encode(sse(EVENTS[0] as Anthropic.RawMessageStreamEvent) + PING));
    expect(head.started).toBeUndefined();
    expect(head.upstreamId).toBe('msg_01ABC');
    expect(head.usage).toMatchObject({ inputTokens: 165, outputTokens: 1 });
    const block = reader.push(enc.encode(sse(EVENTS[1] as Anthropic.RawMessageStreamEvent)));
    expect(block.started).toBeUndefined();
    const delta = reader.push(enc.encode(sse(EVENTS[2] as Anthropic.RawMessageStreamEvent)));
    expect(delta.started).toBe(true);
    expect(delta.done).toBeUndefined();
  });

  it('an overloaded_error right after an empty content block start is a failure before the start (fails over)', () => {
    const reader = new MessagesStreamReader();
    const error = `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`;
    const piece = reader.push(
      enc.encode(
        sse(EVENTS[0] as Anthropic.RawMessageStreamEvent) +
          sse(EVENTS[1] as Anthropic.RawMessageStreamEvent) +
          error,
      ),
    );
    expect(piece.failure).toMatchObject({ kind: 'server', message: 'Overloaded' });
    expect(piece.started).toBeUndefined();
  });

  it.each([
    ['overloaded_error', 'Overloaded', 'server'],
    ['rate_limit_error', 'slow down', 'rate_limited'],
    ['invalid_request_error', 'prompt is too long', 'bad_request'],
  ])(
    'reads an `event: error` of type %s as a failure (%s → %s) and keeps it out of the text',
    (type, message, kind) => {
      const reader = new MessagesStreamReader();
      const error = `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, message } })}\n\n`;
      const first = sse(EVENTS[0] as Anthropic.RawMessageStreamEvent);
      const piece = reader.push(
        enc.encode(first + error + sse(EVENTS[1] as Anthropic.RawMessageStreamEvent)),
      );
      expect(piece.text).toBe(first);
      expect(piece.failure).toEqual({ kind, message, type, code: type });
      expect(reader.push(enc.encode(sse({ type: 'message_stop' })))).toEqual({ text: '' });
      expect(reader.end()).toEqual({ text: '' });
    },
  );

  it('reads events that come without their `event:` line by their data’s type', () => {
    const bare = STREAM.split('\n')
      .filter((l) => !l.startsWith('event: '))
      .join('\n');
    const { merged } = readAll(enc.encode(bare), []);
    expect(merged.text).toBe(bare);
    expect(merged).toMatchObject({
      upstreamId: 'msg_01ABC',
      started: true,
      done: true,
      usage: { outputTokens: 42 },
    });
  });

  it('closes the last event when the body ends without its blank line', () => {
    const reader = new MessagesStreamReader();
    reader.push(enc.encode(STREAM.slice(0, -2)));
    const last = reader.end();
    expect(last.done).toBe(true);
  });

  it('reads thinking tokens as reasoning tokens', () => {
    const reader = new MessagesStreamReader();
    const delta = {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 10, output_tokens: 300, output_tokens_details: { thinking_tokens: 250 } },
    };
    expect(reader.push(enc.encode(sse(delta))).usage).toEqual({
      inputTokens: 10,
      outputTokens: 300,
      cachedInputTokens: 0,
      reasoningTokens: 250,
    });
  });
});

describe('readMessagesBody', () => {
  const message: Anthropic.Message = {
    id: 'msg_01XYZ',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content: [{ type: 'text', text: 'Hi!', citations: null }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 3, cache_read_input_tokens: 8, cache_creation_input_tokens: 0 },
  } as unknown as Anthropic.Message;

  it('keeps the body as it came and reads its id and usage', () => {
    const body = JSON.stringify(message, null, 1);
    expect(readMessagesBody(body)).toEqual({
      text: body,
      upstreamId: 'msg_01XYZ',
      usage: { inputTokens: 20, outputTokens: 3, cachedInputTokens: 8 },
    });
  });

  it('refuses a body that is no message, with the failure when it is an error body', () => {
    expect(() => readMessagesBody('<html>')).toThrow(NotAnAnswerError);
    expect(() => readMessagesBody('{"type":"completion"}')).toThrow(NotAnAnswerError);
    try {
      readMessagesBody('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(NotAnAnswerError);
      expect((err as NotAnAnswerError).failure).toMatchObject({ kind: 'server', type: 'overloaded_error' });
    }
  });
});

describe('messagesUsage', () => {
  it('is undefined without counts', () => {
    expect(messagesUsage(undefined)).toBeUndefined();
    expect(messagesUsage({})).toBeUndefined();
  });
});
