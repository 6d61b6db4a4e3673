/**
 * The Bedrock transport with the real @aws-sdk/client-bedrock-runtime against a loopback fake that speaks
 * Bedrock's REST wire and the ConverseStream event-stream encoding (test/support/fake-bedrock.ts), its
 * answers read by the core adapter's translators — and the same transport bundled as the Lambda bundles it,
 * the SDK in its side file.
 */

import { execSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBedrockTransport } from '../../functions/aws/bedrock-transport.ts';
import type { ProviderConfig } from '../../functions/core/config/schema.ts';
import { bedrockAdapter } from '../../functions/core/providers/bedrock/adapter.ts';
import {
  ConnectionError,
  type HttpClient,
  type UpstreamCall,
  type UpstreamHttpResponse,
} from '../../functions/core/providers/types.ts';
import { kindOfStatus } from '../../functions/core/routing/failure.ts';
import { BEDROCK_SIDE_FILE, bedrockSideFileCommand, esbuildOptions } from '../../lib/handler-bundling.ts';
import { legacyTranslator } from '../core/providers/legacy-text.ts';
import { type FakeBedrock, startBedrockFake } from '../support/fake-bedrock.ts';

type Json = Record<string, unknown>;
const KEY_ID = 'AKIDSWITCHYARDTEST';
const credentials = { accessKeyId: KEY_ID, secretAccessKey: 'fake-secret' };
const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
const REGION = 'us-west-2';
const decoder = new TextDecoder();

let fake: FakeBedrock;
let transport: HttpClient & { close(): void };

beforeAll(async () => {
  fake = await startBedrockFake({ accessKeyId: KEY_ID });
  transport = createBedrockTransport({ credentials });
});
afterAll(async () => {
  transport.close();
  await fake.close();
});
beforeEach(() => fake.reset());

function callOf(body: Json): UpstreamCall {
  return bedrockAdapter.buildCall({
    op: 'chat',
    body,
    model: MODEL,
    apiKey: undefined,
    requestId: 'req-bedrock-1',
    extraHeaders: undefined,
    provider: { type: 'bedrock', region: REGION } as ProviderConfig,
    epochMs: 1_700_000_000_000,
  });
}

function send(c: UpstreamCall, via: HttpClient = transport, signal = new AbortController().signal) {
  return via.send({
    url: fake.url + c.path,
    method: c.method,
    headers: c.headers,
    ...(c.body === undefined ? {} : { body: c.body }),
    signal,
  });
}

async function chunksOf(res: UpstreamHttpResponse): Promise<string[]> {
  const out: string[] = [];
  for await (const c of res.body) out.push(decoder.decode(c));
  return out;
}

/** Runs a streamed call through the adapter's translator, as the gateway does. */
async function translated(c: UpstreamCall, res: UpstreamHttpResponse): Promise<string> {
  if (c.translator === undefined) return '';
  const t = legacyTranslator(c.translator);
  let sse = '';
  for await (const chunk of res.body) sse += t.push(chunk);
  return sse + t.end();
}

const events = (sse: string): Json[] =>
  sse
    .split('\n\n')
    .filter((e) => e.startsWith('data: {'))
    .map((e) => JSON.parse(e.slice(6)) as Json);

async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const until = performance.now() + ms;
  while (!check()) {
    if (performance.now() > until) throw new Error(`not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const hi = (text: string, extra: Json = {}): Json => ({
  messages: [{ role: 'user', content: text }],
  ...extra,
});
const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    parameters: { type: 'object', properties: { location: { type: 'string' } } },
  },
};

describe('Bedrock transport (real SDK → loopback Bedrock)', () => {
  it('calls Converse, signed for the region, with x-request-id, and returns the output without $metadata', async () => {
    const c = callOf(hi('hello there'));
    const res = await send(c);
    expect(res.status).toBe(200);
    const chunks = await chunksOf(res);
    expect(chunks).toHaveLength(1);
    const answer = JSON.parse(chunks[0] ?? '') as Json;
    expect(answer.$metadata).toBeUndefined();
    expect(answer).toMatchObject({ stopReason: 'end_turn', usage: { inputTokens: 2, outputTokens: 3 } });
    expect(JSON.parse(c.translator?.body(chunks[0] ?? '').text ?? '')).toMatchObject({
      id: 'chatcmpl-req-bedrock-1',
      choices: [{ message: { content: 'echo: hello there' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 2, completion_tokens: 3 },
    });
    const [rec] = fake.requests;
    expect(rec?.path).toBe(`/model/${encodeURIComponent(MODEL)}/converse`);
    expect(rec?.modelId).toBe(MODEL);
    expect(rec?.headers['x-request-id']).toBe('req-bedrock-1');
    expect(rec?.headers['x-switchyard-region']).toBeUndefined();
    expect(String(rec?.headers.authorization)).toContain(`Credential=${KEY_ID}/`);
    expect(String(rec?.headers.authorization)).toContain(`/${REGION}/bedrock/aws4_request`);
    expect(rec?.body).toEqual({ messages: [{ role: 'user', content: [{ text: 'hello there' }] }] });
  });

  it('sends image bytes: the base64 text of the adapter becomes bytes, which the SDK encodes once', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]).toString('base64');
    const content = [
      { type: 'text', text: 'what is this' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
    ];
    await chunksOf(await send(callOf({ messages: [{ role: 'user', content }] })));
    const body = fake.requests[0]?.body as { messages: { content: Json[] }[] };
    expect(body.messages[0]?.content[1]).toEqual({ image: { format: 'png', source: { bytes: png } } });
  });

  it('streams ConverseStream as one NDJSON line per event, translated to OpenAI chunks with usage', async () => {
    fake.enqueue({ chunkSize: 4 });
    const c = callOf(hi('stream this please', { stream: true }));
    const res = await send(c);
    expect(res.status).toBe(200);
    const lines = await chunksOf(res);
    expect(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
    expect(JSON.parse(lines[0] ?? '')).toEqual({ messageStart: { role: 'assistant' } });
    expect(lines.map((l) => Object.keys(JSON.parse(l))[0])).toEqual([
      'messageStart',
      ...Array(6).fill('contentBlockDelta'),
      'contentBlockStop',
      'messageStop',
      'metadata',
    ]);
    fake.enqueue({ chunkSize: 4 });
    const c2 = callOf(hi('stream this please', { stream: true }));
    const sse = await translated(c2, await send(c2));
    const text = events(sse)
      .flatMap((e) => e.choices as Json[])
      .map((ch) => (ch.delta as Json).content ?? '')
      .join('');
    expect(text).toBe('echo: stream this please');
    expect(events(sse).at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 4 },
    });
    expect(sse.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('streams a tool call: id and name first, then the arguments', async () => {
    const c = callOf(hi('weather in Paris?', { stream: true, tools: [weather] }));
    expect(fake.requests).toHaveLength(0);
    const sse = await translated(c, await send(c));
    const calls = events(sse)
      .flatMap((e) => e.choices as Json[])
      .flatMap((ch) => ((ch.delta as Json).tool_calls as Json[] | undefined) ?? []);
    expect(calls[0]).toMatchObject({
      index: 0,
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    expect(String(calls[0]?.id)).toMatch(/^tooluse_/);
    expect(calls.map((t) => (t.function as Json).arguments).join('')).toBe('{"location":"Paris"}');
    expect(sse).toContain('"finish_reason":"tool_calls"');
    expect(sse.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('answers JSON mode through the forced tool as message content', async () => {
    const c = callOf(hi('hi', { response_format: { type: 'json_object' } }));
    const [text] = await chunksOf(await send(c));
    expect(JSON.parse(c.translator?.body(text ?? '').text ?? '')).toMatchObject({
      choices: [{ message: { content: '{"answer":"echo: hi"}' }, finish_reason: 'stop' }],
    });
  });

  it('turns an error status into a response with the exception name and message, no SDK retry', async () => {
    fake.enqueue({ status: 429 }, { status: 503 });
    const res = await send(callOf(hi('x')));
    expect(res.status).toBe(429);
    const text = (await chunksOf(res)).join('');
    expect(JSON.parse(text)).toEqual({
      __type: 'ThrottlingException',
      message: 'Too many requests, please wait before trying again.',
    });
    expect(bedrockAdapter.parseError(429, text)).toMatchObject({
      code: 'ThrottlingException',
      kind: 'rate_limited',
    });
    expect(fake.requests).toHaveLength(1);
    const unavailable = await send(callOf(hi('x')));
    expect(unavailable.status).toBe(503);
  });

  it('answers a wrong IAM key with 403 UnrecognizedClientException, an auth failure', async () => {
    const stranger = createBedrockTransport({
      credentials: { accessKeyId: 'AKIDOTHER', secretAccessKey: 's' },
    });
    try {
      const res = await send(callOf(hi('x')), stranger);
      const info = bedrockAdapter.parseError(res.status, (await chunksOf(res)).join(''));
      expect(res.status).toBe(403);
      expect(info).toMatchObject({ code: 'UnrecognizedClientException', kind: 'auth' });
    } finally {
      stranger.close();
    }
  });

  it('gives an exception that is the first stream event its documented status, so it can be retried', async () => {
    fake.enqueue({ streamException: { afterEvents: 0, type: 'throttlingException', message: 'slow down' } });
    const res = await send(callOf(hi('x', { stream: true })));
    expect(res.status).toBe(429);
    const info = bedrockAdapter.parseError(res.status, (await chunksOf(res)).join(''));
    expect(info.kind ?? kindOfStatus(res.status, info.code, info.type)).toBe('rate_limited');
  });

  it('ends a stream with the exception line when Bedrock sends one mid-stream', async () => {
    const kinds: Record<string, string> = {
      throttlingException: 'rate_limited',
      modelStreamErrorException: 'server',
    };
    for (const type of ['throttlingException', 'modelStreamErrorException']) {
      fake.enqueue({ streamException: { afterEvents: 3, type, message: `${type} now` } });
      const c = callOf(hi('a longer sentence to stream', { stream: true }));
      const res = await send(c);
      const lines = await chunksOf(res);
      expect(JSON.parse(lines.at(-1) ?? '')).toEqual({ [type]: { message: `${type} now` } });
      fake.enqueue({ streamException: { afterEvents: 3, type, message: `${type} now` } });
      const c2 = callOf(hi('a longer sentence to stream', { stream: true }));
      const sse = await translated(c2, await send(c2));
      expect(events(sse).at(-1)).toEqual({ error: { message: `${type} now`, type, kind: kinds[type] } });
      expect(sse).not.toContain('[DONE]');
    }
  });

  it('reports a connection cut mid-stream as an incomplete answer (no [DONE])', async () => {
    fake.enqueue({ cutAfterEvents: 3 });
    const c = callOf(hi('a longer sentence to stream', { stream: true }));
    const res = await send(c);
    const sse = await translated(c, res).catch((err: unknown) => `thrown: ${String(err)}`);
    expect(sse).not.toContain('[DONE]');
  });

  it('aborts a call waiting for its first byte with the signal reason', async () => {
    fake.enqueue({ firstByteDelayMs: 5000 });
    const controller = new AbortController();
    const reason = new Error('first byte timeout');
    setTimeout(() => controller.abort(reason), 50);
    const started = performance.now();
    await expect(send(callOf(hi('x', { stream: true })), transport, controller.signal)).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('aborts a stream in the middle: the body stops at once and the connection to Bedrock closes', async () => {
    fake.enqueue({ chunkDelayMs: 300 });
    const controller = new AbortController();
    const res = await send(
      callOf(hi('a longer sentence to stream', { stream: true })),
      transport,
      controller.signal,
    );
    const it = res.body[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    const started = performance.now();
    controller.abort(new Error('client went away'));
    await expect(it.next()).rejects.toBeDefined();
    expect(performance.now() - started).toBeLessThan(1000);
    await eventually(() => fake.requests[0]?.clientClosed === true);
  });

  it('dispose() of a stream read only in part closes the connection to Bedrock', async () => {
    fake.enqueue({ chunkDelayMs: 200 });
    const res = await send(callOf(hi('a longer sentence to stream', { stream: true })));
    await res.body[Symbol.asyncIterator]().next();
    res.dispose();
    await eventually(() => fake.requests[0]?.clientClosed === true);
  });

  it('throws ConnectionError when nothing listens at the endpoint', async () => {
    const gone = await startBedrockFake();
    const url = gone.url;
    await gone.close();
    const c = callOf(hi('x'));
    const err = await transport
      .send({
        url: url + c.path,
        method: 'POST',
        headers: c.headers,
        body: c.body ?? '',
        signal: new AbortController().signal,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
  });
});

describe('Bedrock transport as the Lambda bundles it', () => {
  let dir: string;
  let bundled: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sy-bedrock-'));
    // Under node_modules, vitest leaves the bundle to Node's own loader: what runs is what esbuild wrote.
    const root = join(dir, 'node_modules', 'bedrock-task');
    await mkdir(root, { recursive: true });
    bundled = join(root, 'index.mjs');
    await build({
      ...esbuildOptions,
      entryPoints: [new URL('../../functions/aws/bedrock-transport.ts', import.meta.url).pathname],
      outfile: bundled,
      logLevel: 'error',
    });
    execSync(bedrockSideFileCommand(root), { shell: '/bin/bash', stdio: 'pipe' });
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the SDK out of the bundle: its import is the side file next to it', async () => {
    const text = await readFile(bundled, 'utf8');
    expect(text).toContain(`import("./${BEDROCK_SIDE_FILE}")`);
    expect(text).not.toContain('AmazonBedrockFrontendService');
    const side = await readFile(join(bundled, '..', BEDROCK_SIDE_FILE), 'utf8');
    expect(side).toContain('AmazonBedrockFrontendService');
    expect((await stat(bundled)).size).toBeLessThan(200_000);
  });

  it('loads the side file on the first call and streams through it', async () => {
    const mod = (await import(pathToFileURL(bundled).href)) as {
      createBedrockTransport: typeof createBedrockTransport;
    };
    const lambdaTransport = mod.createBedrockTransport({ credentials });
    try {
      const c = callOf(hi('from the bundle', { stream: true }));
      const sse = await translated(c, await send(c, lambdaTransport));
      expect(sse).toContain('echo: ');
      expect(sse.endsWith('data: [DONE]\n\n')).toBe(true);
    } finally {
      lambdaTransport.close();
    }
  });
});
