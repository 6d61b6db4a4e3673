// What every billing fake shares — the daily ones (admin cost reports: OpenAI, Anthropic, OpenRouter) and
// the snapshot ones (balances: one-api/new-api relays, SiliconFlow, DeepSeek): a real node:http server on
// 127.0.0.1 that records every request, answers a provider's GET routes, checks its auth first, and injects
// faults ahead of that (a status with the provider's error body, a raw body, a 429 with retry-after, a delay
// past the client's timeout, a cut JSON body). Also the cursor pagination (`has_more` / `next_page`) and
// day buckets of the admin report APIs.

import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

export interface RecordedBillingRequest {
  readonly method: string;
  /** The path without the query, e.g. /v1/organization/costs. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
}

/** Injected into the next matching request(s), before auth is checked. */
export interface BillingFault {
  /** Only requests whose path ends with this (default: any request). */
  readonly path?: string;
  /** Answer this status with the provider's error body for it (or `body`). */
  readonly status?: number;
  /** The raw body to answer instead (with `status`, default 200). */
  readonly body?: string;
  /** The retry-after header (seconds) of the answer. */
  readonly retryAfter?: string;
  /** Wait this long before answering (past the client's timeout: a timeout); then the fault or as usual. */
  readonly delayMs?: number;
  /** Answer 200 with a JSON body cut in the middle. */
  readonly brokenJson?: boolean;
  /** How many matching requests it applies to (default 1). */
  readonly times?: number;
}

/** A route's answer: `body` sent as JSON, or `text` as it is (e.g. a provider's plain-text 401). */
export type Answer =
  | { readonly status: number; readonly body: unknown }
  | { readonly status: number; readonly text: string; readonly contentType: string };

export const json = (body: unknown, status = 200): Answer => ({ status, body });

export interface BillingRoutes {
  /** The base URL's path, e.g. /v1 or /api/v1. */
  readonly basePath: string;
  /** undefined: the request may go on; else the provider's 401 answer. */
  authorize(headers: IncomingHttpHeaders): Answer | undefined;
  /** The provider's error body for a status (default `{"error":{"message":"fake fault"}}`). */
  errorBody?(status: number, message?: string): unknown;
  /**
   * Path (the whole path: a balance may live outside basePath) → the answer to a GET of it, read when the
   * request comes, so a test's setters take effect at once.
   */
  readonly routes: Readonly<Record<string, (query: URLSearchParams) => Answer>>;
}

export interface BillingFakeBase {
  /** The base URL a provider's `billing.baseUrl` uses (origin + basePath). */
  readonly url: string;
  readonly origin: string;
  readonly requests: RecordedBillingRequest[];
  /** Queues faults, each for the next request(s) it matches. */
  fail(...faults: BillingFault[]): void;
  /** Forgets the recorded requests and queued faults. */
  reset(): void;
  close(): Promise<void>;
}

const defaultErrorBody = (status: number, message?: string): unknown => ({
  error: { message: message ?? (status === 404 ? 'no route' : 'fake fault') },
});

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, {
    'content-type': 'application/json',
    ...headers,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function sendAnswer(res: ServerResponse, a: Answer): void {
  if ('text' in a) send(res, a.status, a.text, { 'content-type': a.contentType });
  else send(res, a.status, JSON.stringify(a.body));
}

export async function startBillingServer(spec: BillingRoutes): Promise<BillingFakeBase> {
  const errorBody = spec.errorBody ?? defaultErrorBody;
  const requests: RecordedBillingRequest[] = [];
  let faults: { fault: BillingFault; left: number }[] = [];

  const takeFault = (path: string): BillingFault | undefined => {
    const i = faults.findIndex((f) => f.fault.path === undefined || path.endsWith(f.fault.path));
    const hit = faults[i];
    if (hit === undefined) return undefined;
    hit.left -= 1;
    if (hit.left <= 0) faults.splice(i, 1);
    return hit.fault;
  };

  const answer = (res: ServerResponse, rec: RecordedBillingRequest) => {
    const denied = spec.authorize(rec.headers);
    if (denied !== undefined) return sendAnswer(res, denied);
    const route = spec.routes[rec.path];
    if (route === undefined) return send(res, 404, JSON.stringify(errorBody(404)));
    sendAnswer(res, route(rec.query));
  };

  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://fake');
    const rec = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
    };
    requests.push(rec);
    req.resume();
    if (rec.method !== 'GET') return send(res, 405, JSON.stringify(errorBody(405)));
    const fault = takeFault(u.pathname);
    const reply = () => {
      const retry = fault?.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter };
      if (fault?.brokenJson === true) return send(res, 200, '{"data":[{"start', retry);
      if (fault?.body !== undefined) return send(res, fault.status ?? 200, fault.body, retry);
      if (fault?.status !== undefined) {
        return send(res, fault.status, JSON.stringify(errorBody(fault.status)), retry);
      }
      answer(res, rec);
    };
    if (fault?.delayMs === undefined) return reply();
    const timer = setTimeout(reply, fault.delayMs);
    res.on('close', () => clearTimeout(timer));
  });
  const listening = await listenOnLoopback(server);
  return {
    url: `${listening.origin}${spec.basePath}`,
    origin: listening.origin,
    requests,
    fail: (...more) => {
      faults.push(...more.map((fault) => ({ fault, left: fault.times ?? 1 })));
    },
    reset: () => {
      requests.length = 0;
      faults = [];
    },
    close: () => listening.close(),
  };
}

/** Auth by exactly `authorization: Bearer <key>`; any other header (or none) gets `refused(header)`. */
export const bearerAuth =
  (key: string, refused: (authorization: string | undefined) => Answer) =>
  (headers: IncomingHttpHeaders): Answer | undefined =>
    headers.authorization === `Bearer ${key}` ? undefined : refused(headers.authorization);

/** A bearer token, or undefined. */
export function bearerOf(headers: IncomingHttpHeaders): string | undefined {
  const m = /^Bearer (.+)$/.exec(headers.authorization ?? '');
  return m?.[1];
}

const DAY_MS = 86_400_000;
const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** A day's results as the test set them, or `undefined` for a day the provider has no bucket for. */
export type Days<R> = Map<string, readonly R[]>;

/** One page of buckets: the days in [fromMs, toMs), their results cut into pages of `pageSize` rows. */
export interface BucketPage<R> {
  readonly buckets: { readonly startMs: number; readonly endMs: number; readonly results: R[] }[];
  readonly hasMore: boolean;
  readonly nextPage: string | null;
}

/**
 * Pages by result rows, not by buckets as the real APIs do (their `limit` counts buckets): a day's bucket
 * with more rows than a page is repeated on the next page with the rest, the harder case for a reader.
 * An empty bucket takes one row. undefined: the cursor is not one this fake gave.
 */
export function bucketPage<R>(
  days: Days<R>,
  fromMs: number,
  toMs: number,
  cursor: string | null,
  pageSize: number,
): BucketPage<R> | undefined {
  const rows: { day: string; result?: R }[] = [];
  for (const day of [...days.keys()].sort()) {
    const t = dayStart(day);
    if (t < fromMs || t + DAY_MS > toMs) continue;
    const results = days.get(day) ?? [];
    if (results.length === 0) rows.push({ day });
    for (const result of results) rows.push({ day, result });
  }
  const offset = cursor === null ? 0 : Number(Buffer.from(cursor.replace(/^page_/, ''), 'base64').toString());
  if (!Number.isInteger(offset) || offset < 0 || offset > rows.length) return undefined;
  const page = rows.slice(offset, offset + pageSize);
  const buckets: BucketPage<R>['buckets'] = [];
  for (const row of page) {
    const startMs = dayStart(row.day);
    let b = buckets.at(-1);
    if (b?.startMs !== startMs) {
      b = { startMs, endMs: startMs + DAY_MS, results: [] };
      buckets.push(b);
    }
    if (row.result !== undefined) b.results.push(row.result);
  }
  const next = offset + page.length;
  const hasMore = next < rows.length;
  return {
    buckets,
    hasMore,
    nextPage: hasMore ? `page_${Buffer.from(String(next)).toString('base64')}` : null,
  };
}

/** A day of an admin report's bill: `costs` absent → no cost bucket; `usage` absent → no usage bucket. */
export interface BillingDay<C, U> {
  readonly costs?: readonly C[];
  readonly usage?: readonly U[];
}

/** An admin-report fake (OpenAI costs, Anthropic cost report): the base with the test's figures per day. */
export interface ReportFake<C, U> extends BillingFakeBase {
  setDay(day: string, figures: BillingDay<C, U>): void;
  /** Result rows per page (default 100); see {@link bucketPage}. */
  setPageSize(n: number): void;
  /** Also forgets the days and the page size. */
  reset(): void;
}

/**
 * The figures an admin-report fake answers from: cost and usage rows per day, and the page size.
 * `sumUsage` adds two usage rows up, as a report not grouped by model does.
 */
export function reportDays<C, U>(opts: { readonly pageSize?: number }, sumUsage: (a: U, b: U) => U) {
  const costs: Days<C> = new Map();
  const usage: Days<U> = new Map();
  let pageSize = opts.pageSize ?? 100;
  return {
    costs,
    /** The usage days as the API answers them: per model, or one row a day (model '') when not grouped. */
    usage: (byModel: boolean): Days<U> =>
      byModel ? usage : new Map([...usage].map(([day, rows]) => [day, grouped(rows, () => '', sumUsage)])),
    /** A page of `days` in [fromMs, toMs) at the page size; undefined for a cursor this fake did not give. */
    page: <R>(days: Days<R>, fromMs: number, toMs: number, cursor: string | null) =>
      bucketPage(days, fromMs, toMs, cursor, pageSize),
    /** `base` with the setters of these figures. */
    fake: (base: BillingFakeBase): ReportFake<C, U> => ({
      ...base,
      setDay(day, figures) {
        if (figures.costs === undefined) costs.delete(day);
        else costs.set(day, figures.costs);
        if (figures.usage === undefined) usage.delete(day);
        else usage.set(day, figures.usage);
      },
      setPageSize(n) {
        pageSize = n;
      },
      reset() {
        base.reset();
        costs.clear();
        usage.clear();
        pageSize = opts.pageSize ?? 100;
      },
    }),
  };
}

/** Adds up rows with the same key (what the APIs do for the fields not in `group_by`). */
export function grouped<R>(rows: readonly R[], key: (r: R) => string, merge: (a: R, b: R) => R): R[] {
  const out = new Map<string, R>();
  for (const r of rows) {
    const k = key(r);
    const had = out.get(k);
    out.set(k, had === undefined ? r : merge(had, r));
  }
  return [...out.values()];
}
