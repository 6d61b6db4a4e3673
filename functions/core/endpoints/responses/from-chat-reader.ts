/**
 * A Responses request served through the gateway's chat pipeline (a chat-only relay, or Anthropic, Gemini,
 * Bedrock through their chat translators): the chat answer, as the chat readers give it, becomes the Responses
 * answer. What the gateway needs (usage, failure, started, done, upstream id) is forwarded from the chat
 * pieces as it is; only the text is the reader's own.
 */
import type { SwitchyardError } from '../../errors.ts';
import { isRecord, type Json } from '../../json.ts';
import type { Usage } from '../../providers/types.ts';
import { parseEvents } from '../../sse/splitter.ts';
import { type AnswerRead, NotAnAnswerError, type StreamPiece, type StreamReader } from '../types.ts';
import { ChatToResponsesStream } from './chat-stream.ts';
import { responseFromChat } from './from-chat.ts';
import type { ResponseContext, ResponsesFailure } from './response-object.ts';

/**
 * Wraps a reader whose pieces are chat SSE (`data: {chat.completion.chunk}` events) and gives Responses
 * pieces. The end is written when the chat pieces say `done`; a failure is forwarded without an end of its
 * own — the relay decides what the client reads and writes it with {@link fail} (response.failed, then the
 * `error` event), the one place the gateway's failure becomes Responses events.
 */
export class ResponsesFromChatReader implements StreamReader {
  private readonly stream: ChatToResponsesStream;
  private usage: Usage | undefined;

  constructor(
    private readonly inner: StreamReader,
    ctx: ResponseContext,
  ) {
    this.stream = new ChatToResponsesStream(ctx);
  }

  push(chunk: Uint8Array): StreamPiece {
    return this.translate(this.inner.push(chunk));
  }

  end(): StreamPiece {
    return this.translate(this.inner.end());
  }

  /** The end of a stream the gateway fails (an upstream failure, a timeout, a cut): the events to send last. */
  fail(err: Pick<SwitchyardError, 'code' | 'message' | 'type'>): string {
    const error: ResponsesFailure = { code: err.code, message: err.message, type: err.type };
    return this.stream.finish({ done: false, error, usage: this.usage });
  }

  /** The Response object so far; after the end, the final one (what the store keeps). */
  response(): Json {
    return this.stream.response();
  }

  private translate(piece: StreamPiece): StreamPiece {
    if (piece.usage !== undefined) this.usage = piece.usage;
    let text = '';
    if (piece.text !== '') {
      for (const event of parseEvents(piece.text)) {
        if (event.data === '[DONE]') continue;
        let chunk: unknown;
        try {
          chunk = JSON.parse(event.data);
        } catch {
          continue; // not a chunk: nothing a Responses client could read in it
        }
        // An error event in the text is the inner reader's failure, forwarded below.
        if (isRecord(chunk) && chunk.error === undefined) text += this.stream.push(chunk);
      }
    }
    if (piece.done === true && piece.failure === undefined) {
      text += this.stream.finish({ done: true, usage: this.usage });
    }
    return {
      text,
      ...(piece.usage === undefined ? {} : { usage: piece.usage }),
      ...(piece.failure === undefined ? {} : { failure: piece.failure }),
      ...(piece.started === true ? { started: true } : {}),
      ...(piece.done === true ? { done: true } : {}),
      ...(piece.upstreamId === undefined ? {} : { upstreamId: piece.upstreamId }),
    };
  }
}

/**
 * A whole chat answer (as the chat pipeline read it) → the Responses answer: its text, the usage and the
 * upstream id as they were read, and the Response object itself (for the store, without parsing the text
 * again). Throws {@link NotAnAnswerError} for a text that is no chat completion.
 */
export function readResponsesFromChat(
  read: AnswerRead,
  ctx: ResponseContext,
): AnswerRead & { response: Json } {
  let completion: unknown;
  try {
    completion = JSON.parse(read.text);
  } catch {
    throw new NotAnAnswerError('a chat answer that is not JSON');
  }
  if (!isRecord(completion)) throw new NotAnAnswerError('a chat answer that is not a JSON object');
  const response = responseFromChat(completion, ctx, read.usage);
  return {
    text: JSON.stringify(response),
    ...(read.usage === undefined ? {} : { usage: read.usage }),
    ...(read.upstreamId === undefined ? {} : { upstreamId: read.upstreamId }),
    response,
  };
}
