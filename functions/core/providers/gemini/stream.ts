/**
 * `streamGenerateContent?alt=sse` → OpenAI chunks. Each SSE event is a whole `GenerateContentResponse`
 * holding the new parts only and the usage so far; the last one carries `finishReason`. The stream has no
 * terminating event (no [DONE]): a finish reason is the only sign the answer is complete.
 */

import type { StreamPiece, StreamReader } from '../../endpoints/types.ts';
import { failureKindOf } from '../../routing/failure.ts';
import { parseEvents, SseDecoder } from '../../sse/splitter.ts';
import { isRecord, type Json } from '../messages.ts';
import { ChunkWriter, DONE_EVENT, PieceLog, streamFailure } from '../openai/wire.ts';
import type { Usage } from '../types.ts';
import { parseGeminiError } from './errors.ts';
import {
  type AnswerContext,
  answerId,
  answerModel,
  finishOf,
  geminiUsage,
  promptBlocked,
  readParts,
} from './response.ts';

/**
 * One streamed answer's translator: keeps the unfinished SSE tail, the tool-call count (for indexes and ids),
 * the latest usage and whether a finish reason (complete) or an error event (failed) was seen.
 */
export class GeminiStreamTranslator implements StreamReader {
  private readonly sse = new SseDecoder();
  private readonly log = new PieceLog();
  private writer: ChunkWriter | undefined;
  private calls = 0;
  private finished = false;
  private failed = false;
  private usage: Usage | undefined;

  constructor(private readonly ctx: AnswerContext) {}

  push(chunk: Uint8Array): StreamPiece {
    if (this.failed) return { text: '' };
    return this.log.take(this.events(this.sse.push(chunk)));
  }

  end(): StreamPiece {
    if (this.failed) return { text: '' };
    // An event the body ended in without its blank line is still a whole event if its JSON is whole.
    const out = this.events(this.sse.end());
    if (this.failed || !this.finished) return this.log.take(out);
    if (this.usage !== undefined && this.writer !== undefined) this.writer.usage(this.usage);
    this.log.end();
    return this.log.take(out + DONE_EVENT);
  }

  private events(complete: string): string {
    if (complete === '' || complete === '\n\n') return '';
    let out = '';
    for (const e of parseEvents(complete)) {
      let json: unknown;
      try {
        json = JSON.parse(e.data);
      } catch {
        continue; // an event cut by the end of the body: the missing finish reason reports it
      }
      if (!isRecord(json)) continue;
      out += this.event(json);
      if (this.failed) break;
    }
    return out;
  }

  private event(json: Json): string {
    if (isRecord(json.error)) {
      this.failed = true;
      const err = json.error;
      const message = typeof err.message === 'string' ? err.message : 'Gemini stream failed';
      const status = typeof err.status === 'string' ? err.status : undefined;
      // The same reading as for this error as a status (`code` is its HTTP status).
      const http = typeof err.code === 'number' ? err.code : 500;
      const kind = failureKindOf(http, parseGeminiError(http, JSON.stringify({ error: err })));
      this.log.fail(streamFailure(message, kind, undefined, status));
      return '';
    }
    const usage = geminiUsage(json.usageMetadata);
    if (usage !== undefined) this.usage = usage; // cumulative: the latest is the answer
    let out = '';
    if (this.writer === undefined) {
      if (typeof json.responseId === 'string') this.log.id(json.responseId);
      this.writer = new ChunkWriter(
        answerId(json, this.ctx),
        answerModel(json, this.ctx),
        this.ctx.created,
        this.log,
      );
      out += this.writer.delta({ role: 'assistant', content: '' });
    }
    const w = this.writer;
    if (this.finished) return out;
    if (promptBlocked(json)) {
      this.finished = true;
      return out + w.delta({}, 'content_filter');
    }
    const candidate: unknown = Array.isArray(json.candidates) ? json.candidates[0] : undefined;
    if (!isRecord(candidate)) return out;
    const { text, calls } = readParts(candidate.content, this.ctx, this.calls);
    if (text !== '') out += w.delta({ content: text });
    for (const c of calls) {
      const call = {
        index: this.calls++,
        id: c.id,
        type: 'function',
        function: { name: c.name, arguments: c.arguments },
      };
      out += w.delta({ tool_calls: [call] });
    }
    if (typeof candidate.finishReason === 'string') {
      this.finished = true;
      out += w.delta({}, finishOf(candidate.finishReason, this.calls > 0));
    }
    return out;
  }
}
