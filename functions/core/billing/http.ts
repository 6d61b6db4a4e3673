/**
 * Reading billing APIs: one GET with a timeout, bounded retries on rate limits (the provider's
 * `retry-after`, at most 60 s) and 5xx, JSON parsing, and page-by-page reading. Every failure is a
 * {@link BillingApiError} whose message never carries the key.
 */
import { concat, redactSecrets, utf8 } from '../bytes.ts';
import { header } from '../http.ts';
import { isRecord } from '../json.ts';
import { backoffMs, parseRetryAfter } from '../routing/retry.ts';
import { BillingApiError, type BillingContext } from './types.ts';

export { isRecord };

const MAX_TRIES = 3;
/** Backoff between tries of a billing call: 0.5 s, then 1 s (a retry-after of at most 60 s wins). */
const BILLING_RETRY = { attempts: MAX_TRIES - 1, initialBackoffMs: 500, maxBackoffMs: 8_000 };

export interface GetOptions {
  readonly query?: Readonly<Record<string, string | number | readonly string[] | undefined>>;
  /** Auth and other headers; default `Authorization: Bearer <key>`. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** `?a=1&b=x&b=y` from a query map (arrays repeat the key, undefined values are left out). */
export function queryString(q: GetOptions['query']): string {
  if (q === undefined) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) {
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(one))}`);
    }
  }
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of body) {
    chunks.push(c);
    size += c.byteLength;
  }
  return utf8.decode(concat(chunks, size));
}

function bearer(ctx: BillingContext): Record<string, string> {
  return ctx.key === undefined ? {} : { authorization: `Bearer ${ctx.key}` };
}

type Outcome = { readonly json: unknown } | { readonly error: BillingApiError; readonly retryInMs?: number };

/** One try: a parsed answer, or the error and — when trying again may help — how long to wait first. */
async function once(
  ctx: BillingContext,
  url: string,
  path: string,
  headers: Record<string, string>,
  attempt: number,
): Promise<Outcome> {
  // The gateway's own policy (no jitter: one reader per provider, nothing to spread); a retry-after wins.
  const wait = (retryAfterMs?: number) => backoffMs(attempt - 1, BILLING_RETRY, retryAfterMs, () => 0);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ctx.timeoutMs);
  try {
    const res = await ctx.http.send({ url, method: 'GET', headers, signal: controller.signal });
    const text = await readAll(res.body);
    if (res.status >= 200 && res.status < 300) {
      try {
        return { json: JSON.parse(text) as unknown };
      } catch (err) {
        return { error: new BillingApiError(`${path}: the answer is not JSON`, res.status, err) };
      }
    }
    const error = new BillingApiError(
      `${path}: HTTP ${res.status} ${redactSecrets(text.slice(0, 200)).trim()}`.trim(),
      res.status,
    );
    if (res.status !== 429 && res.status < 500) return { error };
    const retryInMs = wait(parseRetryAfter((n) => header(res.headers, n), Date.now()));
    return retryInMs === undefined ? { error } : { error, retryInMs };
  } catch (err) {
    const reason = controller.signal.aborted
      ? `timed out after ${ctx.timeoutMs} ms`
      : redactSecrets(err instanceof Error ? err.message : String(err));
    return { error: new BillingApiError(`${path}: ${reason}`, undefined, err), retryInMs: wait() ?? 0 };
  } finally {
    clearTimeout(timer);
  }
}

/** GETs `<baseUrl><path><query>` and parses the JSON answer, retrying rate limits, 5xx and timeouts. */
export async function getJson(ctx: BillingContext, path: string, opts: GetOptions = {}): Promise<unknown> {
  const url = `${ctx.baseUrl}${path}${queryString(opts.query)}`;
  const headers = { accept: 'application/json', ...(opts.headers ?? bearer(ctx)) };
  for (let attempt = 1; ; attempt++) {
    const r = await once(ctx, url, path, headers, attempt);
    if ('json' in r) return r.json;
    if (r.retryInMs === undefined || attempt >= MAX_TRIES) throw r.error;
    await ctx.sleep(r.retryInMs);
  }
}

export interface Page<T> {
  readonly items: readonly T[];
  /** The next page's cursor, undefined on the last page. */
  readonly next: string | undefined;
}

/**
 * Reads every page: `readPage` turns one answer into its items and the next cursor (`has_more` +
 * `next_page` in OpenAI's and Anthropic's APIs), which goes back as the `cursorParam` query field.
 * Bounded by `maxPages`, so a provider that always says "more" cannot loop the run forever.
 */
export async function allPages<T>(
  ctx: BillingContext,
  path: string,
  opts: GetOptions & { readonly cursorParam: string; readonly maxPages?: number },
  readPage: (json: unknown) => Page<T>,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  const max = opts.maxPages ?? 100;
  for (let i = 0; i < max; i++) {
    const query = { ...opts.query, ...(cursor === undefined ? {} : { [opts.cursorParam]: cursor }) };
    const page = readPage(await getJson(ctx, path, { ...opts, query }));
    out.push(...page.items);
    if (page.next === undefined) return out;
    cursor = page.next;
  }
  throw new BillingApiError(`${path}: more than ${max} pages`);
}

/** A number the provider may send as a number or a decimal string ("12.34"); undefined otherwise. */
export function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}
