/**
 * `/v1/messages` to Claude on Amazon Bedrock, end to end: the official `@anthropic-ai/sdk` talks to the local
 * gateway, whose real Bedrock transport (the AWS SDK, signed) calls InvokeModel /
 * InvokeModelWithResponseStream on the loopback fake with Bedrock's Anthropic body — `anthropic_version:
 * bedrock-2023-05-31`, the client's beta flags Bedrock documents as `anthropic_beta`, no `model` or `stream` —
 * and the answer comes back as Anthropic's message or events. A Bedrock model that is not Claude goes through Converse.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeBedrock, type RecordedBedrockRequest, startBedrockFake } from '../support/fake-bedrock.ts';
import { type Harness, route, startHarness } from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';

const KEY_ID = 'AKIDMESSAGESBEDROCK1';
const CLAUDE = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const NOVA = 'amazon.nova-lite-v1:0';

let bedrock: FakeBedrock;
let h: Harness<never>;
let sdk: Anthropic;

beforeAll(async () => {
  bedrock = await startBedrockFake({ accessKeyId: KEY_ID });
  h = await startHarness({
    config: () => ({
      providers: {
        aws: { type: 'bedrock', region: 'us-east-1', baseUrls: [bedrock.url] },
        // Beta flags in the provider's config, as an Anthropic provider takes them (`anthropic-beta`).
        'aws-1m': {
          type: 'bedrock',
          region: 'us-east-1',
          baseUrls: [bedrock.url],
          headers: { 'anthropic-beta': 'context-1m-2025-08-07' },
        },
        // A flag Bedrock does not document, configured by the operator: sent as it is.
        'aws-own': {
          type: 'bedrock',
          region: 'us-east-1',
          baseUrls: [bedrock.url],
          headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' },
        },
      },
      routes: {
        'claude-bedrock': route([{ provider: 'aws', model: CLAUDE }]),
        'claude-bedrock-1m': route([{ provider: 'aws-1m', model: CLAUDE }]),
        'claude-bedrock-own': route([{ provider: 'aws-own', model: CLAUDE }]),
        'nova-bedrock': route([{ provider: 'aws', model: NOVA }]),
      },
    }),
    gateway: { bedrock: { credentials: { accessKeyId: KEY_ID, secretAccessKey: 'fake-secret' } } },
  });
  sdk = new Anthropic({ baseURL: h.origin, apiKey: h.masterKey, maxRetries: 0 });
});
afterAll(async () => {
  await h.close();
  await bedrock.close();
});
beforeEach(() => {
  h.reset();
  bedrock.reset();
});

const WEATHER: Anthropic.Tool = {
  name: 'get_weather',
  // Out of alphabetical order on purpose: Bedrock must get the keys as the client wrote them.
  input_schema: { type: 'object', required: ['location'], properties: { location: { type: 'string' } } },
};

const hello: Anthropic.MessageCreateParamsNonStreaming = {
  model: 'claude-bedrock',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hello bedrock' }],
};

function only(): RecordedBedrockRequest & { body: Record<string, unknown> } {
  expect(bedrock.requests).toHaveLength(1);
  const req = bedrock.requests[0];
  if (req === undefined || typeof req.body !== 'object' || req.body === null) throw new Error('no body');
  return req as RecordedBedrockRequest & { body: Record<string, unknown> };
}

describe('Claude on Bedrock, natively', () => {
  it('calls InvokeModel with Bedrock’s Anthropic body and answers Anthropic’s message', async () => {
    const data = await sdk.messages.create(
      {
        ...hello,
        system: 'Be brief.',
        tools: [WEATHER],
        tool_choice: { type: 'none' },
        metadata: { user_id: 'user-9' },
      },
      { headers: { 'anthropic-beta': 'token-efficient-tools-2025-02-19, interleaved-thinking-2025-05-14' } },
    );
    expect(data).toMatchObject({
      type: 'message',
      model: 'claude-3-5-haiku-20241022',
      content: [{ type: 'text', text: 'echo: hello bedrock' }],
      stop_reason: 'end_turn',
    });
    const req = only();
    expect(req.path).toBe(`/model/${encodeURIComponent(CLAUDE)}/invoke`);
    expect(req.body).not.toHaveProperty('model');
    expect(req.body).not.toHaveProperty('stream');
    expect(req.body.anthropic_version).toBe('bedrock-2023-05-31');
    expect(req.body.anthropic_beta).toEqual([
      'token-efficient-tools-2025-02-19',
      'interleaved-thinking-2025-05-14',
    ]);
    expect(req.body.system).toBe('Be brief.');
    expect(req.body.metadata).toEqual({ user_id: 'user-9' });
    // The tools as the client wrote them, key order included.
    expect(JSON.stringify(req.body.tools)).toBe(JSON.stringify([WEATHER]));
  });

  it('adds the provider config’s beta flags to anthropic_beta, after the client’s', async () => {
    const beta = { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } };
    await sdk.messages.create({ ...hello, model: 'claude-bedrock-1m' }, beta);
    expect(only().body.anthropic_beta).toEqual(['interleaved-thinking-2025-05-14', 'context-1m-2025-08-07']);
    bedrock.reset();
    await sdk.messages.stream({ ...hello, model: 'claude-bedrock-1m' }).finalMessage();
    expect(only().body.anthropic_beta).toEqual(['context-1m-2025-08-07']);
  });

  it('drops the first-party flags Claude Code sends that Bedrock refuses, names them in the log, answers 200', async () => {
    const claudeCode = {
      headers: {
        'anthropic-beta':
          'claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14',
      },
    };
    const { data, response } = await sdk.messages.create(hello, claudeCode).withResponse();
    expect(response.status).toBe(200);
    expect(data.content).toEqual([{ type: 'text', text: 'echo: hello bedrock' }]);
    expect(only().body.anthropic_beta).toEqual(['interleaved-thinking-2025-05-14']);
    const line = await h.waitForSummary(response.headers.get('x-request-id') ?? '');
    expect(line.fields.warnings).toEqual([
      'aws: anthropic-beta claude-code-20250219, fine-grained-tool-streaming-2025-05-14 dropped: Bedrock does not document them',
    ]);
    bedrock.reset();
    const final = await sdk.messages.stream(hello, claudeCode).finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'echo: hello bedrock' }]);
    expect(only().body.anthropic_beta).toEqual(['interleaved-thinking-2025-05-14']);
  });

  it('sends the operator’s configured flags as they are, even one Bedrock then refuses', async () => {
    const err = await sdk.messages
      .create(
        { ...hello, model: 'claude-bedrock-own' },
        { headers: { 'anthropic-beta': 'claude-code-20250219' } },
      )
      .catch((e: unknown) => e);
    expect(only().body.anthropic_beta).toEqual(['prompt-caching-2024-07-31']);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('streams through InvokeModelWithResponseStream as Anthropic’s events, with finalMessage()', async () => {
    bedrock.enqueue({ chunkSize: 4 });
    const stream = sdk.messages.stream(hello);
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const final = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('echo: hello bedrock');
    expect(final).toMatchObject({
      content: [{ type: 'text', text: 'echo: hello bedrock' }],
      stop_reason: 'end_turn',
    });
    const req = only();
    expect(req.path).toBe(`/model/${encodeURIComponent(CLAUDE)}/invoke-with-response-stream`);
    expect(req.body).not.toHaveProperty('stream');
    expect(req.body).not.toHaveProperty('anthropic_beta');
  });

  it('keeps a thinking block and its signature (what Converse would translate away)', async () => {
    bedrock.enqueue({ thinking: 'Let me think.' });
    const final = await sdk.messages
      .stream({ ...hello, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 } })
      .finalMessage();
    expect(final.content[0]).toEqual({ type: 'thinking', thinking: 'Let me think.', signature: 'EqQB' });
    expect(only().body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
  });

  it('answers a tool_use, then reads the tool_result turn', async () => {
    const first = await sdk.messages.create({ ...hello, tools: [WEATHER] });
    const call = first.content.find((b) => b.type === 'tool_use');
    expect(first.stop_reason).toBe('tool_use');
    expect(call).toMatchObject({ name: 'get_weather', input: { location: 'Paris' } });
    if (call?.type !== 'tool_use') throw new Error('no tool_use block');
    const second = await sdk.messages.create({
      ...hello,
      tools: [WEATHER],
      messages: [
        ...hello.messages,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'rain' }] },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'tool said: rain' }]);
  });

  it('puts Claude’s cache reads and writes in the ledger, whole and streamed', async () => {
    const usage = {
      input_tokens: 4,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 20,
      output_tokens: 9,
    };
    bedrock.enqueue({ messagesUsage: usage }, { messagesUsage: usage });
    const { data, response } = await sdk.messages.create(hello).withResponse();
    expect(data.usage).toMatchObject(usage);
    const whole = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(whole).toMatchObject({ inputTokens: 124, cachedInputTokens: 100, outputTokens: 9 });
    const final = await sdk.messages
      .stream(hello, { headers: { 'x-request-id': 'req-bedrock-cache' } })
      .finalMessage();
    expect(final.usage).toMatchObject(usage);
    const streamed = await recordOf(h.gateway, 'req-bedrock-cache');
    expect(streamed).toMatchObject({ inputTokens: 124, cachedInputTokens: 100, outputTokens: 9 });
  });

  it('throws the SDK’s APIError when Bedrock’s stream fails after content', async () => {
    bedrock.enqueue({
      chunkSize: 4,
      streamException: { afterEvents: 5, type: 'modelStreamErrorException' },
    });
    const stream = sdk.messages.stream(hello);
    let text = '';
    stream.on('text', (t) => {
      text += t;
    });
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(text).toBe('echo: he');
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).type).toBe('api_error');
  });
});

describe('another Bedrock model', () => {
  it('goes through Converse, translated, and answers a Message', async () => {
    const data = await sdk.messages.create({ ...hello, model: 'nova-bedrock' });
    expect(data.content).toEqual([{ type: 'text', text: 'echo: hello bedrock' }]);
    expect(only().path).toBe(`/model/${encodeURIComponent(NOVA)}/converse`);
  });
});
