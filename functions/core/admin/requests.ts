/**
 * The admin API's request pages (./api.ts): the latest ledger records of a window with filters, and one
 * request's records. Bounded: a window of at most a day, read page by page, holding at most twice the
 * records it answers (≤ 1,000), however many the window has.
 */
import { InvalidRequestError, NotFoundError } from '../errors.ts';
import type { UsageReader, UsageRecord } from '../usage/types.ts';

const HOUR_MS = 3_600_000;
/** The longest window one call reads (the ledger's records of it are held in memory while filtering). */
export const MAX_WINDOW_MS = 24 * HOUR_MS;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1_000;
/** Request ids as the gateway accepts them from clients (request-id.ts), so any id it logged can be asked for. */
export const REQUEST_ID = /^[\w.:@+=-]{1,128}$/;

function invalid(message: string, param: string): InvalidRequestError {
  return new InvalidRequestError({ code: 'invalid_request', message, param });
}

function timeParam(q: URLSearchParams, name: string, fallback: number): number {
  const v = q.get(name);
  if (v === null) return fallback;
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw invalid(`${name}: not an ISO time (${v.slice(0, 40)})`, name);
  return t;
}

/** `status`: a code (502), a class (2xx, 4xx, 5xx), or `error` (≥ 400). */
function statusFilter(v: string | null): ((s: number) => boolean) | undefined {
  if (v === null) return undefined;
  if (/^[1-5]\d\d$/.test(v)) return (s) => s === Number(v);
  if (/^[1-5]xx$/.test(v)) return (s) => Math.floor(s / 100) === Number(v[0]);
  if (v === 'error') return (s) => s >= 400;
  throw invalid('status: a code (502), a class (5xx) or "error"', 'status');
}

/** GET /admin/v1/requests: the latest records first. */
export async function listRequests(usage: UsageReader, query: string, nowMs: number): Promise<unknown> {
  const q = new URLSearchParams(query);
  const until = timeParam(q, 'until', nowMs);
  const since = timeParam(q, 'since', until - HOUR_MS);
  if (since >= until) throw invalid('since must be before until', 'since');
  if (until - since > MAX_WINDOW_MS) throw invalid('the window is at most 24 hours', 'since');
  const limitText = q.get('limit');
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw invalid(`limit: a whole number from 1 to ${MAX_LIMIT}`, 'limit');
  const status = statusFilter(q.get('status'));
  const fields: [keyof UsageRecord, string | null][] = [
    ['keyId', q.get('key')],
    ['route', q.get('route')],
    ['provider', q.get('provider')],
  ];
  const match = (r: UsageRecord) =>
    (status === undefined || status(r.status)) && fields.every(([f, v]) => v === null || r[f] === v);
  const sinceIso = new Date(since).toISOString();
  const untilIso = new Date(until).toISOString();
  const latest = (a: UsageRecord, b: UsageRecord) =>
    b.time.localeCompare(a.time) || b.recordId.localeCompare(a.recordId);
  let kept: UsageRecord[] = [];
  let matched = 0;
  await usage.eachRecord(sinceIso, untilIso, (r) => {
    if (!match(r)) return;
    matched++;
    kept.push(r);
    if (kept.length >= 2 * limit) kept = kept.sort(latest).slice(0, limit);
  });
  return {
    object: 'list',
    since: sinceIso,
    until: untilIso,
    data: kept.sort(latest).slice(0, limit),
    hasMore: matched > limit,
  };
}

/** GET /admin/v1/requests/{id}: its records (one, or more when replayed). */
export async function requestDetail(usage: UsageReader, requestId: string): Promise<unknown> {
  const records = await usage.recordsOf(requestId);
  if (records.length === 0)
    throw new NotFoundError({
      code: 'request_not_found',
      message: `No ledger record of request ${requestId}.`,
      param: 'id',
    });
  return { object: 'request', requestId, records };
}
