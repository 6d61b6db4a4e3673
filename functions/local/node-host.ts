/**
 * node:http ⇄ the core's plain request/response. The only host-specific work: wire the client's disconnect to
 * the request signal, and write stream chunks as they come while honouring backpressure.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gateway } from '../core/gateway/gateway.ts';
import type { BodyReader, GatewayResponse } from '../core/http.ts';
import type { Logger } from '../core/ports.ts';
import { ClientGoneReason } from '../core/upstream/reasons.ts';

/**
 * Waits for the client to take what was written. A client that takes nothing for `stallMs` is cut (its
 * connection destroyed: the request ends as a client gone, 499): otherwise a client that stops reading would
 * hold its connection, the upstream's suspended stream and its ledger record for as long as it liked — no
 * route timer runs while the relay waits on the client.
 */
function waitDrainOrClose(res: ServerResponse, stallMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(() => res.destroy(), stallMs);
    res.on('drain', done);
    res.on('close', done);
  });
}

async function writeStream(res: ServerResponse, body: AsyncIterable<string>, stallMs: number): Promise<void> {
  const it = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      if (res.destroyed) break;
      if (!res.write(next.value)) await waitDrainOrClose(res, stallMs);
    }
  } finally {
    // Stops the relay when we left early (client gone); a no-op when it had finished.
    await it.return?.();
  }
  if (!res.destroyed) res.end();
}

/** Writes a response; a stream is written chunk by chunk (the returned promise ends with it). */
async function send(res: ServerResponse, r: GatewayResponse, stallMs: number): Promise<void> {
  if (typeof r.body === 'string' || r.body instanceof Uint8Array) {
    res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
    res.end(r.body);
    return;
  }
  try {
    // No flushHeaders(): the relay yields its first event at once, and headers + first event in one send is
    // one syscall less on the time to first token.
    res.writeHead(r.status, r.headers);
  } catch (err) {
    r.cancel?.();
    throw err;
  }
  await writeStream(res, r.body, stallMs);
}

/** Collects the body with 'data' events; stops buffering (and pauses) once it passes the limit. */
function bodyReader(req: IncomingMessage): BodyReader {
  return (limit) =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.off('data', onData);
          req.pause();
          resolve(undefined);
        } else chunks.push(chunk);
      };
      req.on('data', onData);
      req.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
      // A client that leaves mid-upload is a client gone (499), not a gateway failure.
      req.once('error', () => reject(new ClientGoneReason()));
      req.once('aborted', () => reject(new ClientGoneReason()));
    });
}

export interface NodeHost {
  /** The node:http request listener. */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** Requests taken and not over yet. */
  readonly inflight: number;
  /**
   * Resolves once every request taken so far is over: answered, its stream written to the end, or — for a
   * client that left a draining stream — the upstream read to its end. A closed server socket alone does not
   * say that: a draining stream outlives its connection.
   */
  idle(): Promise<void>;
}

/** How long a client may take none of a streamed answer before it is cut (see {@link waitDrainOrClose}). */
export const DEFAULT_WRITE_STALL_MS = 60_000;

export function nodeHost(gateway: Gateway, logger: Logger, writeStallMs = DEFAULT_WRITE_STALL_MS): NodeHost {
  const pending = new Set<Promise<void>>();
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const done: Promise<void> = gateway
      .handle({
        method: req.method ?? 'GET',
        path: q === -1 ? url : url.slice(0, q),
        ...(q === -1 ? {} : { query: url.slice(q + 1) }),
        headers: req.headers,
        body: bodyReader(req),
        signal: controller.signal,
      })
      .then(
        (r) =>
          send(res, r, writeStallMs).catch((err: unknown) => {
            // handle() turns every failure into a response: this is the socket or the headers failing.
            logger.log('error', 'writing the response failed', {
              requestId: r.headers['x-request-id'],
              error: String(err),
            });
            res.destroy();
          }),
        (err: unknown) => {
          // Unreachable unless the logger itself throws: never leave the socket hanging.
          logger.log('error', 'the gateway failed to answer', { error: String(err) });
          res.destroy();
        },
      )
      .finally(() => pending.delete(done));
    pending.add(done);
  };
  return {
    listener,
    get inflight() {
      return pending.size;
    },
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
