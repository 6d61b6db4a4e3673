/**
 * Claude on Bedrock, natively: the transport's InvokeModel / InvokeModelWithResponseStream with the real
 * @aws-sdk/client-bedrock-runtime against the loopback fake (AWS event-stream chunks with base64 `bytes`),
 * the body made by core/endpoints/messages/bedrock.ts, the answers read by the Messages readers — and the
 * stream served to the Anthropic SDK, which parses it as Anthropic's.
 */
import { createServer } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBedrockTransport } from '../../functions/aws/bedrock-transport.ts';
import {
  BEDROCK_ANTHROPIC_VERSION,
  bedrockInvokePath,
  bedrockMessagesBody,
} from '../../functions/core/endpoints/messages/bedrock.ts';
import { MessagesStreamReader, readMessagesBody } from '../../functions/core/endpoints/messages/readers.ts';
import { mergePieces, type StreamPiece } from '../../functions/core/endpoints/types.ts';
import type { Json } from '../../functions/core/json.ts';
import { REGION_HEADER } from '../../functions/core/providers/bedrock/adapter.ts';
import { parseBedrockError } from '../../functions/core/providers/bedrock/errors.ts';
import type { HttpClient, UpstreamHttpResponse } from '../../functions/core/providers/types.ts';
import { parseEvents } from '../../functions/core/sse/splitter.ts';
import { type FakeBedrock, startBedrockFake } from '../support/fake-bedrock.ts';
import { listenOnLoopback } from '../support/loopback.ts';

const KEY_ID = 'AKIDSWITCHYARDTEST';
const MODEL = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const decoder = new TextDecoder();

let fake: FakeBedrock;
let transport: HttpClient & { close(): void };

beforeAll(async () => {
  fake = await startBedrockFake({ accessKeyId: KEY_ID });
  transport = createBedrockTransport({
    credentials: { accessKeyId: KEY_ID, secretAccessKey: 'fake-secret' },
  });
});
afterAll(async () => {
  transport.close();
  await fake.close();
});
beforeEach(() => fake.reset());

const request = (text: string, extra: Json = {}): Json => ({
  model: 'claude-route',
  max_tokens: 256,
  messages: [{ role: 'user', content: text }],
  ...extra,
});

function invoke(body: Json, stream: boolean, signal = new AbortController().signal, beta?: string) {
  return transport.send({
    url: fake.url + bedrockInvokePath(MODEL, stream),
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-request-id': 'req-invoke-1',
      [REGION_HEADER]: 'us-east-1',
    },
    body: JSON.stringify(bedrockMessagesBody(body, { client: beta }).body),
    signal,
  });
}

async function chunksOf(res: UpstreamHttpResponse): Promise<string[]> {
  const out: string[] = [];
  for await (const c of res.body) out.push(decoder.decode(c));
  return out;
}

/** Reads a streamed answer with the native Messages reader, as the gateway does. */
async function read(res: UpstreamHttpResponse): Promise<StreamPiece> {
  const reader = new MessagesStreamReader();
  let merged: StreamPiece = { text: '' };
  for await (const chunk of res.body) merged = mergePieces(merged, reader.push(chunk));
  return mergePieces(merged, reader.end());
}

const dataOf = (sse: string): Json[] => parseEvents(sse).map((e) => JSON.parse(e.data) as Json);

describe('Bedrock transport: InvokeModel for Claude (real SDK → loopback Bedrock)', () => {
  it('sends the Messages body as Bedrock’s and answers the message JSON as it came', async () => {
    const res = await invoke(
      request('hello bedrock', { stream: false }),
      false,
      undefined,
      'interleaved-thinking-2025-05-14',
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const [text = ''] = await chunksOf(res);
    const read = readMessagesBody(text);
    expect(JSON.parse(read.text)).toMatchObject({
      type: 'message',
      model: 'claude-3-5-haiku-20241022',
      content: [{ type: 'text', text: 'echo: hello bedrock' }],
      stop_reason: 'end_turn',
    });
    expect(read.usage).toEqual({ inputTokens: 2, outputTokens: 3, cachedInputTokens: 0 });
    expect(read.upstreamId).toMatch(/^msg_/);
    const [rec] = fake.requests;
    expect(rec?.path).toBe(bedrockInvokePath(MODEL, false));
    expect(rec?.modelId).toBe(MODEL);
    expect(rec?.headers['x-request-id']).toBe('req-invoke-1');
    expect(rec?.headers[REGION_HEADER]).toBeUndefined();
    expect(String(rec?.headers.authorization)).toContain('/us-east-1/bedrock/aws4_request');
    expect(rec?.body).toEqual({
      anthropic_version: BEDROCK_ANTHROPIC_VERSION,
      anthropic_beta: ['interleaved-thinking-2025-05-14'],
      max_tokens: 256,
      messages: [{ role: 'user', content: 'hello bedrock' }],
    });
  });

  it('streams each chunk as one Anthropic SSE event, read by the Messages stream reader like Anthropic’s', async () => {
    fake.enqueue({
      chunkSize: 4,
      messagesUsage: { input_tokens: 5, cache_read_input_tokens: 100, output_tokens: 7 },
    });
    const res = await invoke(request('stream from bedrock', { stream: true }), true);
    expect(res.headers['content-type']).toBe('text/event-stream');
    const chunks = await chunksOf(res);
    for (const c of chunks) expect(c).toMatch(/^event: [a-z_]+\ndata: \{.*\}\n\n$/s);
    const events = chunks.map((c) => parseEvents(c)[0]);
    expect(events.map((e) => e?.event)).toEqual(
      expect.arrayContaining([
        'message_start',
        'content_block_start',
        'content_block_delta',
        'message_delta',
      ]),
    );
    expect(events.at(-1)?.event).toBe('message_stop');
    expect(JSON.parse(events.at(-1)?.data ?? '{}')).toHaveProperty('amazon-bedrock-invocationMetrics');

    fake.enqueue({
      chunkSize: 4,
      messagesUsage: { input_tokens: 5, cache_read_input_tokens: 100, output_tokens: 7 },
    });
    const piece = await read(await invoke(request('stream from bedrock', { stream: true }), true));
    const text = dataOf(piece.text)
      .filter((d) => d.type === 'content_block_delta')
      .map((d) => (d.delta as Json).text)
      .join('');
    expect(text).toBe('echo: stream from bedrock');
    expect(piece).toMatchObject({ done: true, started: true });
    expect(piece.upstreamId).toMatch(/^msg_/);
    expect(piece.usage).toEqual({ inputTokens: 105, outputTokens: 7, cachedInputTokens: 100 });
  });

  it('streams a tool call as input_json_delta parts', async () => {
    const tools = [
      { name: 'get_weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } },
    ];
    const piece = await read(await invoke(request('weather?', { tools, stream: true }), true));
    const json = dataOf(piece.text)
      .filter((d) => d.type === 'content_block_delta')
      .map((d) => (d.delta as Json).partial_json)
      .join('');
    expect(json).toBe('{"location":"Paris"}');
    expect(dataOf(piece.text).find((d) => d.type === 'message_delta')?.delta).toMatchObject({
      stop_reason: 'tool_use',
    });
  });

  it.each([
    ['throttlingException', 'rate_limit_error', 'rate_limited'],
    ['serviceUnavailableException', 'overloaded_error', 'server'],
    ['modelStreamErrorException', 'api_error', 'server'],
    ['validationException', 'invalid_request_error', 'bad_request'],
  ])(
    'ends the stream with Anthropic’s `event: error` for a mid-stream %s',
    async (type, anthropicType, kind) => {
      fake.enqueue({ streamException: { afterEvents: 3, type, message: `${type} now` } });
      const res = await invoke(request('a longer sentence to stream', { stream: true }), true);
      const chunks = await chunksOf(res);
      expect(parseEvents(chunks.at(-1) ?? '')[0]).toEqual({
        event: 'error',
        data: JSON.stringify({ type: 'error', error: { type: anthropicType, message: `${type} now` } }),
      });
      fake.enqueue({ streamException: { afterEvents: 3, type, message: `${type} now` } });
      const piece = await read(await invoke(request('a longer sentence to stream', { stream: true }), true));
      expect(piece.failure).toMatchObject({ kind, type: anthropicType });
      expect(piece.done).toBeUndefined();
    },
  );

  it('gives an exception that is the first stream event its status, so it can be retried', async () => {
    fake.enqueue({ streamException: { afterEvents: 0, type: 'throttlingException', message: 'slow down' } });
    const res = await invoke(request('x', { stream: true }), true);
    expect(res.status).toBe(429);
    expect(parseBedrockError(res.status, (await chunksOf(res)).join(''))).toMatchObject({
      code: 'ThrottlingException',
      kind: 'rate_limited',
    });
  });

  it('answers a body Bedrock refuses (a Messages body not made Bedrock’s) with its ValidationException', async () => {
    const res = await transport.send({
      url: fake.url + bedrockInvokePath(MODEL, false),
      method: 'POST',
      headers: { [REGION_HEADER]: 'us-east-1' },
      body: JSON.stringify(request('x')),
      signal: new AbortController().signal,
    });
    expect(res.status).toBe(400);
    const info = parseBedrockError(res.status, (await chunksOf(res)).join(''));
    expect(info).toMatchObject({ code: 'ValidationException', kind: 'bad_request' });
    expect(info.message).toContain('required key [anthropic_version] not found');
  });

  it('aborts a stream in the middle and closes the connection to Bedrock', async () => {
    fake.enqueue({ chunkDelayMs: 300 });
    const controller = new AbortController();
    const res = await invoke(
      request('a longer sentence to stream', { stream: true }),
      true,
      controller.signal,
    );
    const it = res.body[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    controller.abort(new Error('client went away'));
    await expect(it.next()).rejects.toBeDefined();
    const until = performance.now() + 2000;
    while (fake.requests[0]?.clientClosed !== true && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(fake.requests[0]?.clientClosed).toBe(true);
  });
});

describe('Bedrock’s stream through the native reader, parsed by the Anthropic SDK', () => {
  it('gives the SDK’s messages.stream() the text, the tool input and the usage', async () => {
    // A pass-through as the gateway makes it: the client's body made Bedrock's, the reader's text relayed.
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => {
        raw += String(c);
      });
      req.on('end', async () => {
        const upstream = await invoke(
          JSON.parse(raw) as Json,
          true,
          undefined,
          String(req.headers['anthropic-beta'] ?? ''),
        );
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const reader = new MessagesStreamReader();
        for await (const chunk of upstream.body) res.write(reader.push(chunk).text);
        res.end(reader.end().text);
      });
    });
    const listening = await listenOnLoopback(server);
    try {
      const client = new Anthropic({ baseURL: listening.origin, apiKey: 'sk-test', maxRetries: 0 });
      fake.enqueue({ chunkSize: 3, thinking: 'Let me think.' });
      const text = await client.messages
        .stream({ model: 'claude-route', max_tokens: 64, messages: [{ role: 'user', content: 'hi there' }] })
        .finalMessage();
      expect(text.content.map((b) => b.type)).toEqual(['thinking', 'text']);
      expect(text.content[1]).toMatchObject({ type: 'text', text: 'echo: hi there' });
      expect(text.usage.output_tokens).toBeGreaterThan(0);
      const tools: Anthropic.Tool[] = [
        {
          name: 'get_weather',
          input_schema: { type: 'object', properties: { location: { type: 'string' } } },
        },
      ];
      const tool = await client.messages
        .stream({
          model: 'claude-route',
          max_tokens: 64,
          tools,
          messages: [{ role: 'user', content: 'weather?' }],
        })
        .finalMessage();
      expect(tool.content[0]).toMatchObject({
        type: 'tool_use',
        name: 'get_weather',
        input: { location: 'Paris' },
      });
      expect(tool.stop_reason).toBe('tool_use');
    } finally {
      await listening.close();
    }
  });
});
