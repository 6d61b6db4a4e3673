import { describe, expect, it } from 'vitest';
import {
  MessagesFromChatReader,
  readMessagesFromChat,
} from '../../../../functions/core/endpoints/messages/from-chat-reader.ts';
import { ChatStreamReader } from '../../../../functions/core/endpoints/openai/readers.ts';
import {
  mergePieces,
  NotAnAnswerError,
  type StreamPiece,
} from '../../../../functions/core/endpoints/types.ts';
import type { Json } from '../../../../functions/core/json.ts';
import { parseEvents } from '../../../../functions/core/sse/splitter.ts';
import { chatChunkFrames, chatCompletionBody, usageObject } from '../../../support/fake-openai-stream.ts';

const enc = new TextEncoder();
const ctx = { model: 'claude-route', requestId: 'req-9' };
const answer = {
  id: 'chatcmpl-r1',
  created: 1,
  model: 'gpt-4o-mini',
  n: 1,
  content: 'Bonjour à tous',
  tool: undefined,
  usage: usageObject(20, 4, 5),
};
const STREAM = `${chatChunkFrames(answer, 3, true).join('')}data: [DONE]\n\n`;

function run(bytes: Uint8Array, step: number): { merged: StreamPiece; pieces: StreamPiece[] } {
  const reader = new MessagesFromChatReader(new ChatStreamReader(), ctx);
  const pieces: StreamPiece[] = [];
  for (let at = 0; at < bytes.length; at += step) pieces.push(reader.push(bytes.subarray(at, at + step)));
  pieces.push(reader.end());
  return { merged: pieces.reduce(mergePieces), pieces };
}

const types = (text: string): string[] => parseEvents(text).map((e) => String(e.event));

describe('MessagesFromChatReader', () => {
  it('turns a chat stream into Messages events, however its bytes are cut', () => {
    const bytes = enc.encode(STREAM);
    for (const step of [1, 5, 64, bytes.length]) {
      const { merged } = run(bytes, step);
      expect(types(merged.text)).toEqual([
        'message_start',
        'ping',
        'content_block_start',
        ...Array(5).fill('content_block_delta'),
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
      const deltas = parseEvents(merged.text)
        .map((e) => JSON.parse(e.data) as Json)
        .filter((d) => d.type === 'content_block_delta')
        .map((d) => (d.delta as { text: string }).text);
      expect(deltas.join('')).toBe('Bonjour à tous');
    }
  });

  it('keeps what the inner reader learnt (usage, id, done, started) and drops the chat usage chunk', () => {
    const { merged } = run(enc.encode(STREAM), 4096);
    expect(merged).toMatchObject({
      usage: { inputTokens: 20, outputTokens: 4, cachedInputTokens: 5 },
      upstreamId: 'chatcmpl-r1',
      started: true,
      done: true,
    });
    expect(merged.usageChunk).toBeUndefined();
    const delta = parseEvents(merged.text)
      .map((e) => JSON.parse(e.data) as Json)
      .find((d) => d.type === 'message_delta');
    expect(delta?.usage).toEqual({
      input_tokens: 15,
      output_tokens: 4,
      cache_read_input_tokens: 5,
      cache_creation_input_tokens: 0,
    });
  });

  it('passes a failure on without an event of its own (the relay writes the error), and reads nothing after', () => {
    const frames = chatChunkFrames(answer, 3, true);
    const failing = `${frames.slice(0, 3).join('')}data: {"error":{"message":"boom","type":"server_error"}}\n\n`;
    const reader = new MessagesFromChatReader(new ChatStreamReader(), ctx);
    const piece = reader.push(enc.encode(failing));
    expect(piece.failure).toMatchObject({ kind: 'server', message: 'boom' });
    expect(types(piece.text)).not.toContain('error');
    expect(types(piece.text)).not.toContain('message_stop');
    expect(reader.push(enc.encode('data: [DONE]\n\n'))).toEqual({ text: '' });
  });

  it('writes no message_stop for a stream cut before done', () => {
    const cut = chatChunkFrames(answer, 3, true).slice(0, 4).join('');
    const { merged } = run(enc.encode(cut), 4096);
    expect(merged.done).toBeUndefined();
    expect(types(merged.text)).not.toContain('message_stop');
  });
});

describe('readMessagesFromChat', () => {
  it('turns the chat answer text into a message, keeping usage and id', () => {
    const read = readMessagesFromChat(
      {
        text: chatCompletionBody(answer),
        usage: { inputTokens: 20, outputTokens: 4 },
        upstreamId: 'chatcmpl-r1',
      },
      ctx,
    );
    expect(read.upstreamId).toBe('chatcmpl-r1');
    expect(read.usage).toEqual({ inputTokens: 20, outputTokens: 4 });
    expect(JSON.parse(read.text)).toMatchObject({
      id: 'msg_r1',
      type: 'message',
      content: [{ type: 'text', text: 'Bonjour à tous' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 20, output_tokens: 4 },
    });
  });

  it('refuses a text that is no chat answer', () => {
    expect(() => readMessagesFromChat({ text: 'nope' }, ctx)).toThrow(NotAnAnswerError);
    expect(() => readMessagesFromChat({ text: '{"object":"list"}' }, ctx)).toThrow(NotAnAnswerError);
  });
});
