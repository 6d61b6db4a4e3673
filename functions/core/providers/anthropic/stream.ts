/**
 * Anthropic Messages stream → OpenAI `chat.completion.chunk` events, one upstream chunk at a time (events
 * and UTF-8 characters may be split anywhere). Stream events:
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming
 */

import type { StreamPiece } from '../../endpoints/types.ts';
import { parseEvents, SseDecoder } from '../../sse/splitter.ts';
import { isRecord, type Json } from '../messages.ts';
import { ChunkWriter, DONE_EVENT, PieceLog, streamFailure } from '../openai/wire.ts';
import { anthropicStreamErrorKind } from './errors.ts';
import {
  type AnthropicUsage,
  finishReason,
  openAIUsageOf,
  readUsage,
  type TranslateOptions,
} from './response.ts';

/** What a content block (by its Anthropic `index`) becomes. */
type Block =
  | { readonly kind: 'text' }
  | { readonly kind: 'tool'; readonly index: number }
  /** JSON mode's answer tool: its input deltas are the content. */
  | { readonly kind: 'json' }
  /** thinking, redacted_thinking, server tools, a second answer-tool call: not part of the answer. */
  | { readonly kind: 'skip' };

export class AnthropicStreamTranslator {
  private readonly sse = new SseDecoder();
  private readonly log = new PieceLog();
  private writer: ChunkWriter | undefined;
  private readonly blocks = new Map<number, Block>();
  private tools = 0;
  private jsonStarted = false;
  /** JSON mode: text before the answer tool is held, and dropped once it starts (it would break the JSON). */
  private held = '';
  private readonly usage: AnthropicUsage = {};
  private stopReason: unknown = null;
  private finished = false;
  private state: 'open' | 'done' | 'failed' = 'open';

  constructor(private readonly opts: TranslateOptions) {}

  push(chunk: Uint8Array): StreamPiece {
    if (this.state !== 'open') return { text: '' };
    return this.log.take(this.events(this.sse.push(chunk)));
  }

  end(): StreamPiece {
    if (this.state !== 'open') return { text: '' };
    // An event the body ended in without its blank line is still whole when its data parses. Without
    // message_stop the answer is cut: no usage, not done (the gateway reports the error).
    return this.log.take(this.events(this.sse.end()));
  }

  private out(): ChunkWriter {
    this.writer ??= new ChunkWriter('msg_unknown', this.opts.model, this.opts.created, this.log);
    return this.writer;
  }

  private events(text: string): string {
    if (text === '') return '';
    let out = '';
    for (const ev of parseEvents(text)) {
      let data: unknown;
      try {
        data = JSON.parse(ev.data);
      } catch {
        continue; // not an event of the Messages API
      }
      if (!isRecord(data)) continue;
      out += this.event(typeof data.type === 'string' ? data.type : (ev.event ?? ''), data);
      if (this.state !== 'open') break; // nothing goes out after an error or the end
    }
    return out;
  }

  private event(type: string, d: Json): string {
    switch (type) {
      case 'message_start': {
        const m = isRecord(d.message) ? d.message : {};
        readUsage(this.usage, m.usage);
        if (typeof m.id === 'string') this.log.id(m.id);
        this.writer ??= new ChunkWriter(
          typeof m.id === 'string' ? m.id : 'msg_unknown',
          typeof m.model === 'string' ? m.model : this.opts.model,
          this.opts.created,
          this.log,
        );
        return this.writer.delta({ role: 'assistant', content: '' });
      }
      case 'content_block_start':
        return this.blockStart(Number(d.index), isRecord(d.content_block) ? d.content_block : {});
      case 'content_block_delta':
        return this.blockDelta(this.blocks.get(Number(d.index)), isRecord(d.delta) ? d.delta : {});
      case 'message_delta': {
        readUsage(this.usage, d.usage); // cumulative counts: the latest of each field wins
        const delta = isRecord(d.delta) ? d.delta : {};
        if (typeof delta.stop_reason === 'string') {
          this.stopReason = delta.stop_reason;
          return this.finish();
        }
        return '';
      }
      case 'message_stop': {
        const out = this.finish();
        const u = openAIUsageOf(this.usage);
        if (u !== undefined) this.out().usage(u);
        this.state = 'done';
        this.log.end();
        return out + DONE_EVENT;
      }
      case 'error': {
        const e = isRecord(d.error) ? d.error : {};
        this.state = 'failed';
        const message = typeof e.message === 'string' ? e.message : 'Anthropic stream error';
        const type = typeof e.type === 'string' ? e.type : undefined;
        this.log.fail(streamFailure(message, anthropicStreamErrorKind(e), type));
        return '';
      }
      default:
        return ''; // ping, content_block_stop, and event types added later
    }
  }

  private blockStart(index: number, cb: Json): string {
    if (cb.type === 'text') {
      this.blocks.set(index, { kind: 'text' });
      return typeof cb.text === 'string' ? this.text(cb.text) : '';
    }
    if (cb.type !== 'tool_use') {
      this.blocks.set(index, { kind: 'skip' });
      return '';
    }
    if (this.opts.jsonTool !== undefined && cb.name === this.opts.jsonTool) {
      this.blocks.set(index, { kind: this.jsonStarted ? 'skip' : 'json' });
      this.jsonStarted = true;
      this.held = '';
      return '';
    }
    const n = this.tools++;
    this.blocks.set(index, { kind: 'tool', index: n });
    return this.out().delta({
      tool_calls: [
        {
          index: n,
          id: String(cb.id ?? ''),
          type: 'function',
          function: { name: String(cb.name ?? ''), arguments: '' },
        },
      ],
    });
  }

  private blockDelta(block: Block | undefined, delta: Json): string {
    if (block === undefined) return '';
    if (delta.type === 'text_delta' && block.kind === 'text') {
      return typeof delta.text === 'string' ? this.text(delta.text) : '';
    }
    if (
      delta.type !== 'input_json_delta' ||
      typeof delta.partial_json !== 'string' ||
      delta.partial_json === ''
    ) {
      return ''; // thinking_delta, signature_delta, citations_delta, empty first input delta
    }
    if (block.kind === 'json') return this.out().delta({ content: delta.partial_json });
    if (block.kind === 'tool') {
      return this.out().delta({
        tool_calls: [{ index: block.index, function: { arguments: delta.partial_json } }],
      });
    }
    return '';
  }

  private text(t: string): string {
    if (t === '') return '';
    if (this.opts.jsonTool === undefined) return this.out().delta({ content: t });
    if (!this.jsonStarted) this.held += t;
    return '';
  }

  /** The finish chunk, once; JSON mode's held text goes out first when no answer tool came. */
  private finish(): string {
    if (this.finished) return '';
    this.finished = true;
    let out = '';
    if (this.held !== '') out += this.out().delta({ content: this.held });
    this.held = '';
    return out + this.out().delta({}, finishReason(this.stopReason, this.tools));
  }
}
