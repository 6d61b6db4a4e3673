/**
 * `/v1/responses` end to end with the official openai SDK: native pass-through to a provider that serves it,
 * translation for a chat-only relay and for Anthropic, stored responses continued across providers, and
 * `GET`/`DELETE /v1/responses/{id}`.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { newClientKey } from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import { type FakeAnthropic, startAnthropicFake } from '../support/fake-anthropic.ts';
import { type FakeOpenAI, startFakeOpenAI } from '../support/fake-openai.ts';
import { type Harness, route, startHarness, upstreamBody } from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';

let native: FakeOpenAI;
let chatOnly: FakeOpenAI;
let claude: FakeAnthropic;
let h: Harness<never>;

beforeAll(async () => {
  native = await startFakeOpenAI();
  chatOnly = await startFakeOpenAI({ responses: false });
  claude = await startAnthropicFake();
  h = await startHarness({
    config: () => ({
      providers: {
        native: { type: 'openai', baseUrls: [native.url] },
        relay: { type: 'openai', baseUrls: [chatOnly.url], endpoints: ['chat', 'embeddings'] },
        claude: { type: 'anthropic', baseUrls: [claude.url] },
      },
      routes: {
        'gpt-native': route([{ provider: 'native', model: 'gpt-4o' }]),
        'gpt-relay': route([{ provider: 'relay', model: 'openai/gpt-4o' }]),
        claude: route([{ provider: 'claude', model: 'claude-sonnet-4-5' }]),
      },
    }),
    providerKeys: { native: 'sk-native-1', relay: 'sk-relay-1', claude: 'ak-1' },
  });
});
afterAll(async () => {
  await h.close();
  await native.close();
  await chatOnly.close();
  await claude.close();
});
beforeEach(() => {
  h.reset();
  native.reset();
  chatOnly.reset();
  claude.reset();
});

/** The output text of a streamed Response, and its last event. */
async function streamed(model: string, input: string, extra: Record<string, unknown> = {}) {
  const stream = await h.client.responses.create({ model, input, stream: true, ...extra });
  const types: string[] = [];
  let text = '';
  let final: OpenAI.Responses.Response | undefined;
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === 'response.output_text.delta') text += ev.delta;
    if (ev.type === 'response.completed') final = ev.response;
  }
  return { types, text, final };
}

describe('native pass-through', () => {
  it('forwards the request as sent (model replaced) and returns the provider’s Response', async () => {
    const { data, response } = await h.client.responses
      .create({ model: 'gpt-native', input: 'hello there' })
      .withResponse();
    expect(data.output_text).toBe('echo: hello there');
    expect(response.headers.get('x-switchyard-provider')).toBe('native');
    expect(native.requests[0]?.path).toBe('/v1/responses');
    expect(upstreamBody(native).model).toBe('gpt-4o');
    const rec = await recordOf(h.gateway, response.headers.get('x-request-id') ?? '');
    expect(rec.upstreamId).toBe(data.id);
    expect(rec.endpoint).toBe('responses');
    expect(rec.inputTokens).toBeGreaterThan(0);
  });

  it('relays the events as they come', async () => {
    const { types, text, final } = await streamed('gpt-native', 'stream me');
    expect(text).toBe('echo: stream me');
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(final?.output_text ?? final?.status).toBeDefined();
  });
});

describe('translated', () => {
  it('serves a chat-only relay through chat', async () => {
    const data = await h.client.responses.create({ model: 'gpt-relay', input: 'hi relay' });
    expect(data.output_text).toBe('echo: hi relay');
    expect(data.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(chatOnly.requests[0]?.path).toBe('/v1/chat/completions');
    expect(upstreamBody(chatOnly).messages).toEqual([{ role: 'user', content: 'hi relay' }]);
  });

  it('streams the documented events from a chat stream', async () => {
    const { types, text } = await streamed('gpt-relay', 'stream relay');
    expect(text).toBe('echo: stream relay');
    expect(types.slice(0, 2)).toEqual(['response.created', 'response.in_progress']);
    expect(types).toContain('response.output_item.added');
    expect(types).toContain('response.output_text.done');
    expect(types.at(-1)).toBe('response.completed');
  });

  it('serves Anthropic through its chat translator', async () => {
    const data = await h.client.responses.create({
      model: 'claude',
      input: 'hi claude',
      instructions: 'Be brief.',
    });
    expect(data.output_text.length).toBeGreaterThan(0);
    expect(claude.requests[0]?.path).toBe('/v1/messages');
  });
});

describe('stored responses', () => {
  it('continues a native response on a chat-only relay, and reads and deletes it', async () => {
    const first = await h.client.responses.create({ model: 'gpt-native', input: 'my name is Ada' });
    const second = await h.client.responses.create({
      model: 'gpt-relay',
      input: 'what is my name?',
      previous_response_id: first.id,
    });
    expect(second.output_text).toBe('echo: what is my name?');
    const messages = upstreamBody(chatOnly).messages as { role: string; content: unknown }[];
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(JSON.stringify(messages[0])).toContain('my name is Ada');
    expect(JSON.stringify(messages[1])).toContain('echo: my name is Ada');

    // Back on the native provider, which did not answer `second`: the turns go as items, without the id.
    await h.client.responses.create({ model: 'gpt-native', input: 'again', previous_response_id: second.id });
    const third = upstreamBody(native, 1);
    expect(third.previous_response_id).toBeUndefined();
    expect(JSON.stringify(third.input)).toContain('my name is Ada');
    expect(JSON.stringify(third.input)).toContain('what is my name?');

    const got = await h.client.responses.retrieve(second.id);
    expect(got.id).toBe(second.id);
    expect(got.output_text).toBe('echo: what is my name?');
    // Another client key learns nothing of this key's responses: not found, and not continued.
    const k = newClientKey({ name: 'other' });
    await new DynamoKeyRepo(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE)).put(k.record);
    const other = h.clientWithKey(k.key);
    await expect(other.responses.retrieve(second.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(other.responses.delete(second.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      other.responses.create({ model: 'gpt-native', input: 'x', previous_response_id: second.id }),
    ).rejects.toMatchObject({ status: 400, code: 'previous_response_not_found' });
    expect(native.requests).toHaveLength(2);
    await h.client.responses.delete(second.id);
    await expect(h.client.responses.retrieve(second.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      h.client.responses.create({ model: 'gpt-relay', input: 'x', previous_response_id: second.id }),
    ).rejects.toMatchObject({ status: 400, code: 'previous_response_not_found' });
  });

  it('sends the request as is to the native provider that answered the response it continues', async () => {
    const first = await h.client.responses.create({ model: 'gpt-native', input: 'one' });
    await h.client.responses.create({ model: 'gpt-native', input: 'two', previous_response_id: first.id });
    expect(upstreamBody(native, 1).previous_response_id).toBe(first.id);
    expect(upstreamBody(native, 1).input).toBe('two');
  });

  it('spells the turns out when the provider that served them no longer has them', async () => {
    const first = await h.client.responses.create({ model: 'gpt-native', input: 'remember 42' });
    // A relay that sent the first turn to another upstream account, or a key of another project.
    native.enqueue({
      status: 400,
      errorType: 'invalid_request_error',
      errorCode: 'previous_response_not_found',
      errorMessage: `Previous response with id '${first.id}' not found.`,
    });
    const second = await h.client.responses.create({
      model: 'gpt-native',
      input: 'what number?',
      previous_response_id: first.id,
    });
    expect(second.output_text).toBe('echo: what number?');
    expect(upstreamBody(native, 1).previous_response_id).toBe(first.id);
    const retried = upstreamBody(native, 2);
    expect(retried.previous_response_id).toBeUndefined();
    expect(JSON.stringify(retried.input)).toContain('remember 42');
  });

  it('spells the turns out too for a relay that words it otherwise: a 404 whose param is previous_response_id', async () => {
    const first = await h.client.responses.create({ model: 'gpt-native', input: 'remember 43' });
    native.enqueue({
      status: 404,
      errorCode: null,
      errorParam: 'previous_response_id',
      errorMessage: 'Conversation state not found on this upstream.',
    });
    const second = await h.client.responses.create({
      model: 'gpt-native',
      input: 'what number?',
      previous_response_id: first.id,
    });
    expect(second.output_text).toBe('echo: what number?');
    expect(upstreamBody(native, 2).previous_response_id).toBeUndefined();
    expect(JSON.stringify(upstreamBody(native, 2).input)).toContain('remember 43');
  });

  it('answers the failure after a lost conversation, not the lost conversation', async () => {
    const first = await h.client.responses.create({ model: 'gpt-native', input: 'remember 44' });
    native.enqueue({
      status: 400,
      errorCode: 'previous_response_not_found',
      errorMessage: `Previous response with id '${first.id}' not found.`,
    });
    native.enqueue({ status: 429, retryAfter: '1' });
    // The route has no retries: the second call's 429 is the request's answer (every target rate limited).
    await expect(
      h.client.responses.create({ model: 'gpt-native', input: 'go on', previous_response_id: first.id }),
    ).rejects.toMatchObject({ status: 429, code: 'upstream_rate_limited' });
    expect(native.requests).toHaveLength(3);
  });

  it('refuses background: true on a native target too, before any upstream call', async () => {
    await expect(
      h.client.responses.create({ model: 'gpt-native', input: 'later', background: true }),
    ).rejects.toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'background' });
    expect(native.requests).toHaveLength(0);
  });

  it('keeps nothing with store: false', async () => {
    const r = await h.client.responses.create({ model: 'gpt-relay', input: 'forget me', store: false });
    await expect(h.client.responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});
