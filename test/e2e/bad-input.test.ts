/**
 * Input an attacker or a careless client sends: names that are built-in object properties, JSON nested
 * 100,000 deep, names megabytes long. Each gets a clear 4xx and nothing of it reaches a log line, a record or
 * a 500.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  errorOf,
  type Harness,
  openaiProvider,
  raw,
  route,
  startHarness,
} from '../support/gateway-harness.ts';
import { recordOf } from '../support/ledger-helpers.ts';

let h: Harness<'a'>;

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {} },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url) },
      routes: { chat: route([{ provider: 'a', model: 'm' }]) },
    }),
  });
});
afterAll(async () => h.close());
beforeEach(() => h.reset());

const post = (path: string, body: unknown, requestId?: string) =>
  raw(h.origin, path, {
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(requestId === undefined ? {} : { headers: { 'x-request-id': requestId } }),
  });
const chat = (body: Record<string, unknown>, requestId?: string) =>
  post(
    '/v1/chat/completions',
    { model: 'chat', messages: [{ role: 'user', content: 'hi' }], ...body },
    requestId,
  );

const BUILT_IN = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

describe('a model named like a built-in object property', () => {
  it.each(BUILT_IN)('"%s" is an unknown model: 404, never a 500', async (model) => {
    const r = await chat({ model });
    expect(r.status).toBe(404);
    expect(errorOf(r)).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found' });
    const e = await post('/v1/embeddings', { model, input: 'x' });
    expect(e.status).toBe(404);
    expect(h.fakes.a.requests).toHaveLength(0);
  });

  it('a path named like one is an unknown URL', async () => {
    const r = await raw(h.origin, '/constructor');
    expect(r.status).toBe(404);
    expect(errorOf(r).code).toBe('unknown_url');
  });
});

/** `{"a":{"a":…}}` or `[[…]]`, `depth` levels, built as text (JSON.stringify could not make it). */
const nested = (depth: number, open: string, close: string, inner = '1') =>
  open.repeat(depth) + inner + close.repeat(depth);

describe('JSON nested 100,000 deep', () => {
  const DEEP = 100_000;
  const cases: [string, string][] = [
    [
      'in an unknown field',
      `{"model":"chat","messages":[{"role":"user","content":"hi"}],"x":${nested(DEEP, '[', ']')}}`,
    ],
    [
      'in a tool schema',
      `{"model":"chat","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${nested(DEEP, '{"a":', '}')}}}]}`,
    ],
    [
      'in a content part',
      `{"model":"chat","messages":[{"role":"user","content":[{"type":"text","text":"hi","x":${nested(DEEP, '[', ']')}}]}]}`,
    ],
  ];

  it.each(cases)('%s is a 400, not a 500', async (_, body) => {
    const r = await post('/v1/chat/completions', body);
    expect(r.status).toBe(400);
    expect(errorOf(r)).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
    expect(errorOf(r).message).toBe('Request body nests deeper than 64 levels.');
    expect(h.fakes.a.requests).toHaveLength(0);
  });

  it('a tool schema a few levels deep still goes through', async () => {
    const r = await post(
      '/v1/chat/completions',
      `{"model":"chat","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${nested(20, '{"type":"object","properties":{"a":', '}}', '{"type":"string"}')}}}]}`,
    );
    expect(r.status).toBe(200);
  });
});

describe('names megabytes long', () => {
  it('a 5 MiB model name is a 400 before anything is logged, echoed or recorded', async () => {
    const model = 'm'.repeat(5 * 1024 * 1024);
    const r = await chat({ model }, 'huge-model-name');
    expect(r.status).toBe(400);
    expect(errorOf(r)).toMatchObject({ code: 'invalid_request', param: 'model' });
    expect(r.text.length).toBeLessThan(1000);
    const s = await h.waitForSummary('huge-model-name');
    expect(s.route).toBeUndefined();
    const logged = h.logs.map((l) => JSON.stringify(l)).join('\n');
    expect(logged.length).toBeLessThan(10_000);
    const record = await recordOf(h.gateway, 'huge-model-name');
    expect(record.route).toBeNull();
    expect(JSON.stringify(record).length).toBeLessThan(2000);
  });

  it('a model name of 257 characters is refused, 256 is looked up', async () => {
    expect((await chat({ model: 'x'.repeat(257) })).status).toBe(400);
    const r = await chat({ model: 'x'.repeat(256) });
    expect(r.status).toBe(404);
    expect(errorOf(r).message.length).toBeLessThan(400);
  });

  it('a model name with a control character (a terminal escape) is refused', async () => {
    const r = await chat({ model: '\u001b[2Jchat' });
    expect(r.status).toBe(400);
    expect(errorOf(r)).toMatchObject({ code: 'invalid_request', param: 'model' });
  });

  it('a long unknown path is echoed cut short', async () => {
    const r = await raw(h.origin, `/${'p'.repeat(10_000)}`);
    expect(r.status).toBe(404);
    expect(errorOf(r).message.length).toBeLessThan(600);
  });
});

describe('text that made the estimate tokenizer superlinear', () => {
  it('a 20,000-letter word to an upstream that reports no usage is estimated at once, not a frozen process', async () => {
    h.fakes.a.setDefault({ usage: null });
    let word = '';
    for (let i = 0; i < 20_000; i++) word += String.fromCharCode(97 + ((i * 7919) % 26));
    const r = await chat({ messages: [{ role: 'user', content: word }] }, 'long-word');
    expect(r.status).toBe(200);
    const record = await recordOf(h.gateway, 'long-word');
    expect(record.usageSource).toBe('estimated');
    expect(record.inputTokens).toBeGreaterThan(1000);
  });
});
