import { request } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  errorOf,
  type Harness,
  isUuidV7,
  openaiProvider,
  type RawResponse,
  raw,
  route,
  startHarness,
} from '../support/gateway-harness.ts';

let h: Harness<'a'>;

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {} },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url) },
      routes: { 'gpt-4o-mini': route([{ provider: 'a', model: 'gpt-4o-mini' }]) },
    }),
  });
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.reset();
});

const post = (body: string, headers: Record<string, string> = {}) =>
  raw(h.origin, '/v1/chat/completions', { body, headers });
const chatBody = (extra: Record<string, unknown>) =>
  JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...extra });

/** A non-retryable client error: the row's status, type, code, `x-should-retry: false` and a request id. */
function expectClientError(r: RawResponse, status: number, type: string, code: string): void {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/json');
  expect(errorOf(r)).toMatchObject({ type, code });
  expect(typeof errorOf(r).message).toBe('string');
  expect(r.headers.get('x-should-retry')).toBe('false');
  expect(isUuidV7(r.headers.get('x-request-id'))).toBe(true);
}

describe('bad request bodies', () => {
  it('answers 400 invalid_json to a body that is not JSON', async () => {
    const r = await post('{"model": "gpt-4o-mini", "messages": [');
    expectClientError(r, 400, 'invalid_request_error', 'invalid_json');
    expect(h.fakes.a.requests).toHaveLength(0);
  });

  it('answers 400 invalid_json to an empty body', async () => {
    expectClientError(await post(''), 400, 'invalid_request_error', 'invalid_json');
  });

  it('answers 400 invalid_request to a JSON body that is not an object', async () => {
    expectClientError(await post('[1,2,3]'), 400, 'invalid_request_error', 'invalid_request');
  });

  it.each([
    ['messages are missing', JSON.stringify({ model: 'gpt-4o-mini' }), 'messages'],
    ['messages is not an array', chatBody({ messages: 'hello' }), 'messages'],
    ['messages is empty', chatBody({ messages: [] }), 'messages'],
    [
      'a message has an unknown role',
      chatBody({ messages: [{ role: 'robot', content: 'x' }] }),
      'messages[0].role',
    ],
    ['temperature is a string', chatBody({ temperature: 'hot' }), 'temperature'],
    ['temperature is out of range', chatBody({ temperature: 3 }), 'temperature'],
    ['model is missing', JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }), 'model'],
    ['stream is not a boolean', chatBody({ stream: 'yes' }), 'stream'],
    ['max_tokens is negative', chatBody({ max_tokens: -5 }), 'max_tokens'],
    ['n is not an integer', chatBody({ n: 1.5 }), 'n'],
  ])('answers 400 invalid_request naming the field when %s', async (_, body, param) => {
    const r = await post(body);
    expectClientError(r, 400, 'invalid_request_error', 'invalid_request');
    expect(errorOf(r).param).toBe(param);
    expect(errorOf(r).message).toContain(param);
    expect(h.fakes.a.requests).toHaveLength(0);
  });

  it('names a missing embeddings input', async () => {
    const r = await raw(h.origin, '/v1/embeddings', { body: JSON.stringify({ model: 'gpt-4o-mini' }) });
    expectClientError(r, 400, 'invalid_request_error', 'invalid_request');
    expect(errorOf(r).param).toBe('input');
  });

  it('surfaces the 400 through the SDK as a BadRequestError with code and param', async () => {
    const err = await h.client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ code: 'invalid_request', param: 'messages', type: 'invalid_request_error' });
  });
});

/**
 * Sends a body of `size` bytes, with its content-length or chunked; resolves with the answer even when the
 * gateway closes the socket before the upload is done.
 */
function postLarge(
  size: number,
  declare: boolean,
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL('/v1/chat/completions', h.origin);
    const req = request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${h.masterKey}`,
        'content-type': 'application/json',
        ...(declare ? { 'content-length': String(size) } : {}),
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    // The gateway may close the socket before the whole upload is written: only the answer matters,
    // and it must have come (or come soon) for the test to pass.
    req.on('error', (e) => {
      if (e.message.includes('EPIPE') || e.message.includes('ECONNRESET')) {
        setTimeout(() => reject(new Error(`no answer before the socket closed: ${e.message}`)), 1000);
      } else reject(e);
    });
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    const write = () => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

describe('body size limit', () => {
  it.each([
    ['with a declared content-length', true],
    ['sent chunked, without a content-length', false],
  ])('answers 413 request_too_large to a 10 MB body %s and keeps serving', async (_, declare) => {
    const r = await postLarge(10 * 1024 * 1024, declare);
    expect(r.status).toBe(413);
    expect(r.headers['x-should-retry']).toBe('false');
    expect(JSON.parse(r.text)).toMatchObject({
      error: { type: 'invalid_request_error', code: 'request_too_large' },
    });
    expect(h.fakes.a.requests).toHaveLength(0);
    const next = await h.client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'still there?' }],
    });
    expect(next.choices[0]?.message.content).toBe('echo: still there?');
  });

  it('answers 413 to a 10 MB body sent with fetch, then serves the next request', async () => {
    const r = await post(`{"model":"gpt-4o-mini","messages":[],"pad":"${'x'.repeat(10 * 1024 * 1024)}"}`);
    expectClientError(r, 413, 'invalid_request_error', 'request_too_large');
    const next = await post(chatBody({}));
    expect(next.status).toBe(200);
    expect(h.fakes.a.requests).toHaveLength(1);
  });
});

describe('authentication', () => {
  it('answers 401 invalid_api_key without a key', async () => {
    const r = await raw(h.origin, '/v1/chat/completions', { key: null, body: chatBody({}) });
    expectClientError(r, 401, 'authentication_error', 'invalid_api_key');
    expect(h.fakes.a.requests).toHaveLength(0);
  });

  it('answers 401 invalid_api_key to a wrong key, also on /v1/models', async () => {
    const err = await h
      .clientWithKey('sk-wrong-key')
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err).toMatchObject({ status: 401, type: 'authentication_error', code: 'invalid_api_key' });
    expectClientError(
      await raw(h.origin, '/v1/models', { key: 'sk-wrong-key' }),
      401,
      'authentication_error',
      'invalid_api_key',
    );
  });

  it('answers 401 to a malformed Authorization header', async () => {
    const r = await raw(h.origin, '/v1/chat/completions', {
      key: null,
      body: chatBody({}),
      headers: { authorization: h.masterKey },
    });
    expectClientError(r, 401, 'authentication_error', 'invalid_api_key');
  });
});

describe('models and URLs', () => {
  it('answers 404 model_not_found for a model without a route', async () => {
    const r = await post(chatBody({ model: 'gpt-9-ultra' }));
    expectClientError(r, 404, 'invalid_request_error', 'model_not_found');
    expect(errorOf(r).param).toBe('model');
    const err = await h.client.chat.completions
      .create({ model: 'gpt-9-ultra', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('answers 404 to an unknown path and 405 to a wrong method', async () => {
    expect((await raw(h.origin, '/v1/completions', { body: '{}' })).status).toBe(404);
    const r = await raw(h.origin, '/v1/chat/completions', { method: 'GET' });
    expect(r.status).toBe(405);
    expect(errorOf(r).type).toBe('invalid_request_error');
  });

  // 403 model_not_allowed, 429 rate_limit_exceeded and 402 budget_exceeded need client keys: they are
  // tested in keys.test.ts and budget.test.ts.
});
