/**
 * ConverseStream → OpenAI SSE. The transport writes the SDK's events as newline-delimited JSON, one line per
 * event exactly as the SDK yields it (`{"contentBlockDelta":{…}}`); this reads the lines across arbitrary
 * chunk boundaries. `messageStop` is Bedrock's completion signal and the usage arrives after it, in
 * `metadata`: the usage chunk and [DONE] go out there — or at the end of the body when messageStop was seen,
 * so an answer whose metadata went missing still completes, and a cut one (no messageStop) does not.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
 */

import type { StreamPiece, StreamReader } from '../../endpoints/types.ts';
import { isRecord, type Json } from '../messages.ts';
import { ChunkWriter, DONE_EVENT, type FinishReason, PieceLog, streamFailure } from '../openai/wire.ts';
import type { Usage } from '../types.ts';
import { bedrockStreamErrorKind } from './errors.ts';
import { type AnswerContext, bedrockUsage, finishReasonOf } from './response.ts';

/** ConverseStream's exception events (ConverseStreamOutput members); any other `…Exception` member too. */
const isException = (key: string): boolean => key.endsWith('Exception');

type Block = { kind: 'json' } | { kind: 'tool'; index: number };

export class ConverseStreamTranslator implements StreamReader {
  private readonly log = new PieceLog();
  private readonly writer: ChunkWriter;
  private readonly decoder = new TextDecoder();
  private pending = '';
  /** contentBlockIndex → what its toolUse deltas are: the JSON answer, or the n-th OpenAI tool call. */
  private readonly blocks = new Map<number, Block>();
  private toolCalls = 0;
  private finish: FinishReason | undefined;
  private usage: Usage | undefined;
  private metadataSeen = false;
  /** JSON mode: text before the answer tool (a preamble), and whether that tool started. */
  private held = '';
  private jsonStarted = false;
  /** [DONE] or an error event went out: nothing more is written. */
  private over = false;

  constructor(private readonly ctx: AnswerContext) {
    this.writer = new ChunkWriter(ctx.id, ctx.model, ctx.created, this.log);
  }

  push(chunk: Uint8Array): StreamPiece {
    if (this.over) return { text: '' };
    this.pending += this.decoder.decode(chunk, { stream: true });
    const cut = this.pending.lastIndexOf('\n');
    if (cut === -1) return { text: '' };
    const lines = this.pending.slice(0, cut);
    this.pending = this.pending.slice(cut + 1);
    return this.log.take(this.lines(lines));
  }

  end(): StreamPiece {
    if (this.over) return { text: '' };
    this.pending += this.decoder.decode();
    let out = this.lines(this.pending);
    this.pending = '';
    if (!this.over && this.finish !== undefined) out += this.done();
    return this.log.take(out);
  }

  private lines(text: string): string {
    let out = '';
    for (const line of text.split('\n')) {
      if (this.over) break;
      if (line.trim() === '') continue;
      let event: unknown;
      try {
        event = JSON.parse(line);
      } catch {
        this.over = true;
        this.log.fail(streamFailure('Bedrock stream: an event the transport wrote is not JSON', 'server'));
        break;
      }
      if (isRecord(event)) out += this.event(event);
    }
    return out;
  }

  private event(e: Json): string {
    for (const [key, value] of Object.entries(e)) {
      if (!isRecord(value)) continue;
      if (key === 'messageStart') return this.writer.delta({ role: 'assistant', content: '' });
      if (key === 'contentBlockStart') return this.blockStart(value);
      if (key === 'contentBlockDelta') return this.blockDelta(value);
      if (key === 'messageStop') return this.messageStop(value);
      if (key === 'metadata') return this.metadata(value);
      if (isException(key)) {
        this.over = true;
        const message = typeof value.message === 'string' ? value.message : key;
        this.log.fail(streamFailure(message, bedrockStreamErrorKind(key, message), key));
        return '';
      }
    }
    return ''; // contentBlockStop, and events this adapter does not know
  }

  private blockStart(v: Json): string {
    const start = isRecord(v.start) ? v.start : {};
    const use = isRecord(start.toolUse) ? start.toolUse : undefined;
    if (use === undefined || typeof v.contentBlockIndex !== 'number') return '';
    if (this.ctx.jsonTool !== undefined && use.name === this.ctx.jsonTool) {
      this.blocks.set(v.contentBlockIndex, { kind: 'json' });
      // The model's preamble ("Here is the JSON:") would make the content invalid JSON: dropped, as in the
      // non-stream answer.
      this.held = '';
      this.jsonStarted = true;
      return '';
    }
    const index = this.toolCalls++;
    this.blocks.set(v.contentBlockIndex, { kind: 'tool', index });
    const call = {
      index,
      id: typeof use.toolUseId === 'string' ? use.toolUseId : `call_${index}`,
      type: 'function',
      function: { name: typeof use.name === 'string' ? use.name : '', arguments: '' },
    };
    return this.writer.delta({ tool_calls: [call] });
  }

  private blockDelta(v: Json): string {
    const delta = isRecord(v.delta) ? v.delta : {};
    if (typeof delta.text === 'string') {
      if (delta.text === '') return '';
      // JSON mode: text is held until the answer tool starts (then dropped) or the message ends (then sent).
      if (this.ctx.jsonTool !== undefined) {
        if (!this.jsonStarted) this.held += delta.text;
        return '';
      }
      return this.writer.delta({ content: delta.text });
    }
    const use = isRecord(delta.toolUse) ? delta.toolUse : undefined;
    if (use === undefined || typeof use.input !== 'string' || use.input === '') return ''; // reasoning, …
    const block = typeof v.contentBlockIndex === 'number' ? this.blocks.get(v.contentBlockIndex) : undefined;
    if (block === undefined) return '';
    if (block.kind === 'json') return this.writer.delta({ content: use.input });
    return this.writer.delta({ tool_calls: [{ index: block.index, function: { arguments: use.input } }] });
  }

  private messageStop(v: Json): string {
    this.finish = finishReasonOf(v.stopReason, this.toolCalls > 0);
    const held = this.held === '' ? '' : this.writer.delta({ content: this.held });
    this.held = '';
    const out = held + this.writer.delta({}, this.finish);
    return this.metadataSeen ? out + this.done() : out;
  }

  private metadata(v: Json): string {
    this.metadataSeen = true;
    this.usage = bedrockUsage(v.usage) ?? this.usage;
    return this.finish === undefined ? '' : this.done();
  }

  /** The usage (only when Bedrock counted) and [DONE]. */
  private done(): string {
    this.over = true;
    if (this.usage !== undefined) this.writer.usage(this.usage);
    this.log.end();
    return DONE_EVENT;
  }
}
