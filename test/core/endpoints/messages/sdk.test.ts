/**
 * The official @anthropic-ai/sdk against the Messages building blocks over real HTTP: a loopback front door
 * (the few lines the gateway's endpoint spec will be) validates the body with the schema, translates it to
 * chat, calls the OpenAI fake (a real server speaking the chat wire), and answers with the readers'
 * translation — or the error table in Anthropic's shape. What the SDK parses is what a client would get.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Anthropic, { type APIError } from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  anthropicErrorBody,
  anthropicErrorEvent,
} from '../../../../functions/core/endpoints/messages/errors.ts';
import {
  MessagesFromChatReader,
  readMessagesFromChat,
} from '../../../../functions/core/endpoints/messages/from-chat-reader.ts';
import { messagesRequestSchema } from '../../../../functions/core/endpoints/messages/schema.ts';
import { chatFromMessages } from '../../../../functions/core/endpoints/messages/to-chat.ts';
import { ChatStreamReader } from '../../../../functions/core/endpoints/openai/readers.ts';
import {
  AuthenticationError,
  BudgetExceededError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServerShuttingDownError,
  type SwitchyardError,
  toSwitchyardError,
  UpstreamError,
  UpstreamTimeoutError,
} from '../../../../functions/core/errors.ts';
import { openAIUsageOfBody } from '../../../../functions/core/providers/openai/adapter.ts';
import { parseBody } from '../../../../functions/core/schemas/openai.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../../../support/fake-openai.ts';
import { type Listening, listenOnLoopback } from '../../../support/loopback.ts';

const REQUEST_ID = 'req_sdk_1';
/** Errors the front door answers on demand (`x-test-error: <status>`), one per row of the table. */
const ERRORS: Record<string, SwitchyardError> = {
  '401': new AuthenticationError({ code: 'invalid_api_key', message: 'Invalid API key.' }),
  '402': new BudgetExceededError({ code: 'budget_exceeded', message: 'This key is over its budget.' }),
  '403': new PermissionDeniedError({ code: 'model_not_allowed', message: 'This key may not use the model.' }),
  '404': new NotFoundError({ code: 'model_not_found', message: 'No route for the model.' }),
  '429': new RateLimitError({ code: 'rate_limit_exceeded', message: 'Slow down.' }),
  '502': new UpstreamError({ code: 'upstream_server_error', message: 'Every target failed.' }),
  '503': new ServerShuttingDownError({ code: 'shutting_down', message: 'The gateway is stopping.' }),
  '504': new UpstreamTimeoutError({ code: 'upstream_timeout', message: 'Too slow.' }),
};

let fake: FakeOpenAI;
let door: Listening;
let client: Anthropic;

function sendError(res: ServerResponse, err: SwitchyardError): void {
  res.writeHead(err.status, { 'content-type': 'application/json', 'request-id': REQUEST_ID });
  res.end(JSON.stringify(anthropicErrorBody(err, REQUEST_ID)));
}

async function frontDoor(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let raw = '';
  for await (const c of req) raw += String(c);
  const forced = ERRORS[String(req.headers['x-test-error'])];
  if (forced !== undefined) return sendError(res, forced);
  let body: ReturnType<typeof parseBody<typeof messagesRequestSchema>>;
  try {
    body = parseBody(messagesRequestSchema, JSON.parse(raw));
  } catch (err) {
    return sendError(res, toSwitchyardError(err));
  }
  const { chat } = chatFromMessages(body);
  const upstream = await fetch(`${fake.url}/chat/completions`, {
    method: 'POST',
    body: JSON.stringify(chat),
  });
  const ctx = { model: body.model, requestId: REQUEST_ID, stopSequences: body.stop_sequences ?? [] };
  if (body.stream !== true) {
    const text = await upstream.text();
    const usage = openAIUsageOfBody(text);
    const read = readMessagesFromChat(usage === undefined ? { text } : { text, usage }, ctx);
    res.writeHead(200, { 'content-type': 'application/json', 'request-id': REQUEST_ID });
    res.end(read.text);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'request-id': REQUEST_ID });
  const reader = new MessagesFromChatReader(new ChatStreamReader(), ctx);
  const cut = new UpstreamError({ code: 'upstream_stream_cut', message: 'The upstream stream was cut.' });
  let done = false;
  try {
    for await (const chunk of upstream.body ?? []) {
      const piece = reader.push(chunk);
      res.write(piece.text);
      done ||= piece.done === true;
      if (piece.failure !== undefined) return void res.end(anthropicErrorEvent(cut, REQUEST_ID));
    }
    const last = reader.end();
    done ||= last.done === true;
    res.end(last.text + (done ? '' : anthropicErrorEvent(cut, REQUEST_ID)));
  } catch {
    res.end(anthropicErrorEvent(cut, REQUEST_ID)); // the fake cut the connection
  }
}

beforeAll(async () => {
  fake = await startFakeOpenAI();
  door = await listenOnLoopback(createServer((req, res) => void frontDoor(req, res)));
  client = new Anthropic({ baseURL: door.origin, apiKey: 'sk-client', maxRetries: 0 });
});
afterAll(async () => {
  await door.close();
  await fake.close();
});
beforeEach(() => fake.reset());

const weather: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather in a place',
  input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
};

describe('@anthropic-ai/sdk over the Messages translation to a chat target', () => {
  it('messages.create: a text answer with its usage, from a system prompt and a user turn', async () => {
    const msg = await client.messages.create({
      model: 'claude-route',
      max_tokens: 100,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Hello there' }],
    });
    expect(msg.type).toBe('message');
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.content).toEqual([{ type: 'text', text: 'echo: Hello there' }]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.usage).toMatchObject({ input_tokens: 4, output_tokens: 3 });
    expect(fake.requests[0]?.body).toMatchObject({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello there' },
      ],
      max_tokens: 100,
    });
  });

  it('messages.create: a tool call, then the tool result answered in a second turn', async () => {
    const first = await client.messages.create({
      model: 'claude-route',
      max_tokens: 100,
      tools: [weather],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(first.stop_reason).toBe('tool_use');
    const call = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(call).toMatchObject({ name: 'get_weather', input: { location: 'Paris' } });
    const second = await client.messages.create({
      model: 'claude-route',
      max_tokens: 100,
      tools: [weather],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call?.id ?? '', content: 'sunny' }] },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'tool said: sunny' }]);
  });

  it('messages.stream: text events, the final text and the usage of message_delta', async () => {
    fake.enqueue({ chunkSize: 3 });
    const stream = client.messages.stream({
      model: 'claude-route',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'stream me please' }],
    });
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const final = await stream.finalMessage();
    expect(deltas.join('')).toBe('echo: stream me please');
    expect(deltas.length).toBeGreaterThan(3);
    expect(final.content).toEqual([{ type: 'text', text: 'echo: stream me please' }]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage).toMatchObject({ input_tokens: 3, output_tokens: 4 });
  });

  it('messages.stream: a tool call whose input the SDK assembles from input_json_delta', async () => {
    fake.enqueue({ chunkSize: 4, toolArguments: '{"location":"Rome","unit":"celsius"}' });
    const final = await client.messages
      .stream({
        model: 'claude-route',
        max_tokens: 100,
        tools: [weather],
        messages: [{ role: 'user', content: 'x' }],
      })
      .finalMessage();
    expect(final.content).toEqual([
      {
        type: 'tool_use',
        id: expect.any(String),
        name: 'get_weather',
        input: { location: 'Rome', unit: 'celsius' },
      },
    ]);
    expect(final.stop_reason).toBe('tool_use');
  });

  it('raises a stream cut after it started as the SDK’s APIError of our error type', async () => {
    fake.enqueue({ chunkSize: 2, cutAfterChunks: 4 });
    const stream = client.messages.stream({
      model: 'claude-route',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'a long enough sentence' }],
    });
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as APIError).type).toBe('api_error');
    expect((err as APIError).message).toContain('The upstream stream was cut.');
  });

  it('raises a body that fails the schema as BadRequestError naming the field', async () => {
    const err = await client.messages
      .create({
        model: 'claude-route',
        messages: [{ role: 'user', content: 'x' }],
      } as unknown as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as APIError).type).toBe('invalid_request_error');
    expect((err as APIError).message).toContain("Missing required parameter: 'max_tokens'.");
    expect((err as APIError).requestID).toBe(REQUEST_ID);
  });

  it.each([
    ['401', Anthropic.AuthenticationError, 'authentication_error'],
    ['402', Anthropic.PaymentRequiredError, 'billing_error'],
    ['403', Anthropic.PermissionDeniedError, 'permission_error'],
    ['404', Anthropic.NotFoundError, 'not_found_error'],
    ['429', Anthropic.RateLimitError, 'rate_limit_error'],
    ['502', Anthropic.InternalServerError, 'api_error'],
    ['503', Anthropic.ServiceUnavailableError, 'overloaded_error'],
    ['504', Anthropic.GatewayTimeoutError, 'timeout_error'],
  ])('raises the gateway’s %s as the SDK’s %o', async (status, cls, type) => {
    const err = await client.messages
      .create(
        { model: 'claude-route', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] },
        { headers: { 'x-test-error': status } },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(cls);
    expect((err as APIError).status).toBe(Number(status));
    expect((err as APIError).type).toBe(type);
    expect((err as APIError).apiMessage).toBe(ERRORS[status]?.message);
  });
});
