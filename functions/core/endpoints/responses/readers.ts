/**
 * Reading a native Responses answer — an OpenAI-compatible upstream that serves `/v1/responses` itself — for
 * pass-through: the client gets the upstream's events as they came (whole events only), and the gateway reads
 * from them what it needs (the upstream id, "the answer has started", usage, done, a failure) without
 * re-writing them. Only the few events that carry those are parsed; deltas pass by their name alone.
 * https://platform.openai.com/docs/api-reference/responses-streaming
 */
import type { SwitchyardError } from '../../errors.ts';
import { isRecord, type Json } from '../../json.ts';
import type { Usage } from '../../providers/types.ts';
import { type FailureKind, kindOfErrorObject } from '../../routing/failure.ts';
import { parseEvents, SseDecoder, type SseEvent } from '../../sse/splitter.ts';
import {
  type AnswerRead,
  EMPTY_PIECE,
  NotAnAnswerError,
  type StreamFailure,
  type StreamPiece,
  type StreamReader,
} from '../types.ts';
import { errorEvent, sseEvent } from './events.ts';
import type { ResponsesFailure } from './response-object.ts';

/** Upstream text the gateway keeps for its log line (the relay masks and cuts it again). */
const MAX_MESSAGE = 2_000;
const MAX_TOKEN = 256;
const MAX_ID = 200;

/**
 * The Response error codes OpenAI documents (`response.error.code`), by what they mean for the attempt; any
 * other code goes through {@link kindOfErrorObject} (OpenAI's error codes and types, else a server failure).
 * https://platform.openai.com/docs/api-reference/responses/object#responses/object-error
 */
const RESPONSE_ERROR_KINDS: ReadonlyMap<string, FailureKind> = new Map<string, FailureKind>([
  ['server_error', 'server'],
  ['rate_limit_exceeded', 'rate_limited'],
  ['vector_store_timeout', 'server'], // OpenAI's own file search timed out: another try may not
  ['data_residency_mismatch', 'target_refused'], // this project's region cannot serve it; another target may
  // The request's own content: repeating it anywhere gives the same answer.
  ['invalid_prompt', 'bad_request'],
  ['bio_policy', 'bad_request'],
  ...[
    'invalid_image',
    'invalid_image_format',
    'invalid_base64_image',
    'invalid_image_url',
    'image_too_large',
    'image_too_small',
    'image_parse_error',
    'image_content_policy_violation',
    'invalid_image_mode',
    'image_file_too_large',
    'unsupported_image_media_type',
    'empty_image_file',
    'failed_to_download_image',
    'image_file_not_found',
  ].map((code): [string, FailureKind] => [code, 'bad_request']),
]);

const text = (v: unknown, max: number): string | undefined =>
  typeof v === 'string' ? v.slice(0, max) : typeof v === 'number' ? String(v) : undefined;

/** An error object (a Response's `error`, an `error` event's fields or its nested `error`) as a failure. */
export function responsesFailure(error: unknown): StreamFailure {
  const e: Json = isRecord(error) ? error : { message: typeof error === 'string' ? error : 'error' };
  const code = text(e.code, MAX_TOKEN);
  const type = text(e.type, MAX_TOKEN);
  const kind = (code === undefined ? undefined : RESPONSE_ERROR_KINDS.get(code)) ?? kindOfErrorObject(e);
  return {
    kind,
    message: text(e.message, MAX_MESSAGE) ?? 'error',
    ...(code === undefined ? {} : { code }),
    ...(type === undefined ? {} : { type }),
  };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const count = (v: unknown): number => (isCount(v) ? v : 0);

/**
 * A Response object's `usage` in the gateway's meaning (providers/types.ts): input tokens include cached ones,
 * output tokens include reasoning — as OpenAI counts them. Undefined when it reports no counts (`usage: null`
 * while in progress, or `{}`): the gateway then estimates rather than record a reported 0.
 */
export function responsesUsage(response: unknown): Usage | undefined {
  if (!isRecord(response) || !isRecord(response.usage)) return undefined;
  const u = response.usage;
  if (!isCount(u.input_tokens) && !isCount(u.output_tokens)) return undefined;
  const inDetails = isRecord(u.input_tokens_details) ? u.input_tokens_details : {};
  const outDetails = isRecord(u.output_tokens_details) ? u.output_tokens_details : {};
  const writes = count(inDetails.cache_write_tokens);
  return {
    inputTokens: count(u.input_tokens),
    outputTokens: count(u.output_tokens),
    cachedInputTokens: count(inDetails.cached_tokens),
    reasoningTokens: count(outDetails.reasoning_tokens),
    ...(writes > 0 ? { cacheWriteTokens: writes } : {}),
  };
}

const SEQUENCE = /"sequence_number"\s*:\s*(\d{1,15})/;

/** An event's data as an object ({} when it is not JSON or not an object: it carries nothing to read). */
function parsed(data: string): Json {
  try {
    const json: unknown = JSON.parse(data);
    return isRecord(json) ? json : {};
  } catch {
    return {};
  }
}

/** One event's type and data, the data parsed once and only when asked for. */
class UpstreamEvent {
  private json: Json | undefined;
  readonly type: string | undefined;

  constructor(readonly raw: SseEvent) {
    // OpenAI names every event; a relay that does not has its data's own `type` read.
    const type = raw.event ?? this.data.type;
    this.type = typeof type === 'string' ? type : undefined;
  }

  get data(): Json {
    const json = this.json ?? parsed(this.raw.data);
    this.json = json;
    return json;
  }
}

/** Event types whose data the model wrote, token by token (for {@link responsesOutputText}). */
const OUTPUT_DELTAS: ReadonlySet<string> = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.reasoning_text.delta',
  'response.reasoning_summary_text.delta',
]);

/**
 * The failure an `error` event says: the live API nests its fields under `error`, the reference documents them
 * flat (where `type` is the event's, not the error's); a relay's chat-style `{"error": …}` is nested too.
 * Undefined for an untyped event that holds no error object.
 */
function errorEventFailure(data: Json, type: string | undefined): StreamFailure | undefined {
  const e = data.error;
  if (isRecord(e) || typeof e === 'string') return responsesFailure(e);
  if (type !== 'error') return undefined;
  return responsesFailure({ code: data.code, message: data.message, param: data.param });
}

/**
 * Events that carry part of the answer: a delta (text, a function's arguments, reasoning, audio), a partial
 * image, or an item or part that is done. `response.output_item.added` and `response.content_part.added`
 * hold empty items: an error after them still fails over, and they go out with the first delta.
 */
const STARTS = /\.delta$|\.done$|\.partial_image$/;

/**
 * Reads a native Responses stream. Each piece's text is the whole events the chunk completed, as they came;
 * a failure (`response.failed`, an `error` event, a relay's `data: {"error": …}`) ends it: the failing event and
 * everything after it stay out of the text — the relay writes the gateway's own end (one translation point),
 * numbered after the upstream's events ({@link nextSequenceNumber}).
 */
export class ResponsesStreamReader implements StreamReader {
  private readonly sse = new SseDecoder();
  private failed = false;
  private events = 0;
  private lastSequence = -1;
  /** The Response of `response.created` (what a failed end is written from), then the final one. */
  private created: Json | undefined;
  private final: Json | undefined;

  push(chunk: Uint8Array): StreamPiece {
    return this.read(this.sse.push(chunk));
  }

  end(): StreamPiece {
    return this.read(this.sse.end());
  }

  /** The sequence number an event the gateway adds after the upstream's should carry. */
  get nextSequenceNumber(): number {
    return Math.max(this.events, this.lastSequence + 1);
  }

  /** The Response of `response.completed` / `response.incomplete` (what the store keeps); undefined before. */
  response(): Json | undefined {
    return this.final;
  }

  /**
   * The gateway's end of a stream it fails after the upstream's events: `response.failed` (the Response the
   * upstream created, failed) and the `error` event, numbered after the upstream's — as OpenAI ends a failed
   * stream, so a client waits for nothing more.
   */
  fail(err: SwitchyardError): string {
    const failure: ResponsesFailure = { code: err.code, message: err.message, type: err.type };
    const seq = this.nextSequenceNumber;
    const response = {
      ...(this.created ?? { object: 'response' }),
      status: 'failed',
      error: { code: failure.code ?? 'server_error', message: failure.message },
    };
    return sseEvent('response.failed', seq, { response }) + errorEvent(seq + 1, failure);
  }

  private read(complete: string): StreamPiece {
    if (this.failed || complete === '') return EMPTY_PIECE;
    let forward = '';
    let started = false;
    let done = false;
    let usage: Usage | undefined;
    let upstreamId: string | undefined;
    let failure: StreamFailure | undefined;
    for (const block of complete.split('\n\n')) {
      if (block === '') continue;
      const raw = parseEvents(`${block}\n\n`)[0];
      if (raw === undefined) {
        forward += `${block}\n\n`; // a comment: passed as it came
        continue;
      }
      const event = new UpstreamEvent(raw);
      const type = event.type;
      if (type === 'response.created') {
        const created = event.data.response;
        if (isRecord(created)) this.created = created;
        if (isRecord(created) && typeof created.id === 'string') upstreamId = created.id.slice(0, MAX_ID);
      } else if (type === 'response.completed' || type === 'response.incomplete') {
        const final = event.data.response;
        if (isRecord(final)) this.final = final;
        usage = responsesUsage(final) ?? usage;
        done = true;
      } else if (type === 'response.failed') {
        const failed = event.data.response;
        failure = responsesFailure(isRecord(failed) && failed.error != null ? failed.error : {});
      } else if (type === 'error' || (type === undefined && raw.data.includes('"error"'))) {
        failure = errorEventFailure(event.data, type);
      } else if (type !== undefined && STARTS.test(type)) {
        started = true;
      }
      if (failure !== undefined) {
        this.failed = true;
        break;
      }
      this.events++;
      const seq = SEQUENCE.exec(raw.data);
      if (seq !== null) this.lastSequence = Math.max(this.lastSequence, Number(seq[1]));
      forward += `${block}\n\n`;
    }
    return {
      text: forward,
      ...(usage === undefined ? {} : { usage }),
      ...(failure === undefined ? {} : { failure }),
      ...(started ? { started: true } : {}),
      ...(done ? { done: true } : {}),
      ...(upstreamId === undefined ? {} : { upstreamId }),
    };
  }
}

/**
 * A native non-stream answer: a Response object, its usage and id. Throws {@link NotAnAnswerError} for a
 * body that is none — not JSON, JSON without an `output` list — with the failure it says itself for an
 * `{"error": …}` body or a Response whose status is `failed`.
 */
export function readResponsesBody(body: string): AnswerRead & { readonly response: Json } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new NotAnAnswerError(body.trim() === '' ? 'an empty body' : 'a body that is not JSON');
  }
  if (!isRecord(json)) throw new NotAnAnswerError('JSON that is not a Response object');
  if (!Array.isArray(json.output)) {
    if (json.error !== undefined && json.error !== null) {
      throw new NotAnAnswerError('an error in a 200 body', responsesFailure(json.error));
    }
    throw new NotAnAnswerError('JSON that is not a Response object (no "output" list)');
  }
  if (json.status === 'failed') {
    throw new NotAnAnswerError('a failed Response', responsesFailure(json.error ?? {}));
  }
  const usage = responsesUsage(json);
  const id = typeof json.id === 'string' ? json.id.slice(0, MAX_ID) : undefined;
  return {
    text: body,
    ...(usage === undefined ? {} : { usage }),
    ...(id === undefined ? {} : { upstreamId: id }),
    response: json,
  };
}

/**
 * The text the model produced in forwarded Responses events (output text, refusals, function call arguments,
 * reasoning), for a token estimate when no usage came. `forwarded` holds whole events (pieces' texts).
 */
export function responsesOutputText(forwarded: readonly string[]): string {
  let out = '';
  for (const chunk of forwarded) {
    for (const raw of parseEvents(chunk)) {
      const event = new UpstreamEvent(raw);
      if (event.type === undefined || !OUTPUT_DELTAS.has(event.type)) continue;
      const delta = event.data.delta;
      if (typeof delta === 'string') out += delta;
    }
  }
  return out;
}
