// InvokeModel / InvokeModelWithResponseStream of the Bedrock fake, for Claude: the request body is Claude's
// Messages body for Bedrock (`anthropic_version: "bedrock-2023-05-31"`, documented beta flags only in
// `anthropic_beta`, no `model` or `stream`: Bedrock refuses them as extraneous keys); the answer is
// Anthropic's — the `message` JSON, or each Anthropic event as a `chunk` event of the AWS event stream whose
// `bytes` (base64) hold the event's JSON, `message_stop` carrying `amazon-bedrock-invocationMetrics`. The
// answer itself is the Anthropic fake's (fake-anthropic.ts), so both native paths answer alike.
// https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModelWithResponseStream.html

import type { ServerResponse } from 'node:http';
import { type AnthropicBehaviour, anthropicAnswer } from './fake-anthropic.ts';
import type { FakeBedrockBehaviour } from './fake-bedrock.ts';
import { exceptionFrame, frame, jsonHeaders, sendError } from './fake-bedrock-wire.ts';
import { isRecord, type Json, type ReqState } from './fake-openai-stream.ts';
import { sendBody, sendHalf, writeFrames } from './fake-server-kit.ts';

const MALFORMED = 'Malformed input request: ';
const REFORMAT = ', please reformat your input and try again.';

/**
 * The beta flags the user guide lists for Claude (its "Available beta headers" table); Bedrock refuses any
 * other with 400 "invalid beta flag". The fake's own copy: it models Bedrock, not the gateway's list.
 */
const DOCUMENTED_BETAS = new Set([
  'computer-use-2025-01-24',
  'token-efficient-tools-2025-02-19',
  'interleaved-thinking-2025-05-14',
  'output-128k-2025-02-19',
  'dev-full-thinking-2025-05-14',
  'context-1m-2025-08-07',
  'context-management-2025-06-27',
  'effort-2025-11-24',
  'tool-search-tool-2025-10-19',
  'tool-examples-2025-10-29',
]);

/** Why Bedrock would refuse this body as Claude's (its ValidationException message), or undefined. */
function invalid(body: Json): string | undefined {
  if (!('anthropic_version' in body))
    return `${MALFORMED}#: required key [anthropic_version] not found${REFORMAT}`;
  if (body.anthropic_version !== 'bedrock-2023-05-31') {
    return `${MALFORMED}#/anthropic_version: ${String(body.anthropic_version)} is not a valid enum value${REFORMAT}`;
  }
  for (const key of ['model', 'stream']) {
    if (key in body) return `${MALFORMED}#: extraneous key [${key}] is not permitted${REFORMAT}`;
  }
  if (body.anthropic_beta !== undefined && !Array.isArray(body.anthropic_beta)) {
    return `${MALFORMED}#/anthropic_beta: expected type: JSONArray${REFORMAT}`;
  }
  if (
    Array.isArray(body.anthropic_beta) &&
    body.anthropic_beta.some((f) => !DOCUMENTED_BETAS.has(String(f)))
  ) {
    return 'invalid beta flag';
  }
  if (typeof body.max_tokens !== 'number')
    return `${MALFORMED}#: required key [max_tokens] not found${REFORMAT}`;
  if (!Array.isArray(body.messages)) return `${MALFORMED}#: required key [messages] not found${REFORMAT}`;
  return undefined;
}

/** `us.anthropic.claude-3-5-haiku-20241022-v1:0` → `claude-3-5-haiku-20241022`, as Bedrock names the model. */
const modelName = (modelId: string): string =>
  modelId.replace(/^.*anthropic\./, '').replace(/-v\d+(:\d+)?$/, '');

/** The Anthropic fake's behaviour for what this Bedrock behaviour asks (only the fields it sets). */
function anthropicBehaviour(b: FakeBedrockBehaviour, modelId: string): AnthropicBehaviour {
  const out: AnthropicBehaviour = { model: modelName(modelId) };
  if (b.content !== undefined) out.content = b.content;
  if (b.toolInput !== undefined) out.toolInput = b.toolInput;
  if (b.stopReason !== undefined) out.stopReason = b.stopReason;
  if (b.chunkSize !== undefined) out.chunkSize = b.chunkSize;
  if (b.thinking !== undefined) out.thinking = b.thinking;
  if (b.messagesUsage !== undefined) out.usage = b.messagesUsage;
  return out;
}

/** The data of each SSE event the Anthropic fake wrote, as the JSON Bedrock puts in a chunk's bytes. */
function chunkFrames(events: readonly string[], message: Json): Uint8Array[] {
  const usage = isRecord(message.usage) ? message.usage : {};
  return events.map((sse) => {
    const line = sse.split('\n').find((l) => l.startsWith('data: ')) ?? 'data: {}';
    const data = JSON.parse(line.slice(6)) as Json;
    if (data.type === 'message_stop') {
      data['amazon-bedrock-invocationMetrics'] = {
        inputTokenCount: usage.input_tokens ?? 0,
        outputTokenCount: usage.output_tokens ?? 0,
        invocationLatency: 420,
        firstByteLatency: 42,
      };
    }
    return frame('event', 'chunk', { bytes: Buffer.from(JSON.stringify(data)).toString('base64') });
  });
}

/** Answers an InvokeModel call (the body already parsed as JSON; a status fault already answered). */
export function respondInvoke(
  res: ServerResponse,
  st: ReqState,
  b: FakeBedrockBehaviour,
  body: unknown,
  modelId: string,
  stream: boolean,
): void {
  if (!isRecord(body)) {
    sendError(res, 400, 'ValidationException', `${MALFORMED}#: expected type: JSONObject${REFORMAT}`);
    return;
  }
  const why = invalid(body);
  if (why !== undefined) {
    sendError(res, 400, 'ValidationException', why);
    return;
  }
  const { message, events } = anthropicAnswer(body, anthropicBehaviour(b, modelId));
  if (stream) {
    const headers = { ...jsonHeaders(), 'content-type': 'application/vnd.amazon.eventstream' };
    const ex = b.streamException;
    writeFrames(res, st, headers, chunkFrames(events, message), {
      gapMs: b.chunkDelayMs,
      cutAfter: b.cutAfterEvents,
      fail: ex === undefined ? undefined : { after: ex.afterEvents, frame: () => exceptionFrame(ex) },
    });
    return;
  }
  const usage = isRecord(message.usage) ? message.usage : {};
  const headers = {
    ...jsonHeaders(),
    'x-amzn-bedrock-input-token-count': String(usage.input_tokens ?? 0),
    'x-amzn-bedrock-output-token-count': String(usage.output_tokens ?? 0),
  };
  const text = JSON.stringify(message);
  if (b.cutAfterEvents === undefined) sendBody(res, 200, headers, text);
  else sendHalf(res, headers, text);
}
