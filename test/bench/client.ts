/**
 * The bench's client: one undici keep-alive Pool per endpoint, and one code path (`send`) for the direct and
 * the gateway calls — only the origin and the bearer key differ.
 */
import { Pool } from 'undici';
import { monoMs } from './ipc.ts';

/** The upstream called directly, through the gateway, and through the reference proxy (proxy-proc.ts). */
export type Side = 'direct' | 'gateway' | 'reference';

export interface Endpoint {
  readonly name: Side;
  readonly pool: Pool;
  readonly authorization: string;
}

export const CHAT_PATH = '/v1/chat/completions';

export function endpoint(name: Endpoint['name'], origin: string, key: string, connections: number): Endpoint {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  return { name, pool, authorization: `Bearer ${key}` };
}

export interface Sent {
  readonly status: number;
  /** Monotonic ms (see monoMs) when the request was issued. */
  readonly start: number;
  /** When the first body chunk arrived. */
  readonly firstChunk: number | undefined;
  /** When the body ended. */
  readonly end: number;
  /** With `events`: when each SSE event (`…\n\n`) was complete at the client, in order. */
  readonly events: number[];
}

/** POSTs `body` and reads the whole answer, timing its first chunk and end (and SSE events if asked). */
export async function send(
  ep: Endpoint,
  body: string,
  opts: { requestId?: string; events?: boolean } = {},
): Promise<Sent> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    authorization: ep.authorization,
  };
  if (opts.requestId !== undefined) headers['x-request-id'] = opts.requestId;
  const start = monoMs();
  const res = await ep.pool.request({ path: CHAT_PATH, method: 'POST', headers, body });
  let firstChunk: number | undefined;
  const events: number[] = [];
  let text = '';
  let scanFrom = 0;
  await new Promise<void>((resolve, reject) => {
    res.body.on('data', (chunk: Buffer) => {
      const t = monoMs();
      firstChunk ??= t;
      if (opts.events !== true) return;
      text += chunk.toString('utf8');
      for (;;) {
        const i = text.indexOf('\n\n', scanFrom);
        if (i === -1) break;
        events.push(t);
        scanFrom = i + 2;
      }
    });
    res.body.once('end', () => resolve());
    res.body.once('error', reject);
  });
  return { status: res.statusCode, start, firstChunk, end: monoMs(), events };
}

export interface LoadResult {
  readonly ok: number;
  readonly failed: number;
  readonly elapsedMs: number;
}

/**
 * `concurrency` clients, each sending one request after the other, until `maxRequests` were sent or `maxMs`
 * passed. `onDone(n)` runs after the n-th answer.
 */
export async function load(
  ep: Endpoint,
  body: string,
  concurrency: number,
  maxRequests: number,
  maxMs: number,
  onDone?: (completed: number) => void,
): Promise<LoadResult> {
  let issued = 0;
  let ok = 0;
  let failed = 0;
  const start = monoMs();
  const stopAt = start + maxMs;
  const worker = async (): Promise<void> => {
    while (issued < maxRequests && monoMs() < stopAt) {
      issued++;
      try {
        const r = await send(ep, body);
        if (r.status === 200) ok++;
        else failed++;
      } catch {
        failed++;
      }
      onDone?.(ok + failed);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ok, failed, elapsedMs: monoMs() - start };
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export const max = (values: readonly number[]): number =>
  values.length === 0 ? Number.NaN : values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
