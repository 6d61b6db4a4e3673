// The adapter end to end against the fake Anthropic API over loopback: request built by buildCall, sent
// with undici, the answer's real bytes fed to the translator (or the error body to parseError).

import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { anthropicAdapter } from '../../../../functions/core/providers/anthropic/adapter.ts';
import { openAIUsageOfBody } from '../../../../functions/core/providers/openai/adapter.ts';
import type { ProviderErrorInfo } from '../../../../functions/core/providers/types.ts';
import {
  CREDIT_BALANCE_MESSAGE,
  type FakeAnthropic,
  startAnthropicFake,
} from '../../../support/fake-anthropic.ts';
import { legacyTranslator } from '../legacy-text.ts';

type Json = Record<string, unknown>;
const KEY = 'sk-ant-fake-key';

let fake: FakeAnthropic;
beforeAll(async () => {
  fake = await startAnthropicFake({ apiKey: KEY });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

interface Exchanged {
  status: number;
  headers: Record<string, unknown>;
  /** The translated answer: chat.completion JSON text, or the OpenAI SSE text of a stream. */
  text: string;
  error?: ProviderErrorInfo;
  /** The stream's connection dropped before its end. */
  broken?: boolean;
}

async function exchange(body: Json, apiKey = KEY): Promise<Exchanged> {
  const call = anthropicAdapter.buildCall({
    op: 'chat',
    body: { model: 'alias', ...body },
    model: 'claude-sonnet-4-5',
    apiKey,
    requestId: 'req-abc',
    extraHeaders: undefined,
  });
  const res = await request(`${fake.url}${call.path}`, {
    method: call.method,
    headers: call.headers,
    body: call.body ?? null,
  });
  if (call.translator === undefined) throw new Error('no translator');
  const t = legacyTranslator(call.translator);
  if (res.statusCode >= 400) {
    const error = anthropicAdapter.parseError(res.statusCode, await res.body.text());
    return { status: res.statusCode, headers: res.headers, text: '', error };
  }
  if (body.stream !== true)
    return { status: res.statusCode, headers: res.headers, text: t.body(await res.body.text()) };
  let text = '';
  try {
    for await (const chunk of res.body) text += t.push(chunk as Uint8Array);
  } catch {
    // the connection dropped mid-body: what was translated so far is all the client gets
    return { status: res.statusCode, headers: res.headers, text, broken: true };
  }
  return { status: res.statusCode, headers: res.headers, text: text + t.end(), broken: false };
}

const datas = (sse: string): string[] =>
  sse
    .split('\n\n')
    .filter((b) => b !== '')
    .map((b) => b.replace(/^data: /, ''));
const chunks = (sse: string): Json[] =>
  datas(sse)
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d));
const streamedContent = (sse: string): string =>
  chunks(sse)
    .flatMap((c) => (Array.isArray(c.choices) ? c.choices : []) as { delta: { content?: string } }[])
    .map((ch) => ch.delta.content ?? '')
    .join('');
const choiceOf = (text: string) =>
  (JSON.parse(text) as { choices: { message: Json; finish_reason: string }[] }).choices[0] as {
    message: Json;
    finish_reason: string;
  };

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    parameters: { type: 'object', properties: { location: { type: 'string' } } },
  },
};
const ask = (text: string) => [
  { role: 'system', content: 'be brief' },
  { role: 'user', content: text },
];

describe('Anthropic adapter over loopback', () => {
  it('sends the real Messages request and translates the answer, usage included', async () => {
    const r = await exchange({ messages: ask('hello there, world'), temperature: 1.5 });
    expect(r.status).toBe(200);
    expect(choiceOf(r.text)).toMatchObject({
      message: { content: 'echo: hello there, world' },
      finish_reason: 'stop',
    });
    expect(openAIUsageOfBody(r.text)).toEqual({
      inputTokens: 5,
      outputTokens: 4,
      cachedInputTokens: 0,
      reasoningTokens: 0,
    });
    const sent = fake.requests[0];
    expect(sent?.path).toBe('/v1/messages');
    expect(sent?.headers).toMatchObject({
      'x-api-key': KEY,
      'anthropic-version': '2023-06-01',
      'x-request-id': 'req-abc',
    });
    expect(sent?.body).toMatchObject({ system: 'be brief', max_tokens: 4096, temperature: 1 });
  });

  it('streams the answer: content deltas, finish, usage chunk and [DONE]', async () => {
    fake.enqueue({ chunkSize: 3, thinking: 'first I think' });
    const r = await exchange({ messages: ask('stream me please'), stream: true });
    expect(streamedContent(r.text)).toBe('echo: stream me please');
    expect(r.text).not.toContain('first I think');
    expect(chunks(r.text).at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 5, completion_tokens: 4 },
    });
    expect(datas(r.text).at(-1)).toBe('[DONE]');
  });

  it('reports cache reads and writes inside prompt tokens', async () => {
    const usage = {
      input_tokens: 3,
      output_tokens: 2,
      cache_read_input_tokens: 50,
      cache_creation_input_tokens: 7,
    };
    fake.enqueue({ usage }, { usage });
    const whole = await exchange({ messages: ask('hi') });
    expect(openAIUsageOfBody(whole.text)).toMatchObject({
      inputTokens: 60,
      cachedInputTokens: 50,
    });
    const streamed = await exchange({ messages: ask('hi'), stream: true });
    expect(chunks(streamed.text).at(-1)?.usage).toMatchObject({
      prompt_tokens: 60,
      completion_tokens: 2,
      prompt_tokens_details: { cached_tokens: 50 },
    });
  });

  it('runs a tool round trip: the call, then the answer from the tool result', async () => {
    const first = await exchange({ messages: ask('weather?'), tools: [weather] });
    const c1 = choiceOf(first.text);
    expect(c1.finish_reason).toBe('tool_calls');
    const calls = c1.message.tool_calls as { id: string; function: { name: string; arguments: string } }[];
    expect(calls[0]?.function).toEqual({ name: 'get_weather', arguments: '{"location":"Paris"}' });
    const second = await exchange({
      messages: [
        ...ask('weather?'),
        { role: 'assistant', content: null, tool_calls: c1.message.tool_calls },
        { role: 'tool', tool_call_id: calls[0]?.id, content: '18C and sunny' },
      ],
      tools: [weather],
      stream: true,
    });
    expect(streamedContent(second.text)).toBe('tool said: 18C and sunny');
    const sentAgain = fake.requests[1]?.body as { messages: Json[] };
    const lastTurn = sentAgain.messages.at(-1);
    expect(lastTurn).toEqual({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: calls[0]?.id, content: '18C and sunny' }],
    });
  });

  it('answers JSON mode as JSON content, streamed or not', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    const rf = { type: 'json_schema', json_schema: { name: 'reply', schema } };
    const whole = await exchange({ messages: ask('hi'), response_format: rf });
    expect(choiceOf(whole.text)).toMatchObject({ finish_reason: 'stop' });
    expect(JSON.parse(String(choiceOf(whole.text).message.content))).toEqual({ answer: 'echo: hi' });
    const streamed = await exchange({
      messages: ask('hi'),
      response_format: { type: 'json_object' },
      stream: true,
    });
    expect(JSON.parse(streamedContent(streamed.text))).toEqual({ answer: 'echo: hi' });
  });
});

describe('Anthropic adapter over loopback: errors', () => {
  it('reads 529 overloaded_error as a server failure', async () => {
    fake.enqueue({ status: 529 });
    const r = await exchange({ messages: ask('hi') });
    expect(r.status).toBe(529);
    expect(r.error).toEqual({ message: 'Overloaded', code: 'overloaded_error', type: 'overloaded_error' });
  });

  it('reads 429 rate_limit_error with its retry-after header', async () => {
    fake.enqueue({ status: 429 });
    const r = await exchange({ messages: ask('hi') });
    expect(r.headers['retry-after']).toBe('1');
    expect(r.error).toMatchObject({ type: 'rate_limit_error' });
    expect(r.error?.kind).toBeUndefined();
  });

  it('reads a spent credit balance (a 400) as balance', async () => {
    fake.enqueue({ status: 400, errorMessage: CREDIT_BALANCE_MESSAGE });
    expect((await exchange({ messages: ask('hi') })).error).toMatchObject({ kind: 'balance' });
  });

  it("reads the fake's answer to a wrong key as an auth failure", async () => {
    const r = await exchange({ messages: ask('hi') }, 'sk-wrong');
    expect(r.status).toBe(401);
    expect(r.error).toMatchObject({
      message: 'invalid x-api-key',
      type: 'authentication_error',
      kind: 'auth',
    });
  });

  it('ends with an error event, and no [DONE], when Anthropic sends event: error mid-stream', async () => {
    fake.enqueue({ errorAfterEvents: 4 });
    const r = await exchange({ messages: ask('a longer answer to cut'), stream: true });
    expect(datas(r.text).at(-1)).toBe(
      '{"error":{"message":"Overloaded","type":"overloaded_error","kind":"server"}}',
    );
    expect(r.text).not.toContain('[DONE]');
  });

  it('ends without a finish chunk or [DONE] when the connection drops before message_stop', async () => {
    fake.enqueue({ cutAfterEvents: 4 }); // message_start, content_block_start, ping, the first text delta
    const r = await exchange({ messages: ask('cut me off'), stream: true });
    expect(streamedContent(r.text)).toBe('echo: cu');
    expect(r.text).not.toContain('finish_reason":"stop"');
    expect(r.text).not.toContain('[DONE]');
  });
});
