/**
 * An HTTP proxy on loopback in front of a store endpoint (dynalite) that counts the calls passing through and
 * the most in flight at once: what a store, or a provisioned table's throughput, sees from a client.
 */
import { createServer, request } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

export interface CountingProxy {
  readonly url: string;
  /** Calls forwarded so far. */
  readonly calls: () => number;
  /** The most calls in flight at the same time so far. */
  readonly maxInFlight: () => number;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const to = new URL(target);
  let calls = 0;
  let inFlight = 0;
  let max = 0;
  const server = createServer((req, res) => {
    calls++;
    inFlight++;
    max = Math.max(max, inFlight);
    let done = false;
    const finish = () => {
      if (!done) inFlight--;
      done = true;
    };
    res.on('close', finish);
    const upstream = request(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: to.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const listening = await listenOnLoopback(server);
  return { url: listening.origin, calls: () => calls, maxInFlight: () => max, close: listening.close };
}
