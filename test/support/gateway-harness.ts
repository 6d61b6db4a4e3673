// End-to-end harness: real fake OpenAI upstreams (loopback HTTP) + the real local gateway (`startGateway`,
// in-memory store) + the official OpenAI SDK pointed at it. Each e2e file starts one in beforeAll and
// closes it in afterAll; tests reset the fakes and the captured log between them.
import { connect, createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import type { z } from 'zod';
import { type configSchema, parseConfig } from '../../functions/core/config/schema.ts';
import type { AttemptRecord, Logger, LogLevel } from '../../functions/core/ports.ts';
import { type LocalGatewayOptions, type RunningGateway, startGateway } from '../../functions/local/server.ts';
import type { ProviderKeys } from '../../functions/local/settings.ts';
import { type FakeOpenAI, startFakeOpenAI } from './fake-openai.ts';

export type ConfigInput = z.input<typeof configSchema>;
export type RouteInput = ConfigInput['routes'][string];

export interface LogEntry {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** One attempt in the summary line: the core's own record type. */
export type AttemptLogEntry = AttemptRecord;

/** The per-request summary line, as the gateway logs it (fields of RequestSummary). */
export interface SummaryLine {
  readonly level: LogLevel;
  readonly message: string;
  readonly requestId: string;
  readonly status: number;
  readonly stream: boolean;
  readonly attempts: number;
  readonly retries: number;
  readonly fallbacks: number;
  readonly attemptLog: readonly AttemptLogEntry[];
  readonly errorCode?: string;
  readonly provider?: string;
  readonly model?: string;
  readonly route?: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly fields: Record<string, unknown>;
}

/** A fake upstream whose request arrival times (performance.now()) are recorded too. */
export interface TimedFake extends FakeOpenAI {
  readonly arrivals: number[];
}

export interface HarnessOptions<Names extends string> {
  /** Fake upstreams to start, by name; `apiKey` makes the fake answer 401 to any other key. */
  readonly fakes?: Readonly<Record<Names, { apiKey?: string }>>;
  /** Builds the config once the fakes listen (their URLs are known). Validated with the real schema. */
  readonly config: (fakes: Readonly<Record<Names, TimedFake>>) => ConfigInput;
  readonly providerKeys?: ProviderKeys;
  readonly masterKey?: string;
  readonly maxBodyBytes?: number;
  /** More options of the local gateway (ledger store, spool, key cache TTL, shards). */
  readonly gateway?: Partial<Omit<LocalGatewayOptions, 'config' | 'masterKey' | 'port' | 'logger'>>;
}

export interface Harness<Names extends string> {
  readonly gateway: RunningGateway;
  readonly fakes: Readonly<Record<Names, TimedFake>>;
  readonly client: OpenAI;
  readonly origin: string;
  /** `origin + '/v1'`. */
  readonly baseURL: string;
  readonly masterKey: string;
  readonly logs: LogEntry[];
  /** An SDK client with another key (or none). */
  clientWithKey(apiKey: string): OpenAI;
  /** Resets every fake (queue, default, recorded requests, arrivals) and the captured log. */
  reset(): void;
  /** The request's summary line, if it was logged already. */
  summary(requestId: string): SummaryLine | undefined;
  /** Waits (up to `timeoutMs`) for the request's summary line. */
  waitForSummary(requestId: string, timeoutMs?: number): Promise<SummaryLine>;
  close(): Promise<void>;
}

export const MASTER_KEY = 'sk-sy-master-e2e-0123456789abcdef';

/** Small timeouts so failure paths resolve in well under a second. */
export const FAST_TIMEOUTS = { firstByteMs: 300, idleMs: 300, totalMs: 3000 } as const;
export const NO_RETRY = { attempts: 0, initialBackoffMs: 10, maxBackoffMs: 50 } as const;
export const FAST_RETRY = { attempts: 2, initialBackoffMs: 10, maxBackoffMs: 50 } as const;

/**
 * A route over the given `provider/model` targets (in order) with the fast timeouts and no retries. Its
 * breaker is off unless `extra.health` says otherwise: a harness gateway lives through a whole file, whose
 * tests fail the same targets on purpose, and each of them is about one request's own retries and fallbacks.
 * Breakers have their own tests (test/e2e/health.test.ts), which turn them on.
 */
export function route(targets: RouteInput['targets'], extra: Partial<RouteInput> = {}) {
  return {
    strategy: 'fallback',
    targets: [...targets],
    timeouts: FAST_TIMEOUTS,
    retry: NO_RETRY,
    health: { enabled: false },
    ...extra,
  } satisfies RouteInput;
}

export function openaiProvider(...baseUrls: string[]) {
  return { type: 'openai', baseUrls } as const;
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const isUuidV7 = (s: string | null | undefined): boolean => typeof s === 'string' && UUID_V7.test(s);

/** A loopback port nothing listens on (connection refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A TCP pass-through in front of an upstream, so a test can watch the gateway's upstream connections: how
 * many are open right now (a stream the gateway abandons must close its upstream socket).
 */
export interface TcpProxy {
  readonly port: number;
  /** Where to forward (a fake's port); set before the first connection. */
  forwardTo(port: number): void;
  /** Client-side sockets (gateway → proxy) open now. */
  open(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(): Promise<TcpProxy> {
  let target = 0;
  const sockets = new Set<Socket>();
  const server = createServer((downstream) => {
    sockets.add(downstream);
    const upstream = connect(target, '127.0.0.1');
    sockets.add(upstream);
    const drop = () => {
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on('close', () => {
      sockets.delete(downstream);
      drop();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      drop();
    });
    downstream.on('error', drop);
    upstream.on('error', drop);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  const downstreams = () => [...sockets].filter((s) => s.localPort === port).length;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    forwardTo(p) {
      target = p;
    },
    open: downstreams,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function startTimedFake(apiKey: string | undefined): Promise<TimedFake> {
  const fake = await startFakeOpenAI(apiKey === undefined ? {} : { apiKey });
  const arrivals: number[] = [];
  // The fake records each request by pushing onto this very array: stamp the arrival time alongside.
  const requests = fake.requests;
  const push = requests.push.bind(requests);
  requests.push = (...items) => {
    for (const _ of items) arrivals.push(performance.now());
    return push(...items);
  };
  const reset = fake.reset;
  return Object.assign(fake, {
    arrivals,
    reset: () => {
      reset();
      arrivals.length = 0;
    },
  });
}

function toSummary(e: LogEntry): SummaryLine {
  const f = e.fields;
  const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const opt = <K extends string, V>(k: K, v: V | undefined) =>
    (v === undefined ? {} : { [k]: v }) as Partial<Record<K, V>>;
  return {
    level: e.level,
    message: e.message,
    requestId: String(f.requestId),
    status: num(f.status),
    stream: f.stream === true,
    attempts: num(f.attempts),
    retries: num(f.retries),
    fallbacks: num(f.fallbacks),
    attemptLog: Array.isArray(f.attemptLog) ? (f.attemptLog as AttemptLogEntry[]) : [],
    ...opt('errorCode', str(f.errorCode)),
    ...opt('provider', str(f.provider)),
    ...opt('model', str(f.model)),
    ...opt('route', str(f.route)),
    ...opt('inputTokens', typeof f.inputTokens === 'number' ? f.inputTokens : undefined),
    ...opt('outputTokens', typeof f.outputTokens === 'number' ? f.outputTokens : undefined),
    fields: f,
  };
}

const isSummaryLine = (e: LogEntry): boolean =>
  (e.message === 'request' || e.message.startsWith('request failed')) && 'attempts' in e.fields;

export async function startHarness<Names extends string = never>(
  opts: HarnessOptions<Names>,
): Promise<Harness<Names>> {
  const fakeEntries = await Promise.all(
    Object.entries<{ apiKey?: string }>(opts.fakes ?? ({} as Record<Names, { apiKey?: string }>)).map(
      async ([name, o]) => [name, await startTimedFake(o.apiKey)] as const,
    ),
  );
  const fakes = Object.fromEntries(fakeEntries) as Record<Names, TimedFake>;
  const logs: LogEntry[] = [];
  const logger: Logger = {
    log(level, message, fields) {
      logs.push({ level, message, fields: structuredClone(fields) });
    },
  };
  const masterKey = opts.masterKey ?? MASTER_KEY;
  const gateway = await startGateway({
    config: parseConfig(opts.config(fakes), 'e2e config'),
    masterKey,
    port: 0,
    logger,
    ...(opts.providerKeys === undefined ? {} : { providerKeys: opts.providerKeys }),
    ...(opts.maxBodyBytes === undefined ? {} : { maxBodyBytes: opts.maxBodyBytes }),
    ...opts.gateway,
  });
  const baseURL = `${gateway.origin}/v1`;
  const clientWithKey = (apiKey: string) => new OpenAI({ baseURL, apiKey, maxRetries: 0 });
  const summary = (requestId: string): SummaryLine | undefined => {
    const e = logs.find((l) => l.fields.requestId === requestId && isSummaryLine(l));
    return e === undefined ? undefined : toSummary(e);
  };
  return {
    gateway,
    fakes,
    client: clientWithKey(masterKey),
    origin: gateway.origin,
    baseURL,
    masterKey,
    logs,
    clientWithKey,
    reset() {
      for (const f of Object.values<TimedFake>(fakes)) f.reset();
      logs.length = 0;
    },
    summary,
    async waitForSummary(requestId, timeoutMs = 2000) {
      const until = performance.now() + timeoutMs;
      for (;;) {
        const s = summary(requestId);
        if (s !== undefined) return s;
        if (performance.now() > until) throw new Error(`no summary log line for request ${requestId}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      await gateway.close(500);
      await Promise.all(Object.values<TimedFake>(fakes).map((f) => f.close()));
    },
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * Waits, when the wall clock is within `marginMs` of the next minute, until that minute has begun: a key's rpm
 * counts requests per calendar minute (the limit store's window), so a test that spends a key's requests and
 * then expects a 429 must not straddle a minute's edge, where the count starts over.
 */
export async function clearOfMinuteEdge(marginMs = 3000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 20));
}

/** A plain fetch to the gateway (for what the SDK hides or refuses to send). */
export async function raw(
  origin: string,
  path: string,
  init: { method?: string; key?: string | null; body?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.key !== null) headers.authorization = `Bearer ${init.key ?? MASTER_KEY}`;
  if (init.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(origin + path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The OpenAI error body of a raw response. */
export function errorOf(r: RawResponse): {
  message: string;
  type: string;
  code: string;
  param: string | null;
} {
  const body = JSON.parse(r.text) as {
    error: { message: string; type: string; code: string; param: string | null };
  };
  return body.error;
}

/** SSE `data:` payloads of a raw stream body, in order. */
export function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .map((e) => e.trim())
    .filter((e) => e.startsWith('data:'))
    .map((e) => e.slice(5).trim());
}

/** The JSON body of the fake's `i`-th recorded request (fails the test when there is none). */
export function upstreamBody(fake: FakeOpenAI, i = 0): Record<string, unknown> {
  const body = fake.requests[i]?.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Error(`upstream request #${i} has no JSON object body`);
  }
  return body as Record<string, unknown>;
}
