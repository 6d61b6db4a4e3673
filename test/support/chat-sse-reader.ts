// A reader of OpenAI chat SSE bytes into the typed pieces of functions/core/endpoints/types.ts, as the chat
// endpoint's reader gives them (text: the chunks as they came, the usage chunk apart, usage, started, done,
// the upstream id, a failure for an error event). The Messages readers wrap a chat reader; until the
// gateway's own lands beside them, the tests wrap this one, built from the same shared parts.
import type { StreamPiece, StreamReader } from '../../functions/core/endpoints/types.ts';
import { isRecord, type Json } from '../../functions/core/json.ts';
import { openAIUsage } from '../../functions/core/providers/openai/adapter.ts';
import { kindOfErrorObject } from '../../functions/core/routing/failure.ts';
import { parseEvents, SseDecoder } from '../../functions/core/sse/splitter.ts';

export class ChatSseReader implements StreamReader {
  private readonly sse = new SseDecoder();

  push(chunk: Uint8Array): StreamPiece {
    return this.read(this.sse.push(chunk));
  }

  end(): StreamPiece {
    return this.read(this.sse.end());
  }

  private read(complete: string): StreamPiece {
    let text = '';
    let usageChunk: Json | undefined;
    let usage: StreamPiece['usage'];
    let started = false;
    let done = false;
    let upstreamId: string | undefined;
    for (const ev of parseEvents(complete)) {
      if (ev.data === '[DONE]') {
        done = true;
        continue;
      }
      const chunk: unknown = JSON.parse(ev.data);
      if (!isRecord(chunk)) continue;
      if (isRecord(chunk.error)) {
        const e = chunk.error;
        return { text, failure: { kind: kindOfErrorObject(e), message: String(e.message ?? '') } };
      }
      upstreamId ??= typeof chunk.id === 'string' ? chunk.id : undefined;
      usage = openAIUsage(chunk) ?? usage;
      if (Array.isArray(chunk.choices) && chunk.choices.length === 0) {
        usageChunk = chunk;
        continue;
      }
      const choice = Array.isArray(chunk.choices) ? chunk.choices.find(isRecord) : undefined;
      const delta = isRecord(choice?.delta) ? choice.delta : {};
      if (delta.content || delta.tool_calls || choice?.finish_reason) started = true;
      text += `data: ${ev.data}\n\n`;
    }
    return {
      text,
      ...(usage === undefined ? {} : { usage }),
      ...(usageChunk === undefined ? {} : { usageChunk }),
      ...(started ? { started } : {}),
      ...(done ? { done } : {}),
      ...(upstreamId === undefined ? {} : { upstreamId }),
    };
  }
}
