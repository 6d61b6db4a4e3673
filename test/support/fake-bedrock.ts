// A fake Amazon Bedrock runtime: a real node:http server on 127.0.0.1 speaking Bedrock's REST wire, so the
// real @aws-sdk/client-bedrock-runtime can be pointed at it (`endpoint: origin`, any static credentials).
// POST /model/{modelId}/converse answers JSON; /converse-stream answers AWS event-stream binary frames
// (`:event-type`, `:message-type` event|exception, `:content-type`), as ConverseStream does; /invoke and
// /invoke-with-response-stream answer Claude's Messages body (fake-bedrock-invoke.ts). Errors are a
// status, `x-amzn-errortype: <Name>:<namespace>` and `{"message": …}`. Behaves like fake-openai.ts: echo,
// tools, tool results, JSON mode (a forced tool), word-count usage, and a behaviour queue of faults.
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnthropicBehaviour } from './fake-anthropic.ts';
import { respondInvoke } from './fake-bedrock-invoke.ts';
import {
  CORAL,
  ERRORS,
  exceptionFrame,
  frame,
  jsonHeaders,
  type StreamException,
  sendError,
} from './fake-bedrock-wire.ts';
import { countWords, isRecord, type Json, type ReqState, split } from './fake-openai-stream.ts';
import {
  type FakeServer,
  jsonOrText,
  type ServerBehaviour,
  sendBody,
  sendHalf,
  startFakeServer,
  writeFrames,
} from './fake-server-kit.ts';

export interface BedrockUsageNumbers {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

export interface FakeBedrockBehaviour extends ServerBehaviour {
  /** Answer this status with `errorType` (default by status) and `errorMessage`. */
  status?: number;
  errorType?: string;
  errorMessage?: string;
  /** Pause between stream events. */
  chunkDelayMs?: number;
  /** Stream: drop the connection after this many events (no messageStop); non-stream: after half the body. */
  cutAfterEvents?: number;
  /** Stream: an exception event (e.g. throttlingException, modelStreamErrorException) after N events. */
  streamException?: StreamException;
  /** Text answer instead of the echo (also when tools are offered). */
  content?: string;
  /** JSON text of the tool input (default {"location":"Paris"}). */
  toolInput?: string;
  stopReason?: string;
  /** Characters per text / tool-input delta (default 8). */
  chunkSize?: number;
  /** The usage to report (null: none at all in the answer / the metadata event). */
  usage?: BedrockUsageNumbers | null;
  /** InvokeModel (Claude's Messages answer): the usage to report, in Anthropic's fields. */
  messagesUsage?: AnthropicBehaviour['usage'];
  /** InvokeModel: a thinking block before the answer. */
  thinking?: string;
}

export interface RecordedBedrockRequest {
  method: string;
  path: string;
  /** The model id, decoded from the path. */
  modelId: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The client closed the connection before the answer was complete (an abort). */
  clientClosed?: boolean;
}

export interface FakeBedrock extends FakeServer<FakeBedrockBehaviour, RecordedBedrockRequest> {
  /** The base URL a bedrock provider's config uses (the endpoint's origin). */
  url: string;
}

const BAD_KEY = 'The security token included in the request is invalid.';

/** Text of Converse content blocks (text, and the text inside toolResult blocks). */
function blocksText(blocks: unknown): string {
  if (!Array.isArray(blocks)) return '';
  const parts: string[] = [];
  for (const b of blocks) {
    if (!isRecord(b)) continue;
    if (typeof b.text === 'string') parts.push(b.text);
    if (isRecord(b.toolResult)) parts.push(blocksText(b.toolResult.content));
  }
  return parts.join(' ');
}

interface Answer {
  text: string | undefined;
  tool: { name: string; input: string } | undefined;
  stopReason: string;
  usage: BedrockUsageNumbers | null;
}

function toolOf(body: Json, b: FakeBedrockBehaviour, echo: string): Answer['tool'] {
  const config = isRecord(body.toolConfig) ? body.toolConfig : {};
  const tools = Array.isArray(config.tools) ? config.tools.filter(isRecord) : [];
  const specs = tools.map((t) => (isRecord(t.toolSpec) ? t.toolSpec : {}));
  const choice = isRecord(config.toolChoice) ? config.toolChoice : {};
  const forced = isRecord(choice.tool) && typeof choice.tool.name === 'string' ? choice.tool.name : undefined;
  const spec = forced === undefined ? specs[0] : specs.find((s) => s.name === forced);
  if (spec === undefined || typeof spec.name !== 'string') return undefined;
  // JSON mode is a forced tool whose schema is not the e2e suite's weather tool: it gets the JSON answer.
  const schema = isRecord(spec.inputSchema) && isRecord(spec.inputSchema.json) ? spec.inputSchema.json : {};
  const props = isRecord(schema.properties) ? schema.properties : {};
  const json = forced !== undefined && !('location' in props);
  const input = b.toolInput ?? (json ? JSON.stringify({ answer: echo }) : '{"location":"Paris"}');
  return { name: spec.name, input };
}

function answerOf(body: Json, b: FakeBedrockBehaviour): Answer {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  let promptWords = countWords(blocksText(body.system));
  let lastUser = '';
  for (const m of messages) {
    const text = blocksText(m.content);
    promptWords += countWords(text);
    if (m.role === 'user') lastUser = text;
  }
  const last = messages.at(-1);
  const lastBlocks = last !== undefined && Array.isArray(last.content) ? last.content.filter(isRecord) : [];
  const results = lastBlocks.filter((c) => isRecord(c.toolResult));
  const toolResult = results.length > 0 ? blocksText(lastBlocks) : undefined;
  const echo = toolResult === undefined ? `echo: ${lastUser}` : `tool said: ${toolResult}`;
  const tool = toolResult === undefined && b.content === undefined ? toolOf(body, b, echo) : undefined;
  const text = tool === undefined ? (b.content ?? echo) : undefined;
  const completionWords = countWords(text ?? tool?.input ?? '');
  const usage =
    b.usage === null ? null : (b.usage ?? { inputTokens: promptWords, outputTokens: completionWords });
  return { text, tool, stopReason: b.stopReason ?? (tool ? 'tool_use' : 'end_turn'), usage };
}

const usageJson = (u: BedrockUsageNumbers): Json => ({
  ...u,
  totalTokens:
    u.inputTokens + u.outputTokens + (u.cacheReadInputTokens ?? 0) + (u.cacheWriteInputTokens ?? 0),
});

function converseBody(a: Answer): string {
  const toolUseId = `tooluse_${randomUUID().replaceAll('-', '').slice(0, 22)}`;
  const content =
    a.tool === undefined
      ? [{ text: a.text ?? '' }]
      : [{ toolUse: { toolUseId, name: a.tool.name, input: JSON.parse(a.tool.input) } }];
  const out: Json = { output: { message: { role: 'assistant', content } }, stopReason: a.stopReason };
  if (a.usage !== null) out.usage = usageJson(a.usage);
  out.metrics = { latencyMs: 42 };
  return JSON.stringify(out);
}

/** [event type, payload] of a streamed answer, in ConverseStream's order. */
function streamEvents(a: Answer, size: number): [string, Json][] {
  const events: [string, Json][] = [['messageStart', { role: 'assistant' }]];
  if (a.tool === undefined) {
    for (const text of split(a.text ?? '', size)) {
      events.push(['contentBlockDelta', { delta: { text }, contentBlockIndex: 0 }]);
    }
  } else {
    const toolUseId = `tooluse_${randomUUID().replaceAll('-', '').slice(0, 22)}`;
    const start = { toolUse: { toolUseId, name: a.tool.name } };
    events.push(['contentBlockStart', { start, contentBlockIndex: 0 }]);
    for (const input of split(a.tool.input, size)) {
      events.push(['contentBlockDelta', { delta: { toolUse: { input } }, contentBlockIndex: 0 }]);
    }
  }
  events.push(['contentBlockStop', { contentBlockIndex: 0 }]);
  events.push(['messageStop', { stopReason: a.stopReason }]);
  const metadata: Json = { metrics: { latencyMs: 42 } };
  if (a.usage !== null) metadata.usage = usageJson(a.usage);
  events.push(['metadata', metadata]);
  return events;
}

function writeStream(res: ServerResponse, st: ReqState, a: Answer, b: FakeBedrockBehaviour): void {
  const headers = { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': randomUUID() };
  const events = streamEvents(a, Math.max(1, b.chunkSize ?? 8)).map(([type, p]) => frame('event', type, p));
  const ex = b.streamException;
  writeFrames(res, st, headers, events, {
    gapMs: b.chunkDelayMs,
    cutAfter: b.cutAfterEvents,
    fail: ex === undefined ? undefined : { after: ex.afterEvents, frame: () => exceptionFrame(ex) },
  });
}

function respond(
  req: IncomingMessage,
  res: ServerResponse,
  st: ReqState,
  b: FakeBedrockBehaviour,
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown,
) {
  const m = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/.exec(
    req.url ?? '',
  );
  if (req.method !== 'POST' || m === null) {
    sendError(res, 404, 'UnknownOperationException', `No route for ${req.method} ${req.url}`);
    return;
  }
  if (b.status !== undefined) {
    const [type, message] = ERRORS[b.status] ?? ['InternalServerException', `HTTP ${b.status}`];
    sendError(res, b.status, b.errorType ?? type, b.errorMessage ?? message);
    return;
  }
  if (typeof body === 'string') {
    sendError(res, 400, 'SerializationException', 'Unable to parse request body');
    return;
  }
  if (m[2] === 'invoke' || m[2] === 'invoke-with-response-stream') {
    respondInvoke(res, st, b, body, decodeURIComponent(m[1] ?? ''), m[2] !== 'invoke');
    return;
  }
  if (!isRecord(body) || !Array.isArray(body.messages)) {
    sendError(res, 400, 'ValidationException', 'The provided request is not valid: messages is required');
    return;
  }
  const answer = answerOf(body, b);
  if (m[2] === 'converse-stream') {
    writeStream(res, st, answer, b);
    return;
  }
  const text = converseBody(answer);
  if (b.cutAfterEvents === undefined) sendBody(res, 200, jsonHeaders(), text);
  else sendHalf(res, jsonHeaders(), text);
}

/**
 * Starts the fake. `accessKeyId`: any request signed with another key gets Bedrock's answer to an unknown
 * key (403 UnrecognizedClientException), as a wrong IAM key would.
 */
export async function startBedrockFake(opts: { accessKeyId?: string } = {}): Promise<FakeBedrock> {
  const fake = await startFakeServer({
    respond,
    recordOf: (req): RecordedBedrockRequest => {
      const path = req.url ?? '/';
      const modelId = decodeURIComponent(/^\/model\/([^/]+)\//.exec(path)?.[1] ?? '');
      return { method: req.method ?? '', path, modelId, headers: req.headers, body: '' };
    },
    // Not JSON (an empty body too) is answered with a SerializationException.
    parseBody: (raw) => (raw === '' ? raw : jsonOrText(raw)),
    refuse: (req, res) => {
      const auth = String(req.headers.authorization ?? '');
      if (opts.accessKeyId === undefined || auth.includes(`Credential=${opts.accessKeyId}/`)) return false;
      sendError(res, 403, 'UnrecognizedClientException', BAD_KEY, CORAL);
      return true;
    },
    onClose: (rec, res) => {
      if (!res.writableFinished) rec.clientClosed = true;
    },
    keepAliveTimeout: 60_000,
  });
  return { ...fake, url: fake.origin };
}
