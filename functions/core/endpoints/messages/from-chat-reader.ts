/**
 * Messages answers from chat targets, as readers: a reader of the target's chat answer (the OpenAI
 * pass-through reader, or a native adapter's translator to chat) is wrapped, and its pieces — chat SSE text,
 * the usage chunk, usage, failure, started, done, upstream id — become Messages pieces. What the gateway
 * learns stays the inner reader's (its usage, id and flags); only the text changes.
 */
import { isRecord } from '../../json.ts';
import { parseEvents } from '../../sse/splitter.ts';
import { type AnswerRead, NotAnAnswerError, type StreamPiece, type StreamReader } from '../types.ts';
import { ChatToMessagesStream, type MessagesContext, messageFromChat } from './from-chat.ts';

/**
 * A chat stream reader's pieces → Messages events. A failure passes on without text of its own: the relay
 * writes the client's error event (errors.ts, anthropicErrorEvent), as for every endpoint; so does a stream
 * that ends without done. `done` writes message_delta (with the inner reader's cumulative usage) and
 * message_stop.
 */
export class MessagesFromChatReader implements StreamReader {
  private readonly out: ChatToMessagesStream;
  private over = false;

  constructor(
    private readonly inner: StreamReader,
    ctx: MessagesContext,
  ) {
    this.out = new ChatToMessagesStream(ctx);
  }

  push(chunk: Uint8Array): StreamPiece {
    return this.translate(this.inner.push(chunk));
  }

  end(): StreamPiece {
    return this.translate(this.inner.end());
  }

  private translate(p: StreamPiece): StreamPiece {
    if (this.over) return { text: '' };
    let text = '';
    for (const ev of parseEvents(p.text)) {
      if (ev.data === '[DONE]') continue;
      let chunk: unknown;
      try {
        chunk = JSON.parse(ev.data);
      } catch {
        continue; // not a chunk: nothing of the answer
      }
      if (isRecord(chunk) && chunk.error === undefined) text += this.out.push(chunk);
    }
    // The usage chunk is chat's own (kept out of the text for clients that did not ask for it): its counts
    // go into message_delta.
    if (isRecord(p.usageChunk)) text += this.out.push(p.usageChunk);
    if (p.failure !== undefined) this.over = true;
    else if (p.done === true) {
      this.over = true;
      text += this.out.finish(p.usage === undefined ? { done: true } : { done: true, usage: p.usage });
    }
    const { usageChunk: _, ...rest } = p;
    return { ...rest, text };
  }
}

/**
 * A whole chat answer (read by the target's chat reader) → the Messages `message` text; usage and id kept.
 */
export function readMessagesFromChat(read: AnswerRead, ctx: MessagesContext): AnswerRead {
  let completion: unknown;
  try {
    completion = JSON.parse(read.text);
  } catch {
    throw new NotAnAnswerError('The upstream answer is not JSON.');
  }
  if (!isRecord(completion) || !Array.isArray(completion.choices)) {
    throw new NotAnAnswerError('The upstream answer is not a chat completion.');
  }
  return { ...read, text: JSON.stringify(messageFromChat(completion, ctx, read.usage)) };
}
