import { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ResponsesFromChatReader,
  readResponsesFromChat,
} from '../../../../functions/core/endpoints/responses/from-chat-reader.ts';
import type { ResponseContext } from '../../../../functions/core/endpoints/responses/response-object.ts';
import {
  mergePieces,
  NotAnAnswerError,
  type StreamPiece,
  type StreamReader,
} from '../../../../functions/core/endpoints/types.ts';
import type { Json } from '../../../../functions/core/json.ts';
import { ChunkWriter, completionBody, PieceLog } from '../../../../functions/core/providers/openai/wire.ts';
import type { Usage } from '../../../../functions/core/providers/types.ts';
import { parseEvents } from '../../../../functions/core/sse/splitter.ts';
import { type SdkServer, startSdkServer } from './sdk-server.ts';

const ctx: ResponseContext = {
  id: 'resp_r1',
  createdAt: 1_700_000_000,
  model: 'claude-route',
  request: { model: 'claude-route', input: 'weather?', stream: true },
};
const usage: Usage = { inputTokens: 12, outputTokens: 6, cachedInputTokens: 2, reasoningTokens: 0 };

/**
 * Stands in for the gateway's chat pipeline reader: it hands out, one per push, the pieces a chat reader gives
 * for an answer (the text of whole `chat.completion.chunk` events, written by the gateway's own ChunkWriter).
 */
class ChatPieces implements StreamReader {
  private next = 0;
  constructor(private readonly pieces: readonly StreamPiece[]) {}
  push(): StreamPiece {
    return this.pieces[this.next++] ?? { text: '' };
  }
  end(): StreamPiece {
    return { text: '' };
  }
}

const log = new PieceLog();
const w = new ChunkWriter('chatcmpl-9', 'claude-x', 1, log);
/** The usage-only chunk, as the writer logs it for the piece (kept out of the text). */
function usageChunk(u: Usage): Json {
  w.usage(u);
  const chunk = log.take('').usageChunk;
  if (chunk === undefined) throw new Error('the writer logged no usage chunk');
  return chunk;
}
const chatAnswer: StreamPiece[] = [
  { text: w.delta({ role: 'assistant', content: '' }), upstreamId: 'chatcmpl-9' },
  { text: w.delta({ content: 'Sunny ' }) + w.delta({ content: 'in Paris.' }), started: true },
  {
    text:
      w.delta({
        tool_calls: [{ index: 0, id: 'toolu_1', type: 'function', function: { name: 'log', arguments: '' } }],
      }) +
      w.delta({ tool_calls: [{ index: 0, function: { arguments: '{"ok":true}' } }] }) +
      w.delta({}, 'tool_calls'),
    started: true,
  },
  { text: '', usageChunk: usageChunk(usage), usage, done: true },
];

function readAll(pieces: readonly StreamPiece[]): { reader: ResponsesFromChatReader; out: StreamPiece[] } {
  const reader = new ResponsesFromChatReader(new ChatPieces(pieces), ctx);
  const out = pieces.map(() => reader.push(new Uint8Array()));
  out.push(reader.end());
  return { reader, out };
}

let sdk: SdkServer;
beforeAll(async () => {
  sdk = await startSdkServer();
});
afterAll(async () => {
  await sdk.close();
});

describe('ResponsesFromChatReader', () => {
  it('forwards what the gateway needs from the chat pieces, and writes the Responses events as its text', () => {
    const { out } = readAll(chatAnswer);
    expect(out[0]).toMatchObject({ upstreamId: 'chatcmpl-9' });
    expect(out[0]?.started).toBeUndefined();
    expect(out[1]?.started).toBe(true);
    expect(out[3]).toMatchObject({ usage, done: true });
    const types = (p: StreamPiece | undefined) => parseEvents(p?.text ?? '').map((e) => e.event);
    expect(types(out[0])).toEqual(['response.created', 'response.in_progress']);
    expect(types(out[3]).at(-1)).toBe('response.completed');
    const done = JSON.parse(parseEvents(out[3]?.text ?? '').at(-1)?.data ?? '{}') as { response: Json };
    expect(done.response).toMatchObject({
      id: 'resp_r1',
      model: 'claude-route',
      status: 'completed',
      output_text: 'Sunny in Paris.',
      usage: { input_tokens: 12, output_tokens: 6, input_tokens_details: { cached_tokens: 2 } },
    });
  });

  it('makes a stream the official SDK reads to the same final Response the reader keeps', async () => {
    const { out, reader } = readAll(chatAnswer);
    sdk.answer(out.reduce(mergePieces, { text: '' }).text, 'text/event-stream');
    const final = await sdk.client.responses
      .stream({ model: 'claude-route', input: 'weather?' })
      .finalResponse();
    expect(final.output_text).toBe('Sunny in Paris.');
    expect(final.output).toMatchObject(reader.response().output as Json[]);
    const call = final.output.find((i) => i.type === 'function_call');
    expect(call).toMatchObject({ call_id: 'toolu_1', name: 'log', arguments: '{"ok":true}' });
  });

  it('forwards a failure without an end of its own; fail() writes the end the SDK raises', async () => {
    const failure = { kind: 'server' as const, message: 'overloaded' };
    const { out, reader } = readAll([
      chatAnswer[0] as StreamPiece,
      chatAnswer[1] as StreamPiece,
      { text: '', failure },
    ]);
    expect(out[2]).toEqual({ text: '', failure });
    const text = out.reduce(mergePieces, { text: '' }).text;
    expect(text).not.toContain('response.failed');
    const end = reader.fail({
      code: 'upstream_server_error',
      type: 'upstream_error',
      message: 'Stream interrupted.',
    });
    expect(parseEvents(end).map((e) => e.event)).toEqual(['response.failed', 'error']);
    expect(reader.response()).toMatchObject({ status: 'failed', output_text: 'Sunny in Paris.' });

    sdk.answer(text + end, 'text/event-stream');
    const stream = await sdk.client.responses.create({ model: 'claude-route', input: 'x', stream: true });
    const err = await (async () => {
      for await (const _ of stream) {
        // read to the end
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(APIError);
  });

  it('writes no end for a chat stream that stopped without done (the relay fails it)', () => {
    const { out } = readAll([chatAnswer[0] as StreamPiece, chatAnswer[1] as StreamPiece]);
    const text = out.reduce(mergePieces, { text: '' }).text;
    expect(text).not.toContain('response.completed');
    expect(text).toContain('response.output_text.delta');
  });
});

describe('readResponsesFromChat', () => {
  const body = completionBody({
    id: 'chatcmpl-7',
    model: 'gemini-x',
    created: 1,
    content: 'Hello',
    toolCalls: [{ id: 'call_1', name: 'f', arguments: '{}' }],
    finishReason: 'tool_calls',
    usage,
  });

  it('turns a whole chat answer into the Response, keeping the usage and id as read', () => {
    const read = readResponsesFromChat({ text: body, usage, upstreamId: 'chatcmpl-7' }, ctx);
    expect(read.usage).toBe(usage);
    expect(read.upstreamId).toBe('chatcmpl-7');
    expect(JSON.parse(read.text)).toEqual(read.response);
    expect(read.response).toMatchObject({ object: 'response', status: 'completed', output_text: 'Hello' });
    expect((read.response.output as Json[]).map((i) => i.type)).toEqual(['message', 'function_call']);
  });

  it('refuses a text that is no chat completion', () => {
    expect(() => readResponsesFromChat({ text: 'oops' }, ctx)).toThrow(NotAnAnswerError);
    expect(() => readResponsesFromChat({ text: '{"choices":[]}' }, ctx)).toThrow(NotAnAnswerError);
  });
});
