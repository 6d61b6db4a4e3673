// The common part of the fake snapshot-kind billing APIs (one-api/new-api relays, SiliconFlow, DeepSeek): a
// real node:http server on 127.0.0.1 answering a few GET paths, requiring the provider's auth, recording
// every request and injecting faults one request at a time. Each provider's fake (fake-billing-<type>.ts)
// gives the paths, the documented bodies and the provider's own 401.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

export interface RecordedRequest {
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
}

/** What one request gets instead of the normal answer. */
export interface Fault {
  /** Default 500. */
  readonly status?: number;
  /** Sent as it is (default: a JSON error body); a broken body is a fault too. */
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Wait this long before answering (longer than the client's timeout: a timeout). */
  readonly delayMs?: number;
}

/** A 429 with `retry-after` (seconds). */
export const rateLimited = (retryAfter = '2', body = '{"error":{"message":"rate limited"}}'): Fault => ({
  status: 429,
  headers: { 'retry-after': retryAfter },
  body,
});
/** A 200 whose body is cut in the middle of the JSON. */
export const brokenJson = (): Fault => ({ status: 200, body: '{"object":"list","data":{"total' });
/** No answer for `ms` (then the normal one). */
export const stall = (ms: number): Fault => ({ delayMs: ms });

export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

export const json = (value: unknown, status = 200): Answer => ({ status, body: JSON.stringify(value) });

export interface SnapshotFakeSpec {
  /** Path → the normal answer (read when the request comes, so setters take effect at once). */
  readonly routes: Readonly<Record<string, () => Answer>>;
  /** The `authorization` header the provider accepts. */
  readonly authorization: string;
  /** The provider's answer to a missing or wrong key. */
  readonly unauthorized: (authorization: string | undefined) => Answer;
  /** The path a provider config's base URL ends with (e.g. `/v1`). */
  readonly basePath: string;
}

export interface SnapshotFake {
  /** The base URL a provider config uses (origin + basePath). */
  readonly url: string;
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** The next requests get these, one each, in order (then the normal answers again). */
  failNext(...faults: Fault[]): void;
  /** Forgets requests and pending faults. */
  reset(): void;
  close(): Promise<void>;
}

function send(res: ServerResponse, a: Answer, headers: Readonly<Record<string, string>> = {}): void {
  if (res.destroyed) return;
  res.writeHead(a.status, {
    ...headers,
    'content-type': a.contentType ?? 'application/json',
    'content-length': String(Buffer.byteLength(a.body)),
  });
  res.end(a.body);
}

export async function startSnapshotFake(spec: SnapshotFakeSpec): Promise<SnapshotFake> {
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const answer = (path: string, auth: string | undefined): Answer => {
    if (auth !== spec.authorization) return spec.unauthorized(auth);
    const route = spec.routes[path];
    return route === undefined ? json({ error: { message: `no route ${path}` } }, 404) : route();
  };

  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://fake');
    requests.push({ path: u.pathname, query: Object.fromEntries(u.searchParams), headers: req.headers });
    const fault = faults.shift();
    const reply = (): void => {
      if (fault !== undefined && (fault.status !== undefined || fault.body !== undefined)) {
        const body = fault.body ?? JSON.stringify({ error: { message: 'fake fault' } });
        send(res, { status: fault.status ?? 500, body }, fault.headers);
        return;
      }
      send(res, answer(u.pathname, req.headers.authorization));
    };
    if (fault?.delayMs === undefined) return reply();
    const t = setTimeout(() => {
      timers.delete(t);
      reply();
    }, fault.delayMs);
    timers.add(t);
  });
  const listening = await listenOnLoopback(server);

  return {
    url: `${listening.origin}${spec.basePath}`,
    origin: listening.origin,
    requests,
    failNext: (...f) => {
      faults.push(...f);
    },
    reset: () => {
      requests.length = 0;
      faults.length = 0;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await listening.close();
    },
  };
}
