import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  errorOf,
  type Harness,
  isUuidV7,
  MASTER_KEY,
  openaiProvider,
  raw,
  route,
  startHarness,
} from '../support/gateway-harness.ts';

const KEY_A = 'sk-provider-a-secret-4f9d2c7e1b';
const KEY_B1 = 'sk-provider-b-secret-one-77aa';
const KEY_B2 = 'sk-provider-b-secret-two-88bb';
const LOCKED_KEY = 'sk-locked-upstream-right-5e6f';
let h: Harness<'a' | 'b' | 'locked'>;

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {}, b: {}, locked: { apiKey: LOCKED_KEY } },
    // `locked` gets a's key: the upstream rejects it (and echoes a masked form in its error message).
    providerKeys: { a: KEY_A, b: [KEY_B1, KEY_B2], locked: KEY_A },
    config: (f) => ({
      providers: {
        a: openaiProvider(f.a.url),
        b: openaiProvider(f.b.url),
        locked: openaiProvider(f.locked.url),
      },
      routes: {
        chat: route([
          { provider: 'a', model: 'm' },
          { provider: 'b', model: 'm' },
        ]),
        'only-b': route([{ provider: 'b', model: 'm' }]),
        locked: route([{ provider: 'locked', model: 'm' }]),
      },
    }),
  });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.reset();
});

const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
  { role: 'user', content: 'trace me' },
];

describe('request ids', () => {
  it("keeps the client's x-request-id on the response, upstream and in the log line", async () => {
    const id = 'client-req-0001';
    const { response } = await h.client.chat.completions
      .create({ model: 'chat', messages }, { headers: { 'x-request-id': id } })
      .withResponse();
    expect(response.headers.get('x-request-id')).toBe(id);
    expect(h.fakes.a.requests[0]?.headers['x-request-id']).toBe(id);
    const s = await h.waitForSummary(id);
    expect(s).toMatchObject({ requestId: id, status: 200, route: 'chat' });
  });

  it("names the client API of each request in its log line (none for the gateway's own paths)", async () => {
    const chat = await h.client.chat.completions.create({ model: 'chat', messages }).withResponse();
    const embed = await h.client.embeddings.create({ model: 'only-b', input: 'x' }).withResponse();
    const health = await raw(h.origin, '/health');
    const endpointOf = async (r: { headers: Headers }) =>
      (await h.waitForSummary(r.headers.get('x-request-id') ?? '')).fields.endpoint;
    expect(await endpointOf(chat.response)).toBe('chat');
    expect(await endpointOf(embed.response)).toBe('embeddings');
    expect(await endpointOf(health)).toBeUndefined();
  });

  it('generates a UUIDv7 when the client sends none, and uses it upstream and in the log', async () => {
    const { response } = await h.client.chat.completions.create({ model: 'chat', messages }).withResponse();
    const id = response.headers.get('x-request-id') ?? '';
    expect(isUuidV7(id)).toBe(true);
    expect(h.fakes.a.requests[0]?.headers['x-request-id']).toBe(id);
    expect((await h.waitForSummary(id)).status).toBe(200);
  });

  it('generates a different id for each request', async () => {
    const ids = await Promise.all(
      [1, 2, 3].map(async () => (await raw(h.origin, '/health', { key: null })).headers.get('x-request-id')),
    );
    expect(new Set(ids).size).toBe(3);
    expect(ids.every(isUuidV7)).toBe(true);
  });

  it('sends the same id upstream on every retry and fallback', async () => {
    h.fakes.a.enqueue({ status: 503 });
    await h.client.chat.completions.create(
      { model: 'chat', messages },
      { headers: { 'x-request-id': 'fb-1' } },
    );
    expect(h.fakes.a.requests[0]?.headers['x-request-id']).toBe('fb-1');
    expect(h.fakes.b.requests[0]?.headers['x-request-id']).toBe('fb-1');
  });

  it('puts a generated UUIDv7 on error responses too', async () => {
    const noKey = await raw(h.origin, '/v1/chat/completions', { key: null, body: '{}' });
    const badJson = await raw(h.origin, '/v1/chat/completions', { body: '{' });
    const noRoute = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'nope', messages }),
    });
    for (const r of [noKey, badJson, noRoute]) {
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(isUuidV7(r.headers.get('x-request-id'))).toBe(true);
    }
    expect((await h.waitForSummary(noKey.headers.get('x-request-id') ?? '')).status).toBe(401);
  });

  it("keeps the client's id on an error and exposes it as the SDK error's requestID", async () => {
    h.fakes.b.enqueue({ status: 500 });
    const err = await h.client.chat.completions
      .create({ model: 'only-b', messages }, { headers: { 'x-request-id': 'err-req-42' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ status: 502, requestID: 'err-req-42' });
    const s = await h.waitForSummary('err-req-42');
    expect(s).toMatchObject({ status: 502, errorCode: 'upstream_server_error' });
  });

  it('replaces an id that is unsafe to log or forward with a UUIDv7', async () => {
    const r = await raw(h.origin, '/health', {
      key: null,
      headers: { 'x-request-id': `bad id ${'x'.repeat(200)}` },
    });
    expect(isUuidV7(r.headers.get('x-request-id'))).toBe(true);
  });
});

describe('provider keys', () => {
  it('uses several keys of one provider in turn', async () => {
    await h.client.chat.completions.create({ model: 'only-b', messages });
    await h.client.chat.completions.create({ model: 'only-b', messages });
    const auth = h.fakes.b.requests.map((r) => r.headers.authorization);
    expect(new Set(auth)).toEqual(new Set([`Bearer ${KEY_B1}`, `Bearer ${KEY_B2}`]));
  });
});

describe('log lines', () => {
  it('never contain the master key or a provider key', async () => {
    // A spread of paths: success, stream, fallback, upstream auth failure, client errors.
    await h.client.chat.completions.create({ model: 'chat', messages });
    const stream = await h.client.chat.completions.create({ model: 'chat', messages, stream: true });
    for await (const _ of stream);
    h.fakes.a.enqueue({ status: 401 });
    await h.client.chat.completions.create({ model: 'chat', messages });
    const locked = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'locked', messages }),
    });
    expect(errorOf(locked).code).toBe('upstream_auth');
    await raw(h.origin, '/v1/chat/completions', { key: 'sk-someone-else', body: '{}' });
    await raw(h.origin, '/v1/chat/completions', { body: '{"model":' });
    h.fakes.b.enqueue({ stallAfterChunks: 1 });
    const cut = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'only-b', messages, stream: true }),
    });
    expect(cut.text).toContain('upstream_timeout');
    await h.client.models.list();

    await h.waitForSummary(cut.headers.get('x-request-id') ?? '');
    expect(h.logs.length).toBeGreaterThanOrEqual(8);
    const secrets = [MASTER_KEY, KEY_A, KEY_B1, KEY_B2, LOCKED_KEY];
    for (const line of h.logs) {
      const text = JSON.stringify(line);
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text.toLowerCase()).not.toContain('bearer');
    }
  });
});
