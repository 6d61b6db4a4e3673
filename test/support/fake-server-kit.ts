// The plumbing every fake provider upstream shares (fake-openai.ts, fake-anthropic.ts, fake-gemini.ts,
// fake-bedrock.ts): a real node:http server on 127.0.0.1 with a behaviour queue (the next request's faults,
// else the default), request recording, the body read and parsed, a first-byte delay and a cut before any
// answer, with the request's one timer cleared when the client goes away. Also the writers each wire format
// uses: a whole body, half a body then a dropped connection, and a stream of frames with its faults.
// The OpenAI fake also serves the bench, so the default path does no work beyond reading the body.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { cutConnection, type ReqState } from './fake-openai-stream.ts';
import { listenOnLoopback } from './loopback.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The body's text exactly as it arrived (only for fakes that ask for it: {@link FakeServerSpec.keepRaw}). */
  raw?: string;
}

/** The behaviour fields the kit acts on itself; each fake's behaviour adds its own (all optional). */
export interface ServerBehaviour {
  firstByteDelayMs?: number;
  /** Destroy the socket without answering. */
  cutBeforeResponse?: boolean;
}

/** A started fake: its address, the requests it got, and its behaviour queue. */
export interface FakeServer<B, R = RecordedRequest> {
  origin: string;
  port: number;
  requests: R[];
  /** The next requests get these, one each, in order. */
  enqueue(...b: B[]): void;
  /** What a request gets when the queue is empty. */
  setDefault(b: B): void;
  /** Empties the queue and the requests, and sets the default back to none. */
  reset(): void;
  close(): Promise<void>;
}

export interface FakeServerSpec<B, R> {
  /** Answers a request once its body is read and the first-byte delay is over, unless the client left. */
  respond(req: IncomingMessage, res: ServerResponse, st: ReqState, b: B, body: unknown): void;
  /** The record of a request, before its body is read. */
  recordOf(req: IncomingMessage): R;
  /** false: record nothing (the bench's hot path). Default true. */
  record?: boolean;
  /** Also record the body's text as it arrived (`raw`), for tests of what is forwarded byte for byte. */
  keepRaw?: boolean;
  /** The body from its text (default {@link jsonOrText}). */
  parseBody?(raw: string): unknown;
  /** Answers at once, before the first-byte delay, when it returns true (e.g. a refused signature). */
  refuse?(req: IncomingMessage, res: ServerResponse): boolean;
  /** Called when the response closes, finished or not. */
  onClose?(rec: R, res: ServerResponse): void;
  keepAliveTimeout?: number;
  headersTimeout?: number;
}

/** The body as JSON; the text itself when it is not JSON (the fakes answer a 400); empty: undefined. */
export function jsonOrText(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The record most fakes keep: method, path with query, headers, and the body once read. */
export const recordOf = (req: IncomingMessage): RecordedRequest => ({
  method: req.method ?? 'GET',
  path: req.url ?? '/',
  headers: req.headers,
  body: undefined,
});

export async function startFakeServer<B extends ServerBehaviour, R extends { body: unknown; raw?: string }>(
  spec: FakeServerSpec<B, R>,
): Promise<FakeServer<B, R>> {
  // Every field of a behaviour is optional, so {} is the behaviour "no faults".
  const none = {} as B;
  const queue: B[] = [];
  let fallback = none;
  const requests: R[] = [];
  const record = spec.record ?? true;
  const parse = spec.parseBody ?? jsonOrText;

  const server = createServer((req, res) => {
    const b = queue.shift() ?? fallback;
    const rec = record ? spec.recordOf(req) : undefined;
    if (rec !== undefined) requests.push(rec);
    if (b.cutBeforeResponse === true) {
      req.socket.destroy();
      return;
    }
    const st: ReqState = { closed: false, timer: undefined };
    res.on('close', () => {
      st.closed = true;
      if (st.timer !== undefined) clearTimeout(st.timer);
      if (rec !== undefined) spec.onClose?.(rec, res);
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = chunks.length === 1 ? String(chunks[0]) : Buffer.concat(chunks).toString();
      const body = parse(text);
      if (rec !== undefined) rec.body = body;
      if (rec !== undefined && spec.keepRaw === true) rec.raw = text;
      if (spec.refuse?.(req, res) === true) return;
      const go = (): void => {
        st.timer = undefined;
        if (!st.closed) spec.respond(req, res, st, b, body);
      };
      const delay = b.firstByteDelayMs ?? 0;
      if (delay > 0) st.timer = setTimeout(go, delay);
      else go();
    });
  });
  if (spec.keepAliveTimeout !== undefined) server.keepAliveTimeout = spec.keepAliveTimeout;
  if (spec.headersTimeout !== undefined) server.headersTimeout = spec.headersTimeout;

  const listening = await listenOnLoopback(server);
  return {
    origin: listening.origin,
    port: listening.port,
    requests,
    enqueue: (...more) => {
      queue.push(...more);
    },
    setDefault: (b) => {
      fallback = b;
    },
    reset: () => {
      queue.length = 0;
      fallback = none;
      requests.length = 0;
    },
    close: listening.close,
  };
}

type Headers = Readonly<Record<string, string>>;

/** A whole body, with its content-length. */
export function sendBody(res: ServerResponse, status: number, headers: Headers, text: string): void {
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** A non-stream cut: the headers promise the whole body, half of it arrives, then the connection drops. */
export function sendHalf(res: ServerResponse, headers: Headers, text: string): void {
  res.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
  res.write(text.slice(0, text.length >> 1));
  cutConnection(res);
}

/** The faults of a stream, counted in frames written. */
export interface FrameFaults {
  /** Pause between frames (ms). */
  gapMs?: number | undefined;
  /** Drop the connection after this many frames. */
  cutAfter?: number | undefined;
  /** After `after` frames, end the answer with `frame()` (the wire format's error event). */
  fail?: { after: number; frame: () => string | Uint8Array } | undefined;
}

/**
 * A 200 stream of `frames` with the faults: a cut wins over the error event at the same count, and the
 * answer ends after the last frame. Every timer lives in `st.timer`, cleared when the client goes away.
 */
export function writeFrames(
  res: ServerResponse,
  st: ReqState,
  headers: Headers,
  frames: readonly (string | Uint8Array)[],
  faults: FrameFaults,
): void {
  res.writeHead(200, headers);
  res.flushHeaders();
  const gap = faults.gapMs ?? 0;
  let i = 0;
  const step = (): void => {
    st.timer = undefined;
    while (!st.closed) {
      if (i === faults.cutAfter) {
        cutConnection(res);
        return;
      }
      if (faults.fail !== undefined && i === faults.fail.after) {
        res.end(faults.fail.frame());
        return;
      }
      const f = frames[i++];
      if (f === undefined) {
        res.end();
        return;
      }
      res.write(f);
      if (gap > 0) {
        st.timer = setTimeout(step, gap);
        return;
      }
    }
  };
  step();
}
