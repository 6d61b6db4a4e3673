/**
 * Splits a text stream into whole Server-Sent Events without collecting it: each push returns the text up
 * to the last complete event (ready to forward as is) and keeps only the unfinished tail.
 */
export class SseSplitter {
  private carry = '';

  /** Feeds decoded text; returns the complete events it closes ('' when none), blank-line terminated. */
  push(text: string): string {
    let t = this.carry === '' ? text : this.carry + text;
    // A CR at the very end may be the first half of a CRLF split between chunks: decide on the next push.
    const hold = t.endsWith('\r') ? '\r' : '';
    if (hold !== '') t = t.slice(0, -1);
    if (t.includes('\r')) t = t.replace(/\r\n?/g, '\n');
    const end = t.lastIndexOf('\n\n');
    if (end === -1) {
      this.carry = t + hold;
      return '';
    }
    this.carry = (end + 2 === t.length ? '' : t.slice(end + 2)) + hold;
    return end + 2 === t.length ? t : t.slice(0, end + 2);
  }

  /** Text of an event that has started but not finished. */
  get pending(): string {
    return this.carry;
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
