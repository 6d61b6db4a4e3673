// A fake OpenAI-compatible relay for `switchyard validate`: well-behaved by default (Bearer key, 404 for an
// unknown model, deterministic answers, a memory of earlier turns, JSON modes, streams of many small chunks a
// few ms apart with a final usage chunk, o200k usage, a one-api billing panel), with fault switches that each
// turn on exactly one kind of misbehaviour. Answers and SSE frames come from fake-openai-stream.ts.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { Tiktoken, type TiktokenBPE } from 'js-tiktoken/lite';
import type { RecordedRequest } from './fake-openai.ts';
import {
  type ChatAnswer,
  chatChunkFrames,
  chatCompletionBody,
  hexId,
  isRecord,
  type Json,
  type ReqState,
  textOf,
  usageObject,
  writeStream,
} from './fake-openai-stream.ts';
import { listenOnLoopback } from './loopback.ts';

/** What the relay charges (USD per 1M tokens) for the usage it reports. */
export const FAKE_RELAY_PRICES = { input: 2, output: 8 } as const;
/** Usage the relay adds to the tokens of the message contents (role and separators, as OpenAI does). */
export const PER_MESSAGE_OVERHEAD = 4;
export const REPLY_OVERHEAD = 2;

export interface RelayFaults {
  /** Streams are held back and written in one write at the end. */
  readonly bufferStream?: boolean;
  /** Reported (and billed) usage is the true count times this. */
  readonly usageFactor?: number;
  /** 500 while more than this many chat requests are in flight. */
  readonly failAboveConcurrency?: number;
  /** 200 whatever the key. */
  readonly acceptAnyKey?: boolean;
  /** Plain text whatever `response_format` asks for. */
  readonly ignoreJsonMode?: boolean;
  /** 404 on the billing panel. */
  readonly noBilling?: boolean;
  /** The billing panel shows a balance of 0 (requests are still served). */
  readonly zeroBalance?: boolean;
  // Beyond the list, so every check's fail rule meets a relay that breaks it:
  /** Answers any model name as if it existed. */
  readonly acceptAnyModel?: boolean;
  /** Reads only the last message of a conversation. */
  readonly forgetTurns?: boolean;
  /** A different answer every time, temperature 0 or not. */
  readonly randomAnswers?: boolean;
  /** No usage chunk at the end of a stream, even when asked for. */
  readonly noStreamUsage?: boolean;
  /** No usage in any answer, streamed or not. */
  readonly noUsage?: boolean;
  /** Bills this many times the usage it reports. */
  readonly billFactor?: number;
  /** The request after a stream the client gave up on fails (502), as if it got the dead upstream connection. */
  readonly failAfterAbort?: boolean;
}

export interface FakeRelayOptions {
  readonly key?: string;
  readonly models?: readonly string[];
  /** Delay between stream chunks (default 5 ms). */
  readonly chunkGapMs?: number;
  /** Time a non-stream answer takes (default 5 ms), so that requests sent together overlap. */
  readonly latencyMs?: number;
  /** Rate limit: 429 once `perSecond` chat requests arrived within the last second. */
  readonly rateLimit?: { readonly perSecond: number; readonly retryAfter?: boolean };
  /** The key's quota in USD (the billing panel's `hard_limit_usd`), default 100. */
  readonly quotaUsd?: number;
  readonly faults?: RelayFaults;
}

export interface FakeRelay {
  /** …/v1 */
  readonly url: string;
  readonly origin: string;
  readonly key: string;
  readonly requests: RecordedRequest[];
  setFaults(f: RelayFaults): void;
  /** USD billed so far. */
  spentUsd(): number;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
let encoder: Tiktoken | undefined;
const o200k = (): Tiktoken => {
  encoder ??= new Tiktoken(require('js-tiktoken/ranks/o200k_base') as TiktokenBPE);
  return encoder;
};
const countTokens = (s: string): number => (s === '' ? 0 : o200k().encode(s, [], []).length);

const VOCABULARY = (
  'river stone light orange quiet market garden paper window silver morning bridge cloud engine ' +
  'forest letter signal harbour meadow copper lantern valley thunder violet canvas pepper island ' +
  'marble falcon compass velvet ember glacier saddle timber orbit kettle prairie'
).split(' ');

/** A sentence that depends only on `seed`: the same question gets the same answer. */
function prose(seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  const words = Array.from(digest.subarray(0, 14), (b) => VOCABULARY[b % VOCABULARY.length]);
  return `The answer is ${words.join(' ')}.`;
}

/** A value for a JSON schema: every property (required or not) with a value of its type. */
function sampleOf(schema: unknown, name: string): unknown {
  if (!isRecord(schema)) return `sample ${name}`;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  switch (schema.type) {
    case 'object': {
      const out: Json = {};
      const props = isRecord(schema.properties) ? schema.properties : {};
      for (const [k, v] of Object.entries(props)) out[k] = sampleOf(v, k);
      return out;
    }
    case 'array':
      return [sampleOf(schema.items, name)];
    case 'number':
    case 'integer':
      return 42;
    case 'boolean':
      return true;
    default:
      return `sample ${name}`;
  }
}

function plainAnswer(messages: readonly Json[], faults: RelayFaults): string {
  const texts = messages.map((m) => textOf(m.content));
  const last = texts.at(-1) ?? '';
  const count = /count from (\d+) to (\d+)/i.exec(last);
  if (count) {
    const [from, to] = [Number(count[1]), Math.min(Number(count[2]), 500)];
    return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => String(from + i)).join(', ');
  }
  const echo = /reply with the word (\w+)/i.exec(last)?.[1];
  if (echo !== undefined) return echo;
  if (/code word is\s+[\w-]+/i.test(last)) return 'OK';
  if (/what is the code word/i.test(last)) {
    const earlier = faults.forgetTurns ? [] : texts.slice(0, -1);
    const word = earlier.map((t) => /code word is\s+([\w-]+)/i.exec(t)?.[1]).find((w) => w !== undefined);
    return word ?? 'I do not know any code word.';
  }
  return prose(faults.randomAnswers ? hexId() : last);
}

function answerText(body: Json, messages: readonly Json[], faults: RelayFaults): string {
  const rf = isRecord(body.response_format) ? body.response_format : undefined;
  const text = plainAnswer(messages, faults);
  if (faults.ignoreJsonMode || rf === undefined) return text;
  if (rf.type === 'json_object') return JSON.stringify({ answer: text });
  if (rf.type === 'json_schema' && isRecord(rf.json_schema)) {
    return JSON.stringify(sampleOf(rf.json_schema.schema, 'value'));
  }
  return text;
}

/** The answer cut to `max_tokens` (as a model stops at its limit). */
function truncate(text: string, maxTokens: unknown): string {
  if (typeof maxTokens !== 'number') return text;
  const tokens = o200k().encode(text, [], []);
  return tokens.length <= maxTokens ? text : o200k().decode(tokens.slice(0, maxTokens));
}

const errorBody = (message: string, type: string, code: string | null, param: string | null = null) =>
  JSON.stringify({ error: { message, type, param, code } });

export async function startFakeRelay(opts: FakeRelayOptions = {}): Promise<FakeRelay> {
  const key = opts.key ?? 'sk-relay-validate-test';
  const models = opts.models ?? ['fake-gpt'];
  const gap = opts.chunkGapMs ?? 5;
  const latency = opts.latencyMs ?? 5;
  const quotaUsd = opts.quotaUsd ?? 100;
  const requests: RecordedRequest[] = [];
  let faults: RelayFaults = opts.faults ?? {};
  let spentUsd = 0;
  let inFlight = 0;
  let poisoned = false;
  const arrivals: number[] = [];

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };

  const bill = (prompt: number, completion: number): void => {
    const usd = (prompt * FAKE_RELAY_PRICES.input + completion * FAKE_RELAY_PRICES.output) / 1e6;
    spentUsd += usd * (faults.billFactor ?? 1);
  };

  function billing(path: string, res: ServerResponse): void {
    if (faults.noBilling) {
      send(res, 404, errorBody(`Invalid URL (GET ${path})`, 'invalid_request_error', null));
      return;
    }
    // A used-up quota: the whole quota is what was spent (as the adapter reads it back from cents).
    const hardLimit = faults.zeroBalance ? (spentUsd * 100) / 100 : quotaUsd;
    if (path.endsWith('/subscription')) {
      const sub = { object: 'billing_subscription', has_payment_method: true, access_until: 0 };
      const limits = {
        soft_limit_usd: hardLimit,
        hard_limit_usd: hardLimit,
        system_hard_limit_usd: hardLimit,
      };
      send(res, 200, JSON.stringify({ ...sub, ...limits }));
      return;
    }
    send(res, 200, JSON.stringify({ object: 'list', total_usage: spentUsd * 100 }));
  }

  /** The first reason to refuse a chat request, in the order a relay checks them; undefined: serve it. */
  function refusal(body: Json, authorized: boolean): [number, string, Record<string, string>?] | undefined {
    if (!authorized && !faults.acceptAnyKey) {
      return [401, errorBody('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key')];
    }
    const model = typeof body.model === 'string' ? body.model : '';
    if (!models.includes(model) && !faults.acceptAnyModel) {
      const message = `The model \`${model}\` does not exist or you do not have access to it.`;
      return [404, errorBody(message, 'invalid_request_error', 'model_not_found', 'model')];
    }
    const now = Date.now();
    while (arrivals.length > 0 && (arrivals[0] ?? 0) <= now - 1000) arrivals.shift();
    arrivals.push(now);
    if (opts.rateLimit !== undefined && arrivals.length > opts.rateLimit.perSecond) {
      const headers = opts.rateLimit.retryAfter === false ? {} : { 'retry-after': '1' };
      const message = `Rate limit reached: ${opts.rateLimit.perSecond} requests per second.`;
      return [429, errorBody(message, 'requests', 'rate_limit_exceeded'), headers];
    }
    if (poisoned) {
      poisoned = false;
      return [502, errorBody('Upstream connection reset.', 'server_error', null)];
    }
    if (faults.failAboveConcurrency !== undefined && inFlight > faults.failAboveConcurrency) {
      return [500, errorBody('The server is overloaded.', 'server_error', null)];
    }
    return undefined;
  }

  function chat(body: Json, res: ServerResponse, st: ReqState, authorized: boolean): void {
    const refused = refusal(body, authorized);
    if (refused !== undefined) {
      send(res, refused[0], refused[1], refused[2]);
      return;
    }
    const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
    const content = truncate(answerText(body, messages, faults), body.max_tokens);
    const factor = faults.usageFactor ?? 1;
    let prompt = REPLY_OVERHEAD;
    for (const m of messages) prompt += PER_MESSAGE_OVERHEAD + countTokens(textOf(m.content));
    const usage = {
      prompt: Math.round(prompt * factor),
      completion: Math.round(countTokens(content) * factor),
    };
    bill(usage.prompt, usage.completion);
    const answer: ChatAnswer = {
      id: `chatcmpl-${hexId().slice(0, 24)}`,
      created: Math.floor(Date.now() / 1000),
      model: typeof body.model === 'string' ? body.model : (models[0] ?? 'fake-gpt'),
      n: 1,
      content,
      tool: undefined,
      usage: faults.noUsage ? null : usageObject(usage.prompt, usage.completion),
    };
    if (body.stream !== true) {
      st.timer = setTimeout(() => send(res, 200, chatCompletionBody(answer)), latency);
      return;
    }
    const so = isRecord(body.stream_options) ? body.stream_options : {};
    const frames = chatChunkFrames(answer, 4, so.include_usage === true && !faults.noStreamUsage);
    res.on('close', () => {
      if (faults.failAfterAbort && !res.writableFinished) poisoned = true;
    });
    if (!faults.bufferStream) {
      writeStream(res, st, {}, frames, { chunkDelayMs: gap });
      return;
    }
    // A buffering proxy: nothing until the upstream finished, then every chunk in one write.
    st.timer = setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(`${frames.join('')}data: [DONE]\n\n`);
    }, gap * frames.length);
  }

  function route(req: IncomingMessage, res: ServerResponse, st: ReqState, body: unknown): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const authorized = req.headers.authorization === `Bearer ${key}`;
    if (req.method === 'GET' && path.startsWith('/v1/dashboard/billing/')) {
      if (!authorized) {
        send(res, 401, errorBody('Invalid token.', 'new_api_error', ''));
        return;
      }
      billing(path, res);
      return;
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      send(res, 404, errorBody(`Invalid URL (${req.method} ${path})`, 'invalid_request_error', null));
      return;
    }
    if (!isRecord(body)) {
      send(res, 400, errorBody('The body is not JSON.', 'invalid_request_error', null));
      return;
    }
    inFlight++;
    res.on('close', () => inFlight--);
    chat(body, res, st, authorized);
  }

  const server = createServer((req, res) => {
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body: undefined,
    };
    requests.push(rec);
    const st: ReqState = { closed: false, timer: undefined };
    res.on('close', () => {
      st.closed = true;
      if (st.timer !== undefined) clearTimeout(st.timer);
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      try {
        rec.body = raw === '' ? undefined : (JSON.parse(raw) as unknown);
      } catch {
        rec.body = raw;
      }
      route(req, res, st, rec.body);
    });
  });
  const listening = await listenOnLoopback(server);
  return {
    url: `${listening.origin}/v1`,
    origin: listening.origin,
    key,
    requests,
    setFaults: (f) => {
      faults = f;
      poisoned = false;
    },
    spentUsd: () => spentUsd,
    close: listening.close,
  };
}
