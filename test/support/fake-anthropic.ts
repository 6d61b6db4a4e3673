// A fake Anthropic Messages API: a real node:http server on 127.0.0.1 speaking Anthropic's wire format
// (POST /v1/messages, x-api-key, named SSE events, {"type":"error","error":{type,message}} bodies), with the
// same answers and per-request fault injection as fake-openai.ts so one e2e suite runs over both.
// Formats: https://docs.anthropic.com/en/api/messages, …/en/docs/build-with-claude/streaming, …/en/api/errors

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Json, ReqState } from './fake-openai-stream.ts';
import { countWords, hexId, isRecord, split } from './fake-openai-stream.ts';
import {
  type FakeServer,
  type RecordedRequest,
  recordOf,
  type ServerBehaviour,
  sendBody,
  startFakeServer,
  writeFrames,
} from './fake-server-kit.ts';

export interface AnthropicBehaviour extends ServerBehaviour {
  /** Answer this status with Anthropic's error body for it (errorType / errorMessage override). */
  status?: number;
  errorType?: string;
  errorMessage?: string;
  /** retry-after seconds; a 429 carries '1' unless this says otherwise (null: no header). */
  retryAfter?: string | null;
  chunkDelayMs?: number;
  /** Stream: the connection drops after this many SSE events (pings included), before message_stop. */
  cutAfterEvents?: number;
  /** Stream: after this many events an `event: error` (default overloaded_error "Overloaded") ends it. */
  errorAfterEvents?: number;
  /** A text answer with this content, even when tools are offered. */
  content?: string;
  /** The tool input (JSON text) of a tool answer. */
  toolInput?: string;
  /** A thinking block before the answer. */
  thinking?: string;
  stopReason?: string;
  /** Characters per text_delta / input_json_delta (default 8). */
  chunkSize?: number;
  /** The usage to report (null: none at all). Default: word counts, no cache. */
  usage?: Partial<Record<UsageField, number>> | null;
  model?: string;
}

type UsageField = `${'input' | 'output' | 'cache_read_input' | 'cache_creation_input'}_tokens`;

export type { RecordedRequest };

export interface FakeAnthropic extends FakeServer<AnthropicBehaviour> {
  /** The base URL a gateway config uses (`…/v1`). */
  url: string;
}

/** The 400 Anthropic answers an account without credit (invalid_request_error). */
export const CREDIT_BALANCE_MESSAGE =
  'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.';

const RATE_LIMIT_MESSAGE =
  'This request would exceed the rate limit for your organization (fake-org) of 50 requests per minute. For details, refer to: https://docs.anthropic.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.';

type Headers = Record<string, string>;

/** Error type and message per status, as the errors doc lists them (other 4xx: 400's, other 5xx: 500's). */
type Err = readonly [type: string, message: string];
const ERRORS: Readonly<Record<number, Err>> = {
  400: ['invalid_request_error', 'Fake upstream error (HTTP 400).'],
  401: ['authentication_error', 'invalid x-api-key'],
  402: ['billing_error', 'Your account has a billing issue.'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'The requested resource could not be found.'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', RATE_LIMIT_MESSAGE],
  500: ['api_error', 'Internal server error'],
  504: ['timeout_error', 'Request timeout'],
  529: ['overloaded_error', 'Overloaded'],
};
const errorFor = (status: number) =>
  ERRORS[status] ?? ERRORS[status >= 500 ? 500 : 400] ?? ['api_error', `HTTP ${status}`];

const send = (res: ServerResponse, status: number, h: Headers, body: string): void =>
  sendBody(res, status, { ...h, 'content-type': 'application/json' }, body);

function sendError(res: ServerResponse, status: number, h: Headers, [type, message]: Err): void {
  const body = { type: 'error', error: { type, message }, request_id: h['request-id'] };
  send(res, status, h, JSON.stringify(body));
}

/** Text of an Anthropic content (string or blocks); tool results count with their content. */
function textOf(content: unknown, withToolResults = false): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const b of content) {
    if (!isRecord(b)) continue;
    if (b.type === 'text' && typeof b.text === 'string') parts.push(b.text);
    if (b.type === 'tool_result' && withToolResults) parts.push(textOf(b.content));
  }
  return parts.join(' ');
}

/** Why the real API would refuse this body (a 400 message), or undefined. */
function invalid(body: Json): string | undefined {
  if (typeof body.max_tokens !== 'number') return 'max_tokens: Field required';
  if (!Array.isArray(body.messages)) return 'messages: Field required';
  for (const m of body.messages) {
    const role = isRecord(m) ? m.role : undefined;
    if (role !== 'user' && role !== 'assistant') {
      return `messages: Unexpected role "${String(role)}". The Messages API accepts a top-level \`system\` parameter, not "${String(role)}" as an input message role.`;
    }
  }
  if (typeof body.temperature === 'number' && body.temperature > 1) {
    return 'temperature: Input should be less than or equal to 1';
  }
  if (body.tool_choice !== undefined && !(Array.isArray(body.tools) && body.tools.length > 0)) {
    return 'tool_choice: tool_choice may only be specified while providing tools.';
  }
  return undefined;
}

const asksLocation = (t: Json): boolean =>
  isRecord(t.input_schema) && isRecord(t.input_schema.properties) && 'location' in t.input_schema.properties;

/**
 * The tool to call: the forced one; under `any` the first (after a tool result, the one that does not ask
 * for a location — JSON mode's answer tool); under `auto` the first unless the last turn is a tool result.
 */
function pickTool(body: Json, afterToolResult: boolean): Json | undefined {
  const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : [];
  if (tools.length === 0) return undefined;
  const tc = isRecord(body.tool_choice) ? body.tool_choice : { type: 'auto' };
  if (tc.type === 'none') return undefined;
  if (tc.type === 'tool') return tools.find((t) => t.name === tc.name);
  if (tc.type === 'any')
    return afterToolResult ? (tools.find((t) => !asksLocation(t)) ?? tools[0]) : tools[0];
  return afterToolResult ? undefined : tools[0];
}

/**
 * The answer as a whole message, and as the stream of named SSE events that says the same (also what the
 * Bedrock fake's InvokeModel answers for Claude: fake-bedrock-invoke.ts).
 */
export function anthropicAnswer(body: Json, b: AnthropicBehaviour): { message: Json; events: string[] } {
  const messages = (body.messages as unknown[]).filter(isRecord);
  let promptWords = countWords(textOf(body.system));
  let lastUser = '';
  for (const m of messages) {
    promptWords += countWords(textOf(m.content, true));
    if (m.role === 'user' && textOf(m.content) !== '') lastUser = textOf(m.content);
  }
  const lastContent = messages.at(-1)?.content;
  const result = (Array.isArray(lastContent) ? lastContent : [])
    .filter((c) => isRecord(c) && c.type === 'tool_result')
    .at(-1);
  const toolResult = isRecord(result) ? textOf(result.content) : undefined;
  const said = toolResult === undefined ? `echo: ${lastUser}` : `tool said: ${toolResult}`;
  const tool = b.content === undefined ? pickTool(body, toolResult !== undefined) : undefined;
  const byTool =
    tool === undefined || asksLocation(tool) ? '{"location":"Paris"}' : JSON.stringify({ answer: said });
  const input = b.toolInput ?? byTool;
  const text = b.content ?? said;
  const u = b.usage;
  const usage: Json | undefined =
    u === null
      ? undefined
      : {
          input_tokens: u?.input_tokens ?? promptWords,
          cache_creation_input_tokens: u?.cache_creation_input_tokens ?? 0,
          cache_read_input_tokens: u?.cache_read_input_tokens ?? 0,
          output_tokens: u?.output_tokens ?? countWords(tool === undefined ? text : input),
          service_tier: 'standard',
        };
  const stopReason = b.stopReason ?? (tool === undefined ? 'end_turn' : 'tool_use');
  const content: Json[] = [];
  if (b.thinking !== undefined) content.push({ type: 'thinking', thinking: b.thinking, signature: 'EqQB' });
  if (tool === undefined) content.push({ type: 'text', text });
  else content.push({ type: 'tool_use', id: `toolu_01${hexId().slice(0, 22)}`, name: tool.name, input: {} });
  const message: Json = {
    id: `msg_01${hexId().slice(0, 22)}`,
    type: 'message',
    role: 'assistant',
    model: b.model ?? (typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5'),
    content: content.map((c) => (c.type === 'tool_use' ? { ...c, input: JSON.parse(input) } : c)),
    stop_reason: stopReason,
    stop_sequence: null,
  };
  if (usage !== undefined) message.usage = usage;

  const events: string[] = [];
  const ev = (data: Json): number =>
    events.push(`event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`);
  const deltas = (index: number, type: string, key: string, whole: string): void => {
    for (const part of split(whole, Math.max(1, b.chunkSize ?? 8))) {
      ev({ type: 'content_block_delta', index, delta: { type, [key]: part } });
    }
  };
  const start: Json = { ...message, content: [], stop_reason: null };
  if (usage !== undefined) start.usage = { ...usage, output_tokens: 1 };
  ev({ type: 'message_start', message: start });
  content.forEach((block, index) => {
    const opening = block.type === 'thinking' ? { type: 'thinking', thinking: '' } : { ...block, text: '' };
    ev({ type: 'content_block_start', index, content_block: block.type === 'tool_use' ? block : opening });
    if (block.type === 'thinking') {
      deltas(index, 'thinking_delta', 'thinking', String(block.thinking));
      ev({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: 'EqQB' } });
    } else if (block.type === 'text') {
      ev({ type: 'ping' });
      deltas(index, 'text_delta', 'text', text);
    } else {
      ev({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '' } });
      deltas(index, 'input_json_delta', 'partial_json', input);
    }
    ev({ type: 'content_block_stop', index });
  });
  const delta: Json = { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null } };
  if (usage !== undefined) delta.usage = { output_tokens: usage.output_tokens };
  ev(delta);
  ev({ type: 'message_stop' });
  return { message, events };
}

/** The events with the behaviour's faults; an injected error is Anthropic's `event: error`. */
function writeEvents(res: ServerResponse, st: ReqState, h: Headers, events: string[], b: AnthropicBehaviour) {
  const headers = { ...h, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
  const error = () => {
    const error = { type: b.errorType ?? 'overloaded_error', message: b.errorMessage ?? 'Overloaded' };
    return `event: error\ndata: ${JSON.stringify({ type: 'error', error })}\n\n`;
  };
  writeFrames(res, st, headers, events, {
    gapMs: b.chunkDelayMs,
    cutAfter: b.cutAfterEvents,
    fail: b.errorAfterEvents === undefined ? undefined : { after: b.errorAfterEvents, frame: error },
  });
}

/** Anthropic's answer to a request: auth, injected faults, the checks the real API makes, then the answer. */
function respond(
  req: IncomingMessage,
  res: ServerResponse,
  st: ReqState,
  b: AnthropicBehaviour,
  body: unknown,
  apiKey: string | undefined,
) {
  const h: Headers = { 'request-id': `req_011C${hexId().slice(0, 20)}` };
  const echo = req.headers['x-request-id'];
  if (typeof echo === 'string') h['x-echo-request-id'] = echo;
  const invalidRequest = (message: string) => sendError(res, 400, h, ['invalid_request_error', message]);
  const key = req.headers['x-api-key'];
  if (apiKey !== undefined && key !== apiKey) {
    const message = key === undefined ? 'x-api-key header is required' : 'invalid x-api-key';
    sendError(res, 401, h, ['authentication_error', message]);
  } else if (b.status !== undefined) {
    const [type, message] = errorFor(b.status);
    const retryAfter = b.retryAfter === undefined ? (b.status === 429 ? '1' : null) : b.retryAfter;
    if (retryAfter !== null) h['retry-after'] = retryAfter;
    sendError(res, b.status, h, [b.errorType ?? type, b.errorMessage ?? message]);
  } else if (req.method === 'POST' && (req.url ?? '/').split('?')[0] === '/v1/messages/count_tokens') {
    // https://docs.anthropic.com/en/api/messages-count-tokens: {"input_tokens": n}. The fake's count is its
    // own (words + 3 per message + 7), so a test can tell it from the gateway's estimate.
    const messages = isRecord(body) && Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
    const words = messages.reduce((n, m) => n + countWords(textOf(m.content, true)), 0);
    send(res, 200, h, JSON.stringify({ input_tokens: words + 3 * messages.length + 7 }));
  } else if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/v1/messages') {
    sendError(res, 404, h, ['not_found_error', 'Not Found']);
  } else if (req.headers['anthropic-version'] === undefined) {
    invalidRequest('anthropic-version: header is required');
  } else if (!isRecord(body)) {
    invalidRequest('There was an error parsing the body of your request.');
  } else if (invalid(body) !== undefined) {
    invalidRequest(invalid(body) as string);
  } else {
    const a = anthropicAnswer(body, b);
    if (body.stream === true) writeEvents(res, st, h, a.events, b);
    else send(res, 200, h, JSON.stringify(a.message));
  }
}

export async function startAnthropicFake(opts: { apiKey?: string } = {}): Promise<FakeAnthropic> {
  const fake = await startFakeServer({
    respond: (req, res, st, b: AnthropicBehaviour, body) => respond(req, res, st, b, body, opts.apiKey),
    recordOf,
    keepRaw: true,
    keepAliveTimeout: 60_000,
  });
  return { ...fake, url: `${fake.origin}/v1` };
}
