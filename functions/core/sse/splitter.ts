/**
 * Splits a text stream into whole Server-Sent Events without collecting it: each push returns the text up
 * to the last complete event (ready to forward as is) and keeps only the unfinished tail. The tail is bounded
 * ({@link MAX_EVENT_CHARS}): an upstream that never ends an event is an error, not memory that grows until the
 * deadline; and each push looks only at the new text, so a long event costs linear time, not quadratic.
 */

/** The longest event the gateway waits to complete (a long answer's single chunk is far below it). */
export const MAX_EVENT_CHARS = 8 * 1024 * 1024;

/** An upstream event grew past {@link MAX_EVENT_CHARS} without ending. */
export class SseEventTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`a stream event grew past ${limit} characters without ending`);
    this.name = 'SseEventTooLargeError';
  }
}

export class SseSplitter {
  private carry = '';
  /** A CR at the very end may be the first half of a CRLF split between chunks: decided on the next push. */
  private heldCR = false;

  constructor(private readonly maxEvent = MAX_EVENT_CHARS) {}

  /** Feeds decoded text; returns the complete events it closes ('' when none), blank-line terminated. */
  push(text: string): string {
    let fresh = this.heldCR ? `\r${text}` : text;
    this.heldCR = fresh.endsWith('\r');
    if (this.heldCR) fresh = fresh.slice(0, -1);
    if (fresh.includes('\r')) fresh = fresh.replace(/\r\n?/g, '\n');
    const from = Math.max(0, this.carry.length - 1);
    const t = this.carry === '' ? fresh : this.carry + fresh;
    // The last blank line, searched for in the new text only (and the carry's last character before it).
    let end = -1;
    for (let i = t.indexOf('\n\n', from); i !== -1; i = t.indexOf('\n\n', i + 1)) end = i;
    if (end === -1) {
      if (t.length > this.maxEvent) throw new SseEventTooLargeError(this.maxEvent);
      this.carry = t;
      return '';
    }
    this.carry = end + 2 === t.length ? '' : t.slice(end + 2);
    if (this.carry.length > this.maxEvent) throw new SseEventTooLargeError(this.maxEvent);
    return end + 2 === t.length ? t : t.slice(0, end + 2);
  }

  /** Text of an event that has started but not finished (a held CR included). */
  get pending(): string {
    return this.heldCR ? `${this.carry}\r` : this.carry;
  }
}

export interface SseEvent {
  readonly event?: string;
  readonly data: string;
}

/** Parses complete events (output of {@link SseSplitter.push}) into their `event:` and joined `data:` fields. */
export function parseEvents(complete: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of complete.split('\n\n')) {
    if (block === '') continue;
    let event: string | undefined;
    let data: string | undefined;
    for (const line of block.split('\n')) {
      if (line.startsWith('data:')) {
        const v = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
        data = data === undefined ? v : `${data}\n${v}`;
      } else if (line.startsWith('event:')) {
        event = line.slice(6).trim();
      }
      // comments (":") and id/retry fields carry nothing the gateway uses
    }
    if (data !== undefined) out.push(event === undefined ? { data } : { event, data });
  }
  return out;
}

/**
 * Bytes → whole SSE events: a streaming UTF-8 decoder (characters may be split between chunks) in front of an
 * {@link SseSplitter}. `end()` returns the last event when the body ended without its blank line (some relays
 * end with a single newline, or none): it is closed rather than dropped.
 */
export class SseDecoder {
  private readonly decoder = new TextDecoder();
  private readonly splitter = new SseSplitter();

  push(chunk: Uint8Array): string {
    return this.splitter.push(this.decoder.decode(chunk, { stream: true }));
  }

  end(): string {
    const rest = this.decoder.decode();
    const tail = this.splitter.pending + rest;
    if (tail.trim() === '') return '';
    return this.splitter.push(`${rest}${tail.endsWith('\n') ? '\n' : '\n\n'}`);
  }
}
