/**
 * A streamed chat answer → the Responses stream events, for a Responses request served by a chat target.
 * Fed the `chat.completion.chunk` objects one by one (an OpenAI-compatible upstream's, or what the gateway's
 * native translators make of Anthropic, Gemini or Bedrock), it writes the documented events in OpenAI's order:
 * response.created, response.in_progress, then per output item output_item.added, its content_part.added and
 * output_text deltas (or function_call_arguments deltas), their .done events and output_item.done, and last
 * response.completed / response.incomplete with usage — or response.failed and an `error` event.
 * https://platform.openai.com/docs/api-reference/responses-streaming
 */
import { isRecord, type Json } from '../../json.ts';
import { openAIUsage } from '../../providers/openai/adapter.ts';
import type { Usage } from '../../providers/types.ts';
import { EventWriter } from './events.ts';
import {
  functionCallItem,
  INCOMPLETE_REASONS,
  type IncompleteReason,
  itemId,
  messageItem,
  outputTextPart,
  type ResponseContext,
  type ResponseStatus,
  type ResponsesFailure,
  refusalPart,
  responseObject,
} from './response-object.ts';

/** The part of the open message that deltas are appended to: text, or a refusal. */
interface OpenPart {
  readonly kind: 'text' | 'refusal';
  text: string;
}

interface OpenMessage {
  readonly outputIndex: number;
  readonly id: string;
  /** Its closed parts. */
  readonly parts: Json[];
  part: OpenPart | undefined;
}

/** A tool call of the chat stream (by its `index` there); an output item once its name is known. */
interface Call {
  callId: string | undefined;
  name: string | undefined;
  args: string;
  outputIndex: number | undefined;
  id: string | undefined;
  closed: boolean;
}

/** How a stream ends: `done` when the upstream said the answer is complete; else it failed. */
export interface StreamEnd {
  readonly done: boolean;
  /** The usage to report (the upstream's, or the gateway's estimate when it sent none). */
  readonly usage?: Usage | undefined;
  readonly error?: ResponsesFailure | undefined;
}

/** The failure of a stream that ended without its end and without a word why. */
const CUT: ResponsesFailure = {
  code: 'server_error',
  message: 'The upstream stream ended before the answer was complete.',
};

const partOf = (p: OpenPart): Json => (p.kind === 'text' ? outputTextPart(p.text) : refusalPart(p.text));

/**
 * One streamed answer's events. `push` each chat chunk (parsed), then `finish` once; `response()` is the
 * Response object at any moment (the final one after `finish`: what the store keeps). Function call items stay
 * open until the end (a late argument delta for an earlier call is never lost); a text part is closed when a
 * tool call starts, as OpenAI orders them.
 */
export class ChatToResponsesStream {
  private readonly events = new EventWriter();
  /** Output items by index; an open item's slot is rewritten by each snapshot. */
  private readonly output: Json[] = [];
  private readonly calls = new Map<number, Call>();
  private message: OpenMessage | undefined;
  private started = false;
  private finished = false;
  private status: ResponseStatus = 'in_progress';
  private incomplete: IncompleteReason | undefined;
  private usage: Usage | undefined;
  private error: ResponsesFailure | undefined;

  constructor(private readonly ctx: ResponseContext) {}

  /** response.created and response.in_progress (once; `push` and `finish` write them when not yet written). */
  start(): string {
    if (this.started) return '';
    this.started = true;
    const response = this.response();
    return (
      this.events.write('response.created', { response }) +
      this.events.write('response.in_progress', { response })
    );
  }

  /** One `chat.completion.chunk` → the events it makes ('' when none: a role chunk, a usage chunk). */
  push(chunk: Json): string {
    if (this.finished) return '';
    let out = this.start();
    const usage = openAIUsage(chunk);
    if (usage !== undefined) this.usage = usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : undefined;
    if (!isRecord(choice)) return out;
    const delta = isRecord(choice.delta) ? choice.delta : {};
    if (typeof delta.content === 'string' && delta.content !== '')
      out += this.textDelta('text', delta.content);
    if (typeof delta.refusal === 'string' && delta.refusal !== '')
      out += this.textDelta('refusal', delta.refusal);
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) if (isRecord(call)) out += this.toolDelta(call);
    }
    if (typeof choice.finish_reason === 'string')
      this.incomplete = INCOMPLETE_REASONS.get(choice.finish_reason);
    return out;
  }

  /**
   * The last events: every open item closed and response.completed (response.incomplete after a `length` or
   * `content_filter` finish) when `done`; else response.failed then an `error` event (events.ts says why
   * both). Once only: later calls write nothing.
   */
  finish(end: StreamEnd): string {
    if (this.finished) return '';
    let out = this.start();
    if (end.usage !== undefined) this.usage = end.usage;
    if (end.error !== undefined || !end.done) {
      this.finished = true;
      this.status = 'failed';
      this.error = end.error ?? CUT;
      const response = this.response();
      return out + this.events.write('response.failed', { response }) + this.events.error(this.error);
    }
    const status = this.incomplete === undefined ? 'completed' : 'incomplete';
    // A call whose name never came is still the model's output: written with an empty name, not lost.
    for (const call of this.calls.values())
      if (call.outputIndex === undefined) out += this.addCall(call, status);
    // Closed in output order: a call before the text that came after it.
    const open: { index: number; close: () => string }[] = [];
    for (const call of this.calls.values()) {
      if (!call.closed)
        open.push({ index: call.outputIndex as number, close: () => this.closeCall(call, status) });
    }
    const m = this.message;
    if (m !== undefined) open.push({ index: m.outputIndex, close: () => this.closeMessage(status) });
    for (const item of open.sort((a, b) => a.index - b.index)) out += item.close();
    this.finished = true;
    this.status = status;
    const type = status === 'completed' ? 'response.completed' : 'response.incomplete';
    return out + this.events.write(type, { response: this.response() });
  }

  /** The Response object now: open items as they stand (`incomplete` once the stream failed). */
  response(): Json {
    const output = [...this.output];
    const openStatus = this.status === 'in_progress' ? 'in_progress' : 'incomplete';
    const m = this.message;
    if (m !== undefined) {
      const parts = m.part === undefined ? m.parts : [...m.parts, partOf(m.part)];
      output[m.outputIndex] = messageItem(m.id, openStatus, parts);
    }
    for (const c of this.calls.values()) {
      if (c.outputIndex !== undefined && !c.closed) output[c.outputIndex] = this.callItem(c, openStatus);
    }
    return responseObject(this.ctx, {
      status: this.status,
      output,
      usage: this.usage,
      incomplete: this.incomplete,
      error: this.error,
    });
  }

  private callItem(c: Call, status: string): Json {
    return functionCallItem(c.id as string, status, {
      callId: c.callId as string,
      name: c.name ?? '',
      arguments: c.args,
    });
  }

  private textDelta(kind: OpenPart['kind'], delta: string): string {
    let out = '';
    let m = this.message;
    if (m === undefined) {
      const outputIndex = this.output.length;
      m = { outputIndex, id: itemId(this.ctx, 'msg', outputIndex), parts: [], part: undefined };
      this.message = m;
      this.output.push(messageItem(m.id, 'in_progress', []));
      out += this.events.write('response.output_item.added', {
        output_index: outputIndex,
        item: messageItem(m.id, 'in_progress', []),
      });
    }
    let part = m.part;
    if (part?.kind !== kind) {
      out += this.closePart(m);
      part = { kind, text: '' };
      m.part = part;
      out += this.events.write('response.content_part.added', { ...this.at(m), part: partOf(part) });
    }
    part.text += delta;
    const type = kind === 'refusal' ? 'response.refusal.delta' : 'response.output_text.delta';
    return (
      out + this.events.write(type, { ...this.at(m), delta, ...(kind === 'text' ? { logprobs: [] } : {}) })
    );
  }

  /** Where the open part of a message is, as every part event names it. */
  private at(m: OpenMessage): Json {
    return { item_id: m.id, output_index: m.outputIndex, content_index: m.parts.length };
  }

  private closePart(m: OpenMessage): string {
    const p = m.part;
    if (p === undefined) return '';
    const done =
      p.kind === 'text'
        ? this.events.write('response.output_text.done', { ...this.at(m), text: p.text, logprobs: [] })
        : this.events.write('response.refusal.done', { ...this.at(m), refusal: p.text });
    const part = partOf(p);
    const out = done + this.events.write('response.content_part.done', { ...this.at(m), part });
    m.parts.push(part);
    m.part = undefined;
    return out;
  }

  private closeMessage(status: string): string {
    const m = this.message;
    if (m === undefined) return '';
    let out = this.closePart(m);
    // An item without a part would leave the SDK's output_text without this message: one empty text part.
    if (m.parts.length === 0) m.parts.push(outputTextPart(''));
    const item = messageItem(m.id, status, m.parts);
    this.output[m.outputIndex] = item;
    this.message = undefined;
    out += this.events.write('response.output_item.done', { output_index: m.outputIndex, item });
    return out;
  }

  private toolDelta(delta: Json): string {
    const index = typeof delta.index === 'number' ? delta.index : 0;
    const fn = isRecord(delta.function) ? delta.function : {};
    let call = this.calls.get(index);
    if (call === undefined) {
      call = {
        callId: undefined,
        name: undefined,
        args: '',
        outputIndex: undefined,
        id: undefined,
        closed: false,
      };
      this.calls.set(index, call);
    }
    // The first id and name win: some relays repeat them on every delta.
    if (call.callId === undefined && typeof delta.id === 'string' && delta.id !== '') call.callId = delta.id;
    if (call.name === undefined && typeof fn.name === 'string' && fn.name !== '') call.name = fn.name;
    const args = typeof fn.arguments === 'string' ? fn.arguments : '';
    if (call.outputIndex === undefined) {
      // Arguments before the name are held until the item can be announced with it.
      call.args += args;
      return call.name === undefined ? '' : this.addCall(call, 'completed');
    }
    if (args === '' || call.closed) return '';
    call.args += args;
    return this.events.write('response.function_call_arguments.delta', {
      item_id: call.id,
      output_index: call.outputIndex,
      delta: args,
    });
  }

  /** Announces a call (closing the text before it with `messageStatus`), with the arguments held so far. */
  private addCall(call: Call, messageStatus: string): string {
    let out = this.closeMessage(messageStatus);
    const outputIndex = this.output.length;
    call.outputIndex = outputIndex;
    call.id = itemId(this.ctx, 'fc', outputIndex);
    call.callId ??= itemId(this.ctx, 'call', outputIndex);
    this.output.push(this.callItem({ ...call, args: '' }, 'in_progress'));
    out += this.events.write('response.output_item.added', {
      output_index: outputIndex,
      item: this.callItem({ ...call, args: '' }, 'in_progress'),
    });
    if (call.args === '') return out;
    return (
      out +
      this.events.write('response.function_call_arguments.delta', {
        item_id: call.id,
        output_index: outputIndex,
        delta: call.args,
      })
    );
  }

  private closeCall(call: Call, status: string): string {
    call.closed = true;
    const item = this.callItem(call, status);
    this.output[call.outputIndex as number] = item;
    return (
      this.events.write('response.function_call_arguments.done', {
        item_id: call.id,
        output_index: call.outputIndex,
        name: call.name ?? '',
        arguments: call.args,
      }) + this.events.write('response.output_item.done', { output_index: call.outputIndex, item })
    );
  }
}
