/**
 * node:http ⇄ the core's plain request/response. The only host-specific work: wire the client's disconnect to
 * the request signal, and write stream chunks as they come while honouring backpressure.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gateway } from '../core/gateway/gateway.ts';
import type { GatewayResponse } from '../core/http.ts';
import type { Logger } from '../core/ports.ts';

function waitDrainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function writeStream(res: ServerResponse, body: AsyncIterable<string>): Promise<void> {
  const it = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      if (res.destroyed) break;
      if (!res.write(next.value)) await waitDrainOrClose(res);
    }
  } finally {
    // Stops the relay when we left early (client gone); a no-op when it had finished.
    await it.return?.();
  }
  if (!res.destroyed) res.end();
}

function send(res: ServerResponse, r: GatewayResponse): Promise<void> | undefined {
  if (typeof r.body === 'string' || r.body instanceof Uint8Array) {
    res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
    res.end(r.body);
    return undefined;
  }
  // No flushHeaders(): the relay yields its first event at once, and headers + first event in one send is
  // one syscall less on the time to first token.
  res.writeHead(r.status, r.headers);
  return writeStream(res, r.body);
}

export function nodeHandler(gateway: Gateway, logger: Logger) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    gateway
      .handle({
        method: req.method ?? 'GET',
        path: q === -1 ? url : url.slice(0, q),
        headers: req.headers,
        body: req,
        signal: controller.signal,
      })
      .then((r) => send(res, r))
      .catch((err: unknown) => {
        // handle() turns every failure into a response; reaching here means writing to the socket failed.
        logger.log('warn', 'response write failed', { error: String(err) });
        res.destroy();
      });
  };
}
