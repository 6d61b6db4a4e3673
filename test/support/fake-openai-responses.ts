// `POST /v1/responses` for the fake OpenAI upstream (fake-openai.ts routes it here): OpenAI's Responses API
// as its reference shows it — a Response object, or named SSE events numbered by sequence_number and ended
// without [DONE] — with a function call when function tools are offered, usage by word count (or the
// behaviour's), and the behaviour's faults: an error status (answered by fake-openai.ts), an error event first,
// a response.failed, a cut, a slow drip.
// https://platform.openai.com/docs/api-reference/responses
import type { ServerResponse } from 'node:http';
import type { FakeBehaviour } from './fake-openai.ts';
import { type ApiError, apiError } from './fake-openai-errors.ts';
import { countWords, hexId, isRecord, type Json, type ReqState, split } from './fake-openai-stream.ts';
import { sendBody, sendHalf, writeFrames } from './fake-server-kit.ts';

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The text of a message content or a function output: a string, or its text parts joined by a space. */
function partsText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(isRecord)
    .map((p) => text(p.text))
    .filter((t) => t !== '')
    .join(' ');
}

interface Read {
  promptWords: number;
  lastUser: string;
  /** The output of the last item when it is a function call's output: the answer uses it. */
  toolResult: string | undefined;
}

function readInput(body: Json): Read {
  let promptWords = countWords(text(body.instructions));
  if (typeof body.input === 'string') {
    return { promptWords: promptWords + countWords(body.input), lastUser: body.input, toolResult: undefined };
  }
  let lastUser = '';
  let toolResult: string | undefined;
  for (const item of Array.isArray(body.input) ? body.input : []) {
    if (!isRecord(item)) continue;
    toolResult = undefined;
    if (item.type === 'function_call_output') {
      toolResult = partsText(item.output);
      promptWords += countWords(toolResult);
    } else if (item.type === 'function_call') {
      promptWords += countWords(text(item.arguments));
    } else {
      const t = partsText(item.content);
      promptWords += countWords(t);
      if (item.role === 'user') lastUser = t;
    }
  }
  return { promptWords, lastUser, toolResult };
}

/** The function tool to call, or undefined for a text answer (tool_choice none, or no function tools). */
function pickFunction(body: Json): string | undefined {
  const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : [];
  if (body.tool_choice === 'none') return undefined;
  const tc = body.tool_choice;
  if (isRecord(tc) && tc.type === 'function' && typeof tc.name === 'string') return tc.name;
  const fn = tools.find((t) => t.type === 'function' && typeof t.name === 'string');
  return fn === undefined ? undefined : (fn.name as string);
}

function usageOf(b: FakeBehaviour, promptWords: number, outputWords: number): Json | null {
  const u = b.usage;
  if (u === null) return null;
  const input = u?.prompt_tokens ?? promptWords;
  const output = u?.completion_tokens ?? outputWords;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: u?.reasoning_tokens ?? 0 },
    total_tokens: input + output,
  };
}

/** The Response object's fields that echo the request (OpenAI's defaults where it left them out). */
function echo(body: Json): Json {
  const or = (v: unknown, d: unknown): unknown => (v === undefined || v === null ? d : v);
  return {
    instructions: or(body.instructions, null),
    max_output_tokens: or(body.max_output_tokens, null),
    parallel_tool_calls: or(body.parallel_tool_calls, true),
    previous_response_id: or(body.previous_response_id, null),
    reasoning: { effort: null, summary: null },
    store: or(body.store, true),
    temperature: or(body.temperature, 1),
    text: or(body.text, { format: { type: 'text' } }),
    tool_choice: or(body.tool_choice, 'auto'),
    tools: or(body.tools, []),
    top_p: or(body.top_p, 1),
    truncation: 'disabled',
    user: or(body.user, null),
    metadata: or(body.metadata, {}),
  };
}

const ev = (type: string, seq: number, fields: Json): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq, ...fields })}\n\n`;

export function responses(
  res: ServerResponse,
  st: ReqState,
  h: Record<string, string>,
  b: FakeBehaviour,
  body: Json,
): void {
  if (typeof body.input !== 'string' && !Array.isArray(body.input)) {
    const e: ApiError = apiError(
      "Missing required parameter: 'input'.",
      'invalid_request_error',
      'missing_required_parameter',
      'input',
    );
    sendBody(res, 400, { ...h, 'content-type': 'application/json' }, JSON.stringify({ error: e }));
    return;
  }
  const { promptWords, lastUser, toolResult } = readInput(body);
  const fn = toolResult === undefined && b.content === undefined ? pickFunction(body) : undefined;
  const format = isRecord(body.text) && isRecord(body.text.format) ? body.text.format.type : undefined;
  const said = toolResult === undefined ? `echo: ${lastUser}` : `tool said: ${toolResult}`;
  const content =
    b.content ??
    (format === 'json_object' || format === 'json_schema' ? JSON.stringify({ answer: said }) : said);
  const args = b.toolArguments ?? '{"location":"Paris"}';
  const id = hexId();
  const item: Json =
    fn === undefined
      ? {
          id: `msg_${id}`,
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', annotations: [], logprobs: [], text: content }],
        }
      : {
          id: `fc_${id}`,
          type: 'function_call',
          status: 'completed',
          arguments: args,
          call_id: `call_${id.slice(0, 24)}`,
          name: fn,
        };
  const failed = b.responseFailed;
  const base = {
    id: `resp_${id}`,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: failed === undefined ? 'completed' : 'failed',
    background: false,
    error: failed ?? null,
    incomplete_details: null,
    model: b.model ?? (typeof body.model === 'string' ? body.model : 'gpt-4o-mini'),
    output: failed === undefined ? [item] : [],
    ...echo(body),
    usage: usageOf(b, promptWords, countWords(fn === undefined ? content : args)),
  };
  if (body.stream !== true) {
    const json = JSON.stringify(base);
    const headers = { ...h, 'content-type': 'application/json' };
    if (b.cutAfterChunks !== undefined) sendHalf(res, headers, json);
    else sendBody(res, 200, headers, json);
    return;
  }
  const frames: string[] = [];
  const add = (type: string, fields: Json): void => {
    frames.push(ev(type, frames.length, fields));
  };
  const pending = { ...base, status: 'in_progress', error: null, output: [], usage: null };
  add('response.created', { response: pending });
  add('response.in_progress', { response: pending });
  if (failed !== undefined) {
    add('response.failed', { response: base });
  } else if (fn === undefined) {
    const at = { item_id: item.id, output_index: 0, content_index: 0 };
    add('response.output_item.added', {
      output_index: 0,
      item: { ...item, status: 'in_progress', content: [] },
    });
    add('response.content_part.added', {
      ...at,
      part: { type: 'output_text', annotations: [], logprobs: [], text: '' },
    });
    for (const delta of split(content, Math.max(1, b.chunkSize ?? 8)))
      add('response.output_text.delta', { ...at, delta, logprobs: [] });
    add('response.output_text.done', { ...at, text: content, logprobs: [] });
    add('response.content_part.done', { ...at, part: (item.content as Json[])[0] });
    add('response.output_item.done', { output_index: 0, item });
  } else {
    const at = { item_id: item.id, output_index: 0 };
    add('response.output_item.added', {
      output_index: 0,
      item: { ...item, status: 'in_progress', arguments: '' },
    });
    for (const delta of split(args, Math.max(1, b.chunkSize ?? 8)))
      add('response.function_call_arguments.delta', { ...at, delta });
    add('response.function_call_arguments.done', { ...at, name: fn, arguments: args });
    add('response.output_item.done', { output_index: 0, item });
  }
  if (failed === undefined) add('response.completed', { response: base });
  const headers = { ...h, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
  const first = b.streamErrorFirst;
  // The live API's error event nests its fields under `error` (the SDK raises on it), as the gateway expects.
  const errorFrame = (): string =>
    ev('error', 0, {
      error: {
        type: first?.type ?? 'server_error',
        code: first?.code ?? null,
        message: first?.message ?? '',
        param: null,
      },
    });
  writeFrames(res, st, headers, frames, {
    gapMs: b.chunkDelayMs,
    cutAfter: b.cutAfterChunks,
    fail: first === undefined ? undefined : { after: 0, frame: errorFrame },
  });
}
