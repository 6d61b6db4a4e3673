/**
 * The HTTP wire to providers: undici's keep-alive connection pool (`Agent` + `request`), which the benchmark
 * showed several times cheaper per hop than global `fetch`. undici's own header/body timeouts are off: the
 * gateway's first-byte, idle and total timers abort the call through its signal.
 */
// Deep imports: undici's index also loads fetch, WebSocket, EventSource, mocks and caches (~300 KB of the
// Lambda bundle and of its cold start) that the gateway never uses. Types in undici-deep.d.ts.
import request from 'undici/lib/api/api-request.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import { ConnectionError, type HttpClient } from '../providers/types.ts';

export interface UndiciClientOptions {
  /** Idle keep-alive sockets are closed after this long. */
  readonly keepAliveTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
}

export function createUndiciClient(opts: UndiciClientOptions = {}): HttpClient & { close(): Promise<void> } {
  const agent = new Agent({
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 30_000,
    connect: { timeout: opts.connectTimeoutMs ?? 10_000 },
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  return {
    async send({ url, method, headers, body, signal }) {
      let res: Awaited<ReturnType<typeof request>>;
      try {
        const u = new URL(url);
        res = await request.call(agent, {
          origin: u.origin,
          path: u.pathname + u.search,
          method,
          headers,
          body: body ?? null,
          signal,
        });
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        throw new ConnectionError(
          `cannot reach ${new URL(url).host}: ${err instanceof Error ? err.message : String(err)}`,
          err,
        );
      }
      return {
        status: res.statusCode,
        headers: res.headers,
        body: res.body,
        dispose: () => res.body.destroy(),
      };
    },
    close: () => agent.close(),
  };
}
