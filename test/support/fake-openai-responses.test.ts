import OpenAI, { APIError, NotFoundError, RateLimitError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ResponsesStreamReader } from '../../functions/core/endpoints/responses/readers.ts';
import { mergePieces, type StreamPiece } from '../../functions/core/endpoints/types.ts';
import { type FakeOpenAI, startFakeOpenAI } from './fake-openai.ts';

const KEY = 'sk-test-fake-key-1234';
const MODEL = 'gpt-4o-mini';
const weather: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  parameters: { type: 'object', properties: { location: { type: 'string' } } },
  strict: false,
};

let fake: FakeOpenAI;
let chatOnly: FakeOpenAI;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY });
  chatOnly = await startFakeOpenAI({ apiKey: KEY, responses: false });
  client = new OpenAI({ baseURL: fake.url, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
  await chatOnly.close();
});
beforeEach(() => {
  fake.reset();
});

describe('fake OpenAI upstream: /v1/responses', () => {
  it('answers responses.create with a Response object: the echo, usage by words, the request recorded', async () => {
    const r = await client.responses.create({
      model: MODEL,
      instructions: 'be brief',
      input: 'hello there, world',
    });
    expect(r.object).toBe('response');
    expect(r.id).toMatch(/^resp_/);
    expect(r.status).toBe('completed');
    expect(r.output_text).toBe('echo: hello there, world');
    expect(r.instructions).toBe('be brief');
    expect(r.usage).toEqual({
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 4,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 9,
    });
    expect(fake.requests[0]).toMatchObject({ path: '/v1/responses', body: { model: MODEL } });
  });

  it('calls the function when function tools are offered, and answers with its output on the next turn', async () => {
    const r = await client.responses.create({ model: MODEL, input: 'weather?', tools: [weather] });
    const call = r.output[0];
    expect(call).toMatchObject({
      type: 'function_call',
      name: 'get_weather',
      arguments: '{"location":"Paris"}',
    });
    if (call?.type !== 'function_call') throw new Error('expected a function call');
    const next = await client.responses.create({
      model: MODEL,
      tools: [weather],
      input: [
        { role: 'user', content: 'weather?' },
        call,
        { type: 'function_call_output', call_id: call.call_id, output: 'sunny' },
      ],
    });
    expect(next.output_text).toBe('tool said: sunny');
  });

  it('streams the documented events, which the SDK stream helper reads to the same Response', async () => {
    fake.enqueue({ usage: { prompt_tokens: 11, completion_tokens: 3, cached_tokens: 4 } });
    const stream = client.responses.stream({ model: MODEL, input: 'stream this please' });
    const types: string[] = [];
    stream.on('event', (e) => types.push(e.type));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('echo: stream this please');
    expect(final.usage?.input_tokens_details.cached_tokens).toBe(4);
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types.at(-1)).toBe('response.completed');
  });

  it('streams a function call’s arguments', async () => {
    fake.enqueue({ toolArguments: '{"location":"Rome"}', chunkSize: 4 });
    const final = await client.responses
      .stream({ model: MODEL, input: 'weather?', tools: [weather] })
      .finalResponse();
    expect(final.output[0]).toMatchObject({ type: 'function_call', arguments: '{"location":"Rome"}' });
  });

  it('answers an error status as its other paths do, and a chat-only relay has no /v1/responses', async () => {
    fake.enqueue({ status: 429 });
    await expect(client.responses.create({ model: MODEL, input: 'x' })).rejects.toBeInstanceOf(
      RateLimitError,
    );
    const relay = new OpenAI({ baseURL: chatOnly.url, apiKey: KEY, maxRetries: 0 });
    await expect(relay.responses.create({ model: MODEL, input: 'x' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('sends an error event first, or a response.failed, when told to', async () => {
    fake.enqueue({ streamErrorFirst: { message: 'overloaded', type: 'server_error', code: 'server_error' } });
    const stream = await client.responses.create({ model: MODEL, input: 'x', stream: true });
    const err = await (async () => {
      for await (const _ of stream) {
        // read to the end
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(APIError);
    fake.enqueue({ responseFailed: { code: 'server_error', message: 'it broke' } });
    const failed = await client.responses.stream({ model: MODEL, input: 'x' }).finalResponse();
    expect(failed.status).toBe('failed');
    expect(failed.error).toEqual({ code: 'server_error', message: 'it broke' });
  });

  it('speaks the wire the native pass-through reader reads: events whole, id, start, usage, done', async () => {
    const res = await fetch(`${fake.url}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, input: 'read me', stream: true }),
    });
    const raw = new Uint8Array(await res.arrayBuffer());
    const reader = new ResponsesStreamReader();
    const pieces: StreamPiece[] = [];
    for (let i = 0; i < raw.length; i += 13) pieces.push(reader.push(raw.subarray(i, i + 13)));
    pieces.push(reader.end());
    const all = pieces.reduce(mergePieces, { text: '' });
    expect(all.text).toBe(new TextDecoder().decode(raw));
    expect(all.upstreamId).toMatch(/^resp_/);
    expect(all).toMatchObject({ started: true, done: true, usage: { inputTokens: 2, outputTokens: 3 } });
    expect(all.failure).toBeUndefined();
  });
});
