// A fake OpenAI-compatible upstream: a real node:http server on 127.0.0.1 speaking the
// OpenAI wire format, with per-request fault injection. Used by e2e tests and the bench,
// so the default path does no logging and no work beyond JSON parse/stringify.

import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type ApiError,
  apiError,
  authError,
  BAD_JSON_MESSAGE,
  behaviourError,
} from './fake-openai-errors.ts';
import { responses } from './fake-openai-responses.ts';
import {
  type ChatAnswer,
  chatChunkFrames,
  chatCompletionBody,
  countWords,
  hexId,
  isRecord,
  type Json,
  type ReqState,
  textOf,
  usageObject,
  writeStream,
} from './fake-openai-stream.ts';
import {
  type FakeServer,
  type RecordedRequest,
  recordOf,
  type ServerBehaviour,
  sendBody,
  sendHalf,
  startFakeServer,
} from './fake-server-kit.ts';

export type { RecordedRequest };

export interface FakeBehaviour extends ServerBehaviour {
  status?: number;
  errorType?: string;
  errorCode?: string | null;
  errorMessage?: string;
  /** The error body's `param` (null unless set, or the code implies one). */
  errorParam?: string;
  retryAfter?: string;
  retryAfterMs?: string;
  chunkDelayMs?: number;
  /** Chunk 1 is the first (role) chunk; see writeStream in fake-openai-stream.ts. */
  stallAfterChunks?: number;
  stallMs?: number;
  /** Chunk 1 is the first (role) chunk; see writeStream in fake-openai-stream.ts. */
  cutAfterChunks?: number;
  content?: string;
  /** Stream: send `data: [DONE]` and then keep the response open (an upstream that never closes its end). */
  holdOpenAfterDone?: boolean;
  /** Stream: HTTP 200, then this error as the first event, then the connection closes. */
  streamErrorFirst?: { message: string; type?: string; code?: string };
  chunkSize?: number;
  toolArguments?: string;
  /** The usage to report (null: none at all); cached/reasoning go into the *_tokens_details. */
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    cached_tokens?: number;
    reasoning_tokens?: number;
  } | null;
  model?: string;
  /**
   * Answer exactly this, whatever was asked: a status, headers and a body (or `bytes` of filler sent in
   * 64 KiB chunks) — an HTML login page with 200, a redirect, a 204, a huge body.
   */
  raw?: { status: number; headers?: Record<string, string>; body?: string; bytes?: number };
  /** Prompt tokens billed per `image_url` part, on top of the text (OpenAI: 765 for a 1024×1024 image). */
  promptTokensPerImage?: number;
  /** `/v1/responses`: the Response fails with this error (status `failed`; streamed: `response.failed`). */
  responseFailed?: { code: string; message: string };
}
export interface FakeOpenAI extends FakeServer<FakeBehaviour> {
  /** The base URL a gateway config uses (`…/v1`). */
  url: string;
}

const MODELS_BODY = JSON.stringify({
  object: 'list',
  data: ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'text-embedding-3-small', 'text-embedding-3-large'].map(
    (id) => ({ id, object: 'model', created: 1715367049, owned_by: 'fake' }),
  ),
});
const sendJson = (res: ServerResponse, status: number, h: Record<string, string>, body: string): void =>
  sendBody(res, status, { ...h, 'content-type': 'application/json' }, body);
const sendError = (res: ServerResponse, status: number, h: Record<string, string>, e: ApiError): void =>
  sendJson(res, status, h, JSON.stringify({ error: e }));

/** Name of the tool to call, or undefined when the request should get a text answer. */
function pickTool(body: Json): string | undefined {
  const tools = body.tools;
  if (!Array.isArray(tools) || tools.length === 0 || body.tool_choice === 'none') return undefined;
  const tc = body.tool_choice;
  if (isRecord(tc) && isRecord(tc.function) && typeof tc.function.name === 'string') return tc.function.name;
  for (const t of tools) {
    if (isRecord(t) && isRecord(t.function) && typeof t.function.name === 'string') return t.function.name;
  }
  return undefined;
}

function chat(
  res: ServerResponse,
  st: ReqState,
  h: Record<string, string>,
  b: FakeBehaviour,
  body: Json,
): void {
  const messages = body.messages;
  if (!Array.isArray(messages)) {
    const e = apiError(
      "Missing required parameter: 'messages'.",
      'invalid_request_error',
      'missing_required_parameter',
    );
    e.param = 'messages';
    sendError(res, 400, h, e);
    return;
  }
  let promptWords = 0;
  let images = 0;
  let lastUser = '';
  for (const m of messages) {
    if (!isRecord(m)) continue;
    const text = textOf(m.content);
    promptWords += countWords(text);
    if (m.role === 'user') lastUser = text;
    if (Array.isArray(m.content)) {
      images += m.content.filter((p) => isRecord(p) && p.type === 'image_url').length;
    }
  }
  const last: unknown = messages[messages.length - 1];
  const toolResult = isRecord(last) && last.role === 'tool' ? textOf(last.content) : undefined;
  // An explicit behaviour.content forces a text answer even when tools are offered.
  const toolName = toolResult === undefined && b.content === undefined ? pickTool(body) : undefined;
  const n = typeof body.n === 'number' && body.n >= 1 ? Math.floor(body.n) : 1;
  let content: string | null = null;
  let tool: ChatAnswer['tool'];
  if (toolName !== undefined) {
    tool = { name: toolName, arguments: b.toolArguments ?? '{"location":"Paris"}' };
  } else {
    const echo = toolResult === undefined ? `echo: ${lastUser}` : `tool said: ${toolResult}`;
    const rf = isRecord(body.response_format) ? body.response_format.type : undefined;
    const json = rf === 'json_object' || rf === 'json_schema';
    content = b.content ?? (json ? JSON.stringify({ answer: echo }) : echo);
  }
  const u = b.usage;
  const completionWords = countWords(content ?? tool?.arguments ?? '') * n;
  const answer: ChatAnswer = {
    id: `chatcmpl-${hexId()}`,
    created: Math.floor(Date.now() / 1000),
    model: b.model ?? (typeof body.model === 'string' ? body.model : 'gpt-4o-mini'),
    n,
    content,
    tool,
    usage:
      u === null
        ? null
        : usageObject(
            (u?.prompt_tokens ?? promptWords) + images * (b.promptTokensPerImage ?? 0),
            u?.completion_tokens ?? completionWords,
            u?.cached_tokens,
            u?.reasoning_tokens,
          ),
  };
  if (body.stream === true) {
    const so = body.stream_options;
    const withUsage = isRecord(so) && so.include_usage === true && answer.usage !== null;
    if (b.streamErrorFirst !== undefined) {
      // A relay that answers 200, then an error as its first (and only) event, then closes.
      const frames = [`data: ${JSON.stringify({ error: b.streamErrorFirst })}\n\n`];
      writeStream(res, st, h, frames, { ...b, cutAfterChunks: 1 });
      return;
    }
    const frames = chatChunkFrames(answer, Math.max(1, b.chunkSize ?? 8), withUsage);
    writeStream(res, st, h, frames, b);
    return;
  }
  const text = chatCompletionBody(answer);
  if (b.cutAfterChunks === undefined && b.stallAfterChunks === undefined) {
    sendJson(res, 200, h, text);
    return;
  }
  // Non-stream faults: headers (with the full content-length) go out, then the body is
  // truncated halfway (cutAfterChunks) or held back for stallMs / forever (stallAfterChunks).
  const jsonHeaders = { ...h, 'content-type': 'application/json' };
  if (b.cutAfterChunks !== undefined) {
    sendHalf(res, jsonHeaders, text);
    return;
  }
  res.writeHead(200, { ...jsonHeaders, 'content-length': String(Buffer.byteLength(text)) });
  res.flushHeaders();
  if (b.stallMs !== undefined) st.timer = setTimeout(() => res.end(text), b.stallMs);
}

/** Deterministic unit vector in [-1, 1]^dims from the text (FNV-1a seed, mulberry32), float32-exact. */
function embed(text: string, dims: number): number[] {
  let seed = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) seed = Math.imul(seed ^ text.charCodeAt(i), 0x01000193);
  const v: number[] = [];
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const x = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
    v.push(x);
    norm += x * x;
  }
  const k = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return v.map((x) => Math.fround(x * k));
}

function embeddings(res: ServerResponse, h: Record<string, string>, b: FakeBehaviour, body: Json): void {
  const input: unknown = body.input;
  let raw: unknown[] = [];
  if (typeof input === 'string') raw = [input];
  else if (Array.isArray(input)) {
    const items: unknown[] = input;
    raw = typeof items[0] === 'number' ? [items] : items;
  }
  if (raw.length === 0) {
    const e = apiError(
      "'input' : input must be a string or an array of strings or tokens.",
      'invalid_request_error',
      null,
      'input',
    );
    sendError(res, 400, h, e);
    return;
  }
  const dims = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.floor(body.dimensions) : 8;
  const base64 = body.encoding_format === 'base64';
  let tokens = 0;
  const data = raw.map((item, index) => {
    const toks: unknown[] | undefined = Array.isArray(item) ? item : undefined;
    const text = toks ? toks.join(' ') : String(item);
    tokens += toks ? toks.length : countWords(text);
    const vec = embed(text, dims);
    const embedding = base64 ? Buffer.from(new Float32Array(vec).buffer).toString('base64') : vec;
    return { object: 'embedding', index, embedding };
  });
  const model = b.model ?? (typeof body.model === 'string' ? body.model : 'text-embedding-3-small');
  const out: Json = { object: 'list', data, model };
  const u = b.usage;
  if (u !== null)
    out.usage = { prompt_tokens: u?.prompt_tokens ?? tokens, total_tokens: u?.prompt_tokens ?? tokens };
  sendJson(res, 200, h, JSON.stringify(out));
}

function sendRaw(
  res: ServerResponse,
  h: Record<string, string>,
  raw: NonNullable<FakeBehaviour['raw']>,
): void {
  if (raw.bytes === undefined) {
    sendBody(res, raw.status, { ...h, ...raw.headers }, raw.body ?? '');
    return;
  }
  res.writeHead(raw.status, { ...h, 'content-length': String(raw.bytes), ...raw.headers });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let left = raw.bytes;
  const more = (): void => {
    while (left > 0 && !res.destroyed) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once('drain', more);
        return;
      }
    }
    res.end();
  };
  more();
}

/**
 * `responses: false` is a relay that serves chat and embeddings only: `/v1/responses` is a 404, as an unknown
 * path is.
 */
export async function startFakeOpenAI(
  opts: { apiKey?: string; record?: boolean; responses?: boolean } = {},
): Promise<FakeOpenAI> {
  const { apiKey } = opts;
  const servesResponses = opts.responses ?? true;
  const expectedAuth = apiKey === undefined ? undefined : `Bearer ${apiKey}`;

  const respond = (
    req: IncomingMessage,
    res: ServerResponse,
    st: ReqState,
    b: FakeBehaviour,
    body: unknown,
  ): void => {
    const h: Record<string, string> = { 'x-request-id': `req_${hexId()}` };
    const echo = req.headers['x-request-id'];
    if (typeof echo === 'string') h['x-echo-request-id'] = echo;
    if (b.retryAfter !== undefined) h['retry-after'] = b.retryAfter;
    if (b.retryAfterMs !== undefined) h['retry-after-ms'] = b.retryAfterMs;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const isApiPost =
      req.method === 'POST' &&
      (path === '/v1/chat/completions' ||
        path === '/v1/embeddings' ||
        (servesResponses && path === '/v1/responses'));
    if (expectedAuth !== undefined && req.headers.authorization !== expectedAuth) {
      sendError(res, 401, h, authError(req.headers.authorization));
    } else if (b.raw !== undefined) {
      sendRaw(res, h, b.raw);
    } else if (b.status !== undefined) {
      const model = isRecord(body) && typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
      sendError(res, b.status, h, behaviourError(b, b.status, model));
    } else if (isApiPost && !isRecord(body)) {
      sendError(res, 400, h, apiError(BAD_JSON_MESSAGE, 'invalid_request_error', null));
    } else if (isApiPost && isRecord(body)) {
      if (path === '/v1/embeddings') embeddings(res, h, b, body);
      else if (path === '/v1/responses') responses(res, st, h, b, body);
      else chat(res, st, h, b, body);
    } else if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, h, MODELS_BODY);
    } else {
      sendError(res, 404, h, apiError(`Invalid URL (${req.method} ${path})`, 'invalid_request_error', null));
    }
  };

  const fake = await startFakeServer({
    respond,
    recordOf,
    record: opts.record ?? true,
    keepAliveTimeout: 60_000,
    headersTimeout: 65_000,
  });
  return { ...fake, url: `${fake.origin}/v1` };
}
