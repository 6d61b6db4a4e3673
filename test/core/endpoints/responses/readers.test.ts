import { describe, expect, it } from 'vitest';
import {
  ResponsesStreamReader,
  readResponsesBody,
  responsesOutputText,
  responsesUsage,
} from '../../../../functions/core/endpoints/responses/readers.ts';
import {
  mergePieces,
  NotAnAnswerError,
  type StreamPiece,
} from '../../../../functions/core/endpoints/types.ts';
import type { Json } from '../../../../functions/core/json.ts';

const ev = (type: string, seq: number, fields: Json = {}): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq, ...fields })}\n\n`;

const response = (status: string, extra: Json = {}): Json => ({
  id: 'resp_up1',
  object: 'response',
  status,
  output: [],
  usage: null,
  ...extra,
});
const usage = {
  input_tokens: 30,
  input_tokens_details: { cached_tokens: 10 },
  output_tokens: 7,
  output_tokens_details: { reasoning_tokens: 2 },
  total_tokens: 37,
};

const head =
  ev('response.created', 0, { response: response('in_progress') }) +
  ev('response.in_progress', 1, { response: response('in_progress') });
const answer = [
  ev('response.output_item.added', 2, {
    output_index: 0,
    item: { id: 'msg_1', type: 'message', status: 'in_progress', role: 'assistant', content: [] },
  }),
  ev('response.content_part.added', 3, {
    item_id: 'msg_1',
    output_index: 0,
    content_index: 0,
    part: { type: 'output_text', text: '', annotations: [] },
  }),
  ev('response.output_text.delta', 4, {
    item_id: 'msg_1',
    output_index: 0,
    content_index: 0,
    delta: 'Grüße, ',
  }),
  ev('response.output_text.delta', 5, {
    item_id: 'msg_1',
    output_index: 0,
    content_index: 0,
    delta: 'world',
  }),
].join('');
const completed = ev('response.completed', 6, { response: response('completed', { usage }) });

const bytes = (s: string) => new TextEncoder().encode(s);

/** Feeds `text` in chunks of `size` bytes (splitting events and UTF-8 characters), then ends. */
function readAll(text: string, size: number): { pieces: StreamPiece[]; reader: ResponsesStreamReader } {
  const reader = new ResponsesStreamReader();
  const all = bytes(text);
  const pieces: StreamPiece[] = [];
  for (let i = 0; i < all.length; i += size) pieces.push(reader.push(all.subarray(i, i + size)));
  pieces.push(reader.end());
  return { pieces, reader };
}
const merged = (pieces: StreamPiece[]) => pieces.reduce(mergePieces, { text: '' });

describe('ResponsesStreamReader', () => {
  it('passes the events through whole, as they came, however the bytes are cut', () => {
    for (const size of [1, 7, 64, 100_000]) {
      const { pieces } = readAll(head + answer + completed, size);
      expect(merged(pieces).text).toBe(head + answer + completed);
      for (const p of pieces) expect(p.text === '' || p.text.endsWith('\n\n')).toBe(true);
    }
  });

  it('holds the empty item and part (not the start): an error after them is a failure before the start', () => {
    const reader = new ResponsesStreamReader();
    reader.push(bytes(head));
    const [added, part] = answer.split('\n\n').filter((b) => b !== '');
    const held = reader.push(bytes(`${added}\n\n${part}\n\n`));
    expect(held.started).toBeUndefined();
    const error = ev('error', 4, { code: 'server_error', message: 'overloaded' });
    const failed = reader.push(bytes(error));
    expect(failed.failure).toMatchObject({ message: 'overloaded' });
    expect(failed.started).toBeUndefined();
  });

  it('says the upstream id at response.created, started at the first delta, usage and done at the end', () => {
    const reader = new ResponsesStreamReader();
    const first = reader.push(bytes(head));
    expect(first).toEqual({ text: head, upstreamId: 'resp_up1' });
    const body = reader.push(bytes(answer));
    expect(body.started).toBe(true);
    expect(body.done).toBeUndefined();
    const end = reader.push(bytes(completed));
    expect(end.done).toBe(true);
    expect(end.usage).toEqual({
      inputTokens: 30,
      outputTokens: 7,
      cachedInputTokens: 10,
      reasoningTokens: 2,
    });
    expect(reader.nextSequenceNumber).toBe(7);
  });

  it('takes response.incomplete as a complete answer with its usage', () => {
    const incomplete = ev('response.incomplete', 6, {
      response: response('incomplete', { usage, incomplete_details: { reason: 'max_output_tokens' } }),
    });
    const p = merged(readAll(head + answer + incomplete, 50).pieces);
    expect(p.done).toBe(true);
    expect(p.usage?.outputTokens).toBe(7);
  });

  it('fails on response.failed by its code, keeping the failed event and all after it out of the text', () => {
    const failed = ev('response.failed', 6, {
      response: response('failed', { error: { code: 'rate_limit_exceeded', message: 'Slow down' } }),
    });
    const reader = new ResponsesStreamReader();
    const p = reader.push(bytes(head + answer + failed + completed));
    expect(p.text).toBe(head + answer);
    expect(p.failure).toEqual({ kind: 'rate_limited', message: 'Slow down', code: 'rate_limit_exceeded' });
    expect(p.done).toBeUndefined();
    expect(reader.push(bytes(completed))).toEqual({ text: '' });
    expect(reader.nextSequenceNumber).toBe(6);
  });

  it('fails on an error event, flat as documented or nested as the live API sends it', () => {
    const flat = new ResponsesStreamReader().push(
      bytes(head + ev('error', 2, { code: 'server_error', message: 'boom', param: null })),
    );
    expect(flat.failure).toEqual({ kind: 'server', message: 'boom', code: 'server_error' });
    const nested = new ResponsesStreamReader().push(
      bytes(
        head +
          ev('error', 2, {
            error: {
              type: 'invalid_request_error',
              code: 'context_length_exceeded',
              message: 'too long',
              param: 'input',
            },
          }),
      ),
    );
    expect(nested.failure).toMatchObject({
      kind: 'bad_request',
      code: 'context_length_exceeded',
      message: 'too long',
    });
    expect(nested.text).toBe(head);
  });

  it('fails on a relay’s chat-style error event, and on an image the provider refused, as the client’s to fix', () => {
    const relay = new ResponsesStreamReader().push(
      bytes('data: {"error":{"message":"quota","type":"insufficient_quota"}}\n\n'),
    );
    expect(relay.failure).toMatchObject({ kind: 'balance', message: 'quota' });
    const image = new ResponsesStreamReader().push(
      bytes(
        ev('response.failed', 0, {
          response: response('failed', { error: { code: 'invalid_image_url', message: 'no' } }),
        }),
      ),
    );
    expect(image.failure?.kind).toBe('bad_request');
  });
});

describe('readResponsesBody', () => {
  const body = JSON.stringify(response('completed', { usage, output: [{ type: 'message', content: [] }] }));

  it('reads a Response object’s usage and id, and keeps its text as it came', () => {
    expect(readResponsesBody(body)).toEqual({
      text: body,
      usage: { inputTokens: 30, outputTokens: 7, cachedInputTokens: 10, reasoningTokens: 2 },
      upstreamId: 'resp_up1',
      response: JSON.parse(body),
    });
  });

  it('refuses what is no Response object, with the failure an error body says', () => {
    const notAnswer = (text: string): NotAnAnswerError => {
      try {
        readResponsesBody(text);
      } catch (err) {
        if (err instanceof NotAnAnswerError) return err;
        throw err;
      }
      throw new Error('expected NotAnAnswerError');
    };
    expect(notAnswer('<html>login</html>').why).toBe('a body that is not JSON');
    expect(notAnswer('').why).toBe('an empty body');
    expect(notAnswer('{"choices":[]}').why).toContain('no "output" list');
    const err = notAnswer('{"error":{"message":"Incorrect API key","code":"invalid_api_key"}}');
    expect(err.failure).toMatchObject({ kind: 'auth', message: 'Incorrect API key' });
    const failed = notAnswer(
      JSON.stringify(response('failed', { error: { code: 'server_error', message: 'x' } })),
    );
    expect(failed.failure?.kind).toBe('server');
  });
});

describe('responsesUsage', () => {
  it('reads counts with their details, cache writes only when there are some', () => {
    const withWrites = {
      usage: { ...usage, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 5 } },
    };
    expect(responsesUsage(withWrites)).toEqual({
      inputTokens: 30,
      outputTokens: 7,
      cachedInputTokens: 0,
      reasoningTokens: 2,
      cacheWriteTokens: 5,
    });
  });

  it('is undefined for no usage, null usage or usage without counts', () => {
    expect(responsesUsage({})).toBeUndefined();
    expect(responsesUsage({ usage: null })).toBeUndefined();
    expect(responsesUsage({ usage: { total_tokens: 9 } })).toBeUndefined();
  });
});

describe('responsesOutputText', () => {
  it('joins what the model wrote: text deltas and function call arguments, nothing else', () => {
    const args = ev('response.function_call_arguments.delta', 7, {
      item_id: 'fc_1',
      output_index: 1,
      delta: '{"a":1}',
    });
    expect(responsesOutputText([head, answer, args, completed])).toBe('Grüße, world{"a":1}');
    expect(responsesOutputText([head])).toBe('');
  });
});
