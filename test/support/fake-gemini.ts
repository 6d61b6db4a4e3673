// A fake Gemini API upstream: a real node:http server on 127.0.0.1 speaking the Gemini wire format
// (https://ai.google.dev/api): generateContent, streamGenerateContent?alt=sse (events with no terminator),
// batchEmbedContents, Google's error bodies (a bad key is 400 API_KEY_INVALID). It answers
// like fake-openai.ts so one end-to-end suite runs over every provider, with a behaviour queue for faults.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  badKeyError,
  behaviourError,
  type GoogleError,
  invalid,
  NO_KEY_MESSAGE,
} from './fake-gemini-errors.ts';
import { countWords, isRecord, type Json, type ReqState, split } from './fake-openai-stream.ts';
import {
  type FakeServer,
  type RecordedRequest,
  recordOf,
  type ServerBehaviour,
  sendBody,
  sendHalf,
  startFakeServer,
  writeFrames,
} from './fake-server-kit.ts';

export type { RecordedRequest };

export interface GeminiBehaviour extends ServerBehaviour {
  /** Answer this HTTP status with Google's error body for it. */
  status?: number;
  /** Overrides the error's `status` string / message (e.g. FAILED_PRECONDITION). */
  errorStatus?: string;
  errorMessage?: string;
  /** `RetryInfo.retryDelay` of a 429 (Gemini sends no Retry-After header). */
  retryDelay?: string;
  chunkDelayMs?: number;
  /** Stream: deliver N events, then drop the connection. Non-stream: half the body, then drop. */
  cutAfterEvents?: number;
  /** Stream: deliver N events, then an `{"error":…}` event (500 INTERNAL unless errorStatus/Message say). */
  errorAfterEvents?: number;
  content?: string;
  /** Characters of text per stream event (default 8). */
  chunkSize?: number;
  toolArguments?: Json;
  /** `thoughtSignature` put on the function-call part (as Gemini 3 does). */
  thoughtSignature?: string;
  /** A thought-summary part (`thought: true`) before the answer. */
  thought?: string;
  finishReason?: string;
  /** Block the prompt: `promptFeedback.blockReason`, no candidates. */
  blockReason?: string;
  /** The usage to report (null: no usageMetadata at all). */
  usage?: {
    prompt: number;
    candidates: number;
    cached?: number;
    thoughts?: number;
    toolUsePrompt?: number;
  } | null;
  modelVersion?: string;
  /** null: no responseId field. */
  responseId?: string | null;
  /** Answer 400 like Gemini 3 when a model turn's first function call comes back without its signature. */
  requireThoughtSignatures?: boolean;
}
export interface FakeGemini extends FakeServer<GeminiBehaviour> {
  /** Base URL the gateway config uses (`…/v1beta`). */
  url: string;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=UTF-8' };
// Google's JSON answers are pretty-printed.
const pretty = (body: unknown): string => JSON.stringify(body, null, 2);

const partsOf = (c: unknown): Json[] =>
  isRecord(c) && Array.isArray(c.parts) ? c.parts.filter(isRecord) : [];
const textOfParts = (parts: Json[]): string =>
  parts
    .map((p) => p.text)
    .filter((t): t is string => typeof t === 'string')
    .join(' ');
const resultText = (fr: Json): string => {
  const r = isRecord(fr.response) ? fr.response.content : undefined;
  return typeof r === 'string' ? r : JSON.stringify(r ?? fr.response ?? null);
};

/** The function to call, or undefined for a text answer (mode NONE, no tools). */
function pickTool(body: Json): string | undefined {
  const decls = (Array.isArray(body.tools) ? body.tools : []).flatMap((t: unknown) =>
    isRecord(t) && Array.isArray(t.functionDeclarations) ? t.functionDeclarations.filter(isRecord) : [],
  );
  const fcc = isRecord(body.toolConfig) ? body.toolConfig.functionCallingConfig : undefined;
  if (decls.length === 0 || (isRecord(fcc) && fcc.mode === 'NONE')) return undefined;
  const allowed = isRecord(fcc) && Array.isArray(fcc.allowedFunctionNames) ? fcc.allowedFunctionNames : [];
  const name = allowed[0] ?? decls[0]?.name;
  return typeof name === 'string' ? name : undefined;
}

/** Why Gemini would refuse these contents, or undefined. */
function contentsProblem(contents: Json[], b: GeminiBehaviour): string | undefined {
  for (const [i, c] of contents.entries()) {
    if (c.role !== 'user' && c.role !== 'model') return 'Please use a valid role: user, model.';
    const parts = partsOf(c);
    if (parts.length === 0)
      return `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n`;
    const first = parts.find((p) => isRecord(p.functionCall));
    if (
      b.requireThoughtSignatures === true &&
      first !== undefined &&
      typeof first.thoughtSignature !== 'string'
    ) {
      return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`${String((first.functionCall as Json).name)}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`;
    }
  }
  return undefined;
}

interface Answer {
  events: Json[];
  whole: Json;
}

/** The answer to a generateContent request: the whole response, and the events of its stream. */
function answer(body: Json, model: string, b: GeminiBehaviour): Answer | GoogleError {
  if (!Array.isArray(body.contents) || body.contents.length === 0) {
    return invalid('* GenerateContentRequest.contents: contents is not specified\n');
  }
  const contents = body.contents.filter(isRecord);
  const problem = contentsProblem(contents, b);
  if (problem !== undefined) return invalid(problem);
  let promptWords = countWords(textOfParts(partsOf(body.systemInstruction)));
  let lastUser = '';
  let toolResult: string | undefined;
  for (const c of contents) {
    const parts = partsOf(c);
    const results = parts
      .map((p) => p.functionResponse)
      .filter(isRecord)
      .map(resultText);
    promptWords += countWords([textOfParts(parts), ...results].join(' '));
    if (c.role === 'user' && parts.some((p) => typeof p.text === 'string')) lastUser = textOfParts(parts);
    toolResult = results.at(-1);
  }
  const toolName = toolResult === undefined && b.content === undefined ? pickTool(body) : undefined;
  const json =
    isRecord(body.generationConfig) && body.generationConfig.responseMimeType === 'application/json';
  const echo = toolResult === undefined ? `echo: ${lastUser}` : `tool said: ${toolResult}`;
  const content = b.content ?? (json ? JSON.stringify({ answer: echo }) : echo);
  const args = b.toolArguments ?? { location: 'Paris' };
  const u = b.usage;
  const finalCount = u?.candidates ?? countWords(toolName === undefined ? content : JSON.stringify(args));
  const frame = (extra: Json, candidates: number): Json => {
    const ev: Json = { ...extra };
    if (u !== null) {
      const prompt = u?.prompt ?? promptWords;
      const m: Json = { promptTokenCount: prompt, candidatesTokenCount: candidates };
      if (u?.cached !== undefined) m.cachedContentTokenCount = u.cached;
      if (u?.toolUsePrompt !== undefined) m.toolUsePromptTokenCount = u.toolUsePrompt;
      if (u?.thoughts !== undefined) m.thoughtsTokenCount = u.thoughts;
      m.totalTokenCount = prompt + candidates + (u?.toolUsePrompt ?? 0) + (u?.thoughts ?? 0);
      m.promptTokensDetails = [{ modality: 'TEXT', tokenCount: prompt }];
      ev.usageMetadata = m;
    }
    ev.modelVersion = b.modelVersion ?? model;
    if (b.responseId !== null) ev.responseId = b.responseId ?? randomUUID().replaceAll('-', '').slice(0, 22);
    return ev;
  };
  const candidate = (parts: Json[], finishReason?: string): Json => ({
    candidates: [{ content: { parts, role: 'model' }, ...(finishReason ? { finishReason } : {}), index: 0 }],
  });
  if (b.blockReason !== undefined) {
    const blocked = frame({ promptFeedback: { blockReason: b.blockReason, safetyRatings: [] } }, 0);
    if (isRecord(blocked.usageMetadata)) delete blocked.usageMetadata.candidatesTokenCount;
    return { events: [blocked], whole: blocked };
  }
  const finish = b.finishReason ?? 'STOP';
  const thought: Json[] = b.thought === undefined ? [] : [{ text: b.thought, thought: true }];
  const call: Json = { functionCall: { name: toolName, args } };
  if (b.thoughtSignature !== undefined) call.thoughtSignature = b.thoughtSignature;
  // Text streams in pieces of chunkSize characters, a function call whole in one event.
  const steps: Json[][] =
    toolName !== undefined
      ? [[call]]
      : split(content, Math.max(1, b.chunkSize ?? 8)).map((text) => [{ text }]);
  if (steps.length === 0) steps.push([{ text: '' }]);
  const events = thought.length > 0 ? [frame(candidate(thought), 0)] : [];
  for (const [i, parts] of steps.entries()) {
    const last = i === steps.length - 1;
    const soFar = last ? finalCount : Math.floor((finalCount * (i + 1)) / steps.length);
    events.push(frame(candidate(parts, last ? finish : undefined), soFar));
  }
  const whole = frame(
    candidate([...thought, toolName !== undefined ? call : { text: content }], finish),
    finalCount,
  );
  return { events, whole };
}

/** Deterministic unit vector from the text (FNV-1a seed, xorshift), float32-exact. */
export function fakeVector(text: string, dims: number): number[] {
  let s = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) s = Math.imul(s ^ text.charCodeAt(i), 0x01000193);
  const v: number[] = [];
  for (let i = 0; i < dims; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    v.push(((s >>> 0) / 4294967296) * 2 - 1);
  }
  const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0)) || 1;
  return v.map((x) => Math.fround(x / norm));
}

function embeddings(body: Json, model: string): Json | GoogleError {
  const list = Array.isArray(body.requests) ? body.requests.filter(isRecord) : [];
  if (list.length === 0) return invalid('* BatchEmbedContentsRequest.requests: requests must not be empty\n');
  const out: Json[] = [];
  for (const r of list) {
    if (r.model !== `models/${model}`) {
      return invalid(
        `* BatchEmbedContentsRequest.requests: model must be models/${model}, got ${String(r.model)}\n`,
      );
    }
    const text = textOfParts(partsOf(r.content));
    if (text === '') return invalid('* EmbedContentRequest.content: contents must not be empty\n');
    const dims = typeof r.outputDimensionality === 'number' ? r.outputDimensionality : 8;
    out.push({ values: fakeVector(text, dims) });
  }
  return { embeddings: out };
}

/** SSE events as Gemini writes them (CRLF, no terminating event), with the behaviour's faults. */
function writeEvents(res: ServerResponse, st: ReqState, events: Json[], b: GeminiBehaviour): void {
  const data = (ev: Json): string => `data: ${JSON.stringify(ev)}\r\n\r\n`;
  const error = () => data({ error: behaviourError(b, b.status ?? 500, '') });
  const headers = { 'content-type': 'text/event-stream', 'x-content-type-options': 'nosniff' };
  writeFrames(res, st, headers, events.map(data), {
    gapMs: b.chunkDelayMs,
    cutAfter: b.cutAfterEvents,
    fail: b.errorAfterEvents === undefined ? undefined : { after: b.errorAfterEvents, frame: error },
  });
}

const ROUTE = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/;
type Reply = { status: number; json: unknown } | { events: Json[] } | { cut: Json };
const failure = (e: GoogleError): Reply => ({ status: e.code, json: { error: e } });
const isError = (v: object): v is GoogleError => typeof (v as { code?: unknown }).code === 'number';

/** What to answer a request (pure: the writing is {@link respond}'s). */
function reply(req: IncomingMessage, b: GeminiBehaviour, body: unknown, apiKey: string | undefined): Reply {
  const url = new URL(req.url ?? '/', 'http://fake');
  const header = req.headers['x-goog-api-key'];
  const key = typeof header === 'string' ? header : (url.searchParams.get('key') ?? undefined);
  const m = ROUTE.exec(url.pathname);
  const model = m?.[1] ?? '';
  if (apiKey !== undefined && key !== apiKey) {
    return failure(
      key === undefined ? { code: 403, message: NO_KEY_MESSAGE, status: 'PERMISSION_DENIED' } : badKeyError(),
    );
  }
  if (b.status !== undefined && b.errorAfterEvents === undefined)
    return failure(behaviourError(b, b.status, model));
  if (m === null || req.method !== 'POST') {
    return failure({
      code: 404,
      message: `Fake upstream: no ${req.method} ${url.pathname}`,
      status: 'NOT_FOUND',
    });
  }
  if (!isRecord(body)) return failure(invalid('Invalid JSON payload received.'));
  if (m[2] === 'batchEmbedContents') {
    const e = embeddings(body, model);
    return isError(e) ? failure(e) : { status: 200, json: e };
  }
  const a = answer(body, model, b);
  if (isError(a)) return failure(a);
  if (m[2] === 'generateContent')
    return b.cutAfterEvents === undefined ? { status: 200, json: a.whole } : { cut: a.whole };
  if (url.searchParams.get('alt') === 'sse') return { events: a.events };
  return failure(invalid('Fake upstream: only alt=sse streams are spoken here.'));
}

function respond(
  req: IncomingMessage,
  res: ServerResponse,
  st: ReqState,
  b: GeminiBehaviour,
  body: unknown,
  apiKey?: string,
): void {
  const r = reply(req, b, body, apiKey);
  if ('events' in r) writeEvents(res, st, r.events, b);
  else if ('json' in r) sendBody(res, r.status, JSON_HEADERS, pretty(r.json));
  else sendHalf(res, JSON_HEADERS, pretty(r.cut));
}

export async function startGeminiFake(opts: { apiKey?: string } = {}): Promise<FakeGemini> {
  const fake = await startFakeServer({
    respond: (req, res, st, b: GeminiBehaviour, body) => respond(req, res, st, b, body, opts.apiKey),
    recordOf,
  });
  return { ...fake, url: `${fake.origin}/v1beta` };
}
