/**
 * The `mock` provider: an in-process upstream that speaks the OpenAI wire format, so demos and tests run
 * offline through the very same code path as a real relay. It echoes the last user message, calls the first
 * offered tool (the named one under a `tool_choice` naming it) and answers a tool result with text
 * (`tool said: …`, so an agent loop ends), and obeys directives written in the last user message:
 *   /fail <status> [code]   answer with that HTTP status (e.g. `/fail 429 insufficient_quota`)
 *   /slow <ms>              wait before the first byte
 *   /drip <ms>              wait between stream chunks
 *   /cut <n>                cut the stream after n chunks
 */
import { isRecord } from '../../json.ts';
import { embeddingsBody } from '../openai/wire.ts';
import type { HttpClient, UpstreamHttpResponse } from '../types.ts';

const encoder = new TextEncoder();

interface Directives {
  fail?: { status: number; code: string | undefined };
  slowMs: number;
  dripMs: number;
  cutAfter: number | undefined;
}

function lastUserText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown } | undefined;
    if (m?.role !== 'user' && m?.role !== 'tool') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      return m.content
        .map((p: unknown) => (typeof p === 'object' && p !== null && 'text' in p ? String(p.text) : ''))
        .join(' ');
    }
  }
  return '';
}

function directives(text: string): Directives {
  const d: Directives = { slowMs: 0, dripMs: 0, cutAfter: undefined };
  for (const m of text.matchAll(/\/(fail|slow|drip|cut)\s+(\d+)(?:\s+([a-z_]+))?/g)) {
    const n = Number(m[2]);
    if (m[1] === 'fail') d.fail = { status: n, code: m[3] };
    else if (m[1] === 'slow') d.slowMs = n;
    else if (m[1] === 'drip') d.dripMs = n;
    else d.cutAfter = n;
  }
  return d;
}

const words = (s: string): number => (s.trim() === '' ? 0 : s.trim().split(/\s+/).length);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function jsonText(status: number, text: string, headers: Record<string, string> = {}): UpstreamHttpResponse {
  const bytes = encoder.encode(text);
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: (async function* () {
      yield bytes;
    })(),
    dispose() {},
  };
}

const json = (status: number, value: unknown, headers: Record<string, string> = {}): UpstreamHttpResponse =>
  jsonText(status, JSON.stringify(value), headers);

function errorFor(status: number, code: string | undefined): UpstreamHttpResponse {
  const type =
    code === 'insufficient_quota'
      ? 'insufficient_quota'
      : status >= 500
        ? 'server_error'
        : 'invalid_request_error';
  const retry: Record<string, string> =
    status === 429 && code !== 'insufficient_quota' ? { 'retry-after-ms': '50' } : {};
  return json(
    status,
    { error: { message: `mock failure ${status}`, type, code: code ?? null, param: null } },
    retry,
  );
}

/**
 * Deterministic vectors (an FNV-1a walk over the text), `dimensions` long (default 8). `encoding_format:
 * base64` gets OpenAI's little-endian float32 bytes: the openai SDK (v4 on), LangChain and LlamaIndex ask
 * for base64 by default and decode it, so floats there would decode into garbage.
 */
/** OpenAI's largest embedding is 3,072 numbers; the mock refuses more, like an API would (no 1e9 arrays). */
export const MOCK_MAX_DIMENSIONS = 4096;

function embeddings(body: Record<string, unknown>, model: string): UpstreamHttpResponse {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const dims = typeof body.dimensions === 'number' ? body.dimensions : 8;
  if (dims > MOCK_MAX_DIMENSIONS) {
    return jsonText(
      400,
      JSON.stringify({
        error: {
          message: `dimensions must be at most ${MOCK_MAX_DIMENSIONS}`,
          type: 'invalid_request_error',
          param: 'dimensions',
          code: null,
        },
      }),
    );
  }
  let tokens = 0;
  const vectors = inputs.map((input) => {
    const text = typeof input === 'string' ? input : JSON.stringify(input);
    tokens += words(text);
    // The text is hashed once (FNV-1a), then each number is a step of a small generator from that seed:
    // linear in the text plus the dimensions, never their product.
    let h = 2166136261;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
    return Array.from({ length: dims }, () => {
      h = Math.imul(h ^ (h >>> 15), 2246822507);
      h = Math.imul(h ^ (h >>> 13), 3266489909);
      h ^= h >>> 16;
      return ((h >>> 0) / 0xffffffff) * 2 - 1;
    });
  });
  const encoding = body.encoding_format === 'base64' ? 'base64' : 'float';
  return jsonText(200, embeddingsBody(vectors, model, encoding, tokens));
}

/**
 * The tool call to make, if any. Tools offered and not switched off get a call — except right after a tool
 * result (the last message is `role: tool`), which gets text as from a real model that has its answer, so
 * agent loops end; a `tool_choice` that forces a call (`required`, or a named function) forces it anyway,
 * as OpenAI does.
 */
function toolToCall(body: Record<string, unknown>): string | undefined {
  const tools = Array.isArray(body.tools) ? (body.tools as { function?: { name?: unknown } }[]) : [];
  const choice = body.tool_choice;
  if (tools.length === 0 || choice === 'none') return undefined;
  const named = isRecord(choice) && isRecord(choice.function) ? choice.function.name : undefined;
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: unknown }[]) : [];
  const afterToolResult = messages.at(-1)?.role === 'tool';
  if (afterToolResult && choice !== 'required' && named === undefined) return undefined;
  const name = named ?? tools[0]?.function?.name;
  return typeof name === 'string' ? name : 'tool';
}

function chatChunks(
  body: Record<string, unknown>,
  model: string,
  text: string,
): { chunks: object[]; usage: object } {
  const id = `chatcmpl-mock${Date.now().toString(36)}`;
  const created = Math.floor(Date.now() / 1000);
  const base = { id, object: 'chat.completion.chunk', created, model };
  const tool = toolToCall(body);
  const messages = Array.isArray(body.messages)
    ? (body.messages as { role?: unknown; content?: unknown }[])
    : [];
  const said = messages.at(-1)?.role === 'tool' ? `tool said: ${text}` : `echo: ${text}`;
  const format = (body.response_format as { type?: string } | undefined)?.type;
  const content =
    format === 'json_object' || format === 'json_schema' ? JSON.stringify({ echo: text }) : said;
  const chunks: object[] = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
  ];
  if (tool !== undefined) {
    const call = {
      index: 0,
      id: 'call_mock',
      type: 'function',
      function: { name: tool, arguments: JSON.stringify({ text }) },
    };
    chunks.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [call] }, finish_reason: null }] });
    chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] });
  } else {
    for (const piece of content.match(/.{1,16}/gs) ?? []) {
      chunks.push({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
    }
    chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  }
  const prompt = messages.reduce((n, m) => n + words(JSON.stringify(m.content ?? '')), 0);
  const usage = {
    prompt_tokens: prompt,
    completion_tokens: words(content),
    total_tokens: prompt + words(content),
  };
  return { chunks, usage };
}

/**
 * Folds stream chunks into one `chat.completion` (the non-stream answer). `index` belongs to stream deltas
 * only (it says which call a fragment continues): a message's `tool_calls` carry id, type and function.
 */
function completion(chunks: object[], usage: object): object {
  const first = chunks[0] as { id: string; created: number; model: string };
  let content = '';
  let finish = 'stop';
  let toolCalls: unknown;
  for (const c of chunks as {
    choices: {
      delta: { content?: string; tool_calls?: { index: number }[] };
      finish_reason: string | null;
    }[];
  }[]) {
    const ch = c.choices[0];
    if (ch?.delta.content) content += ch.delta.content;
    if (ch?.delta.tool_calls) toolCalls = ch.delta.tool_calls.map(({ index: _, ...call }) => call);
    if (ch?.finish_reason) finish = ch.finish_reason;
  }
  const message =
    toolCalls === undefined
      ? { role: 'assistant', content }
      : { role: 'assistant', content: null, tool_calls: toolCalls };
  return {
    id: first.id,
    object: 'chat.completion',
    created: first.created,
    model: first.model,
    choices: [{ index: 0, message, finish_reason: finish }],
    usage,
  };
}

export const mockTransport: HttpClient = {
  async send({ url, body: raw, signal }) {
    const body = (raw === undefined ? {} : JSON.parse(raw)) as Record<string, unknown>;
    const model = typeof body.model === 'string' ? body.model : 'mock';
    if (url.endsWith('/models'))
      return json(200, { object: 'list', data: [{ id: model, object: 'model', owned_by: 'mock' }] });
    if (url.endsWith('/embeddings')) return embeddings(body, model);
    const text = lastUserText(body);
    const d = directives(text);
    await sleep(d.slowMs, signal);
    if (d.fail !== undefined) return errorFor(d.fail.status, d.fail.code);
    const { chunks, usage } = chatChunks(body, model, text);
    if (body.stream !== true) return json(200, completion(chunks, usage));
    const includeUsage =
      (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const withUsage = includeUsage
      ? [...chunks.map((c) => ({ ...c, usage: null })), { ...chunks[0], choices: [], usage }]
      : chunks;
    return {
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      body: (async function* () {
        let n = 0;
        for (const c of withUsage) {
          if (d.cutAfter !== undefined && n >= d.cutAfter) throw new Error('mock: connection cut');
          if (n > 0) await sleep(d.dripMs, signal);
          yield encoder.encode(`data: ${JSON.stringify(c)}\n\n`);
          n++;
        }
        yield encoder.encode('data: [DONE]\n\n');
      })(),
      dispose() {},
    };
  },
};
