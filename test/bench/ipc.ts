/**
 * What the bench's parent and its two child processes (upstream-proc.ts, gateway-proc.ts) say to each other
 * over the fork IPC channel, and the clock they share.
 */
import { readFileSync } from 'node:fs';

export const BENCH_MASTER_KEY = 'sk-sy-master-bench-0123456789abcdef';
export const BENCH_PROVIDER_KEY = 'sk-fake-upstream-bench-key';
/** The one route of the bench config; the upstream is asked for the same model name. */
export const BENCH_MODEL = 'gpt-4o-mini';

/** Parent → child. */
export type ToChild =
  | { readonly type: 'rss' }
  /** Upstream only: the write times of the streamed answers seen so far (then forgotten). */
  | { readonly type: 'stamps' }
  | { readonly type: 'exit' };

/** Child → parent. */
export type FromChild =
  | { readonly type: 'ready'; readonly origin: string; readonly url: string }
  | {
      readonly type: 'rss';
      readonly rss: number;
      readonly heapUsed: number;
      readonly heapTotal: number;
      readonly external: number;
      /** From /proc/self/status (Linux): anonymous memory, and file-backed pages (mapped files). */
      readonly rssAnon?: number;
      readonly rssFile?: number;
      /** Gateway only: requests it has finished, and how many of them failed. */
      readonly requests?: number;
      readonly errors?: number;
      /** Gateway only: ledger records written, spooled, and still queued or in flight. */
      readonly ledger?: { readonly written: number; readonly spooled: number; readonly pending: number };
    }
  /** Request id → monotonic ms of each SSE frame the upstream wrote for it, in order. */
  | { readonly type: 'stamps'; readonly stamps: Record<string, number[]> }
  | { readonly type: 'error'; readonly message: string };

/**
 * Milliseconds of CLOCK_MONOTONIC (`process.hrtime`), which on Linux is one clock for the whole machine: a
 * time taken in the upstream process can be compared with one taken in the client.
 */
export const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Stream requests whose frames the upstream time-stamps carry an x-request-id with this prefix. */
export const STAMP_PREFIX = 'bench-stream-';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isToChild(m: unknown): m is ToChild {
  return isRecord(m) && (m.type === 'rss' || m.type === 'stamps' || m.type === 'exit');
}

export function isFromChild(m: unknown): m is FromChild {
  return isRecord(m) && typeof m.type === 'string';
}

/** Sends over IPC when the channel is still there (a child whose parent died just exits). */
export function reply(msg: FromChild): void {
  if (process.send !== undefined && process.connected) process.send(msg);
}

/** Answers the parent's `rss` question with this process's memory (and the gateway's request counts). */
export function replyRss(
  counts:
    | { requests: number; errors: number; ledger: { written: number; spooled: number; pending: number } }
    | undefined = undefined,
): void {
  const mem = process.memoryUsage();
  reply({
    type: 'rss',
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
    ...rssKinds(),
    ...counts,
  });
}

/** RssAnon / RssFile of this process in bytes, where /proc exists. */
function rssKinds(): { rssAnon?: number; rssFile?: number } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rssAnon: kb('RssAnon'), rssFile: kb('RssFile') };
  } catch {
    return {};
  }
}
