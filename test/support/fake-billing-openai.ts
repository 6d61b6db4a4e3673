// A fake OpenAI Admin API for the `openai-costs` billing adapter: GET /v1/organization/costs and
// /v1/organization/usage/completions and …/usage/embeddings with the documented query (start_time / end_time in Unix seconds,
// bucket_width=1d, limit, page, group_by) and answers ({object:'page', data:[bucket], has_more, next_page}),
// an admin key as Bearer (OpenAI's 401 body otherwise), and the per-day figures a test sets.
// Docs: https://platform.openai.com/docs/api-reference/usage/costs , …/usage/completions

import {
  type Answer,
  type BillingDay,
  bearerOf,
  type Days,
  grouped,
  type ReportFake,
  reportDays,
  startBillingServer,
} from './fake-billing-server.ts';

export interface OpenAICostRow {
  /** amount.value, in `currency` (default usd). */
  readonly value: number;
  readonly currency?: string;
  readonly lineItem?: string;
  readonly projectId?: string;
}

export interface OpenAIUsageRow {
  readonly model: string;
  /** Includes the cached ones, as OpenAI counts them. */
  readonly inputTokens: number;
  readonly cachedTokens?: number;
  readonly outputTokens: number;
  readonly requests: number;
  /** An embeddings row: served by /usage/embeddings instead of /usage/completions. */
  readonly embeddings?: boolean;
}

export type OpenAIBillingDay = BillingDay<OpenAICostRow, OpenAIUsageRow>;

export interface FakeOpenAIBilling extends ReportFake<OpenAICostRow, OpenAIUsageRow> {
  readonly adminKey: string;
}

const NO_KEY_MESSAGE =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.";

const MESSAGES: Readonly<Record<number, readonly [type: string, code: string | null, message: string]>> = {
  400: ['invalid_request_error', null, 'Invalid request.'],
  404: ['invalid_request_error', null, 'Invalid URL'],
  429: ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests. Please try again in 2s.'],
  500: ['server_error', null, 'The server had an error while processing your request. Sorry about that!'],
  503: ['server_error', null, 'The engine is currently overloaded, please try again later.'],
};

const error = (type: string, code: string | null, message: string, param: string | null = null) => ({
  error: { message, type, param, code },
});

function errorBody(status: number, message?: string): unknown {
  const [type, code, text] = MESSAGES[status] ?? MESSAGES[status >= 500 ? 500 : 400] ?? ['', null, ''];
  return error(type, code, message ?? text);
}

const bad = (message: string, param: string): Answer => ({
  status: 400,
  body: error('invalid_request_error', null, message, param),
});

/** The documented window, or the 400 OpenAI answers for it. */
function windowOf(
  q: URLSearchParams,
  maxLimit: number,
): { from: number; to: number; limit: number } | Answer {
  const start = Number(q.get('start_time'));
  if (!q.has('start_time') || !Number.isInteger(start)) return bad('start_time is required', 'start_time');
  const end = q.has('end_time') ? Number(q.get('end_time')) : Number.POSITIVE_INFINITY;
  if (q.has('bucket_width') && q.get('bucket_width') !== '1d')
    return bad('Invalid bucket_width', 'bucket_width');
  const limit = q.has('limit') ? Number(q.get('limit')) : 7;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
    return bad(`limit must be between 1 and ${maxLimit}`, 'limit');
  }
  return { from: start * 1000, to: end * 1000, limit };
}

export async function startOpenAIBillingFake(
  opts: { adminKey?: string; pageSize?: number } = {},
): Promise<FakeOpenAIBilling> {
  const adminKey = opts.adminKey ?? 'sk-admin-fake-0123456789';
  const days = reportDays<OpenAICostRow, OpenAIUsageRow>(opts, sumUsage);

  const page = <R, J>(q: URLSearchParams, rows: Days<R>, maxLimit: number, toJson: (r: R) => J): Answer => {
    const w = windowOf(q, maxLimit);
    if ('status' in w) return w;
    const p = days.page(rows, w.from, w.to, q.get('page'));
    if (p === undefined) return bad('Invalid page cursor', 'page');
    const data = p.buckets.map((b) => ({
      object: 'bucket',
      start_time: b.startMs / 1000,
      end_time: b.endMs / 1000,
      results: b.results.map(toJson),
    }));
    return { status: 200, body: { object: 'page', data, has_more: p.hasMore, next_page: p.nextPage } };
  };

  /** The usage rows of one endpoint (completions or embeddings), per model or summed as the API does. */
  const usageOf = (embeddings: boolean, byModel: boolean): Days<OpenAIUsageRow> =>
    new Map(
      [...days.usage(true)].map(([day, rows]) => {
        const mine = rows.filter((r) => (r.embeddings === true) === embeddings);
        return [day, byModel ? mine : grouped(mine, () => '', sumUsage)];
      }),
    );

  const base = await startBillingServer({
    basePath: '/v1',
    errorBody,
    authorize(headers) {
      const key = bearerOf(headers);
      if (key === undefined)
        return { status: 401, body: error('invalid_request_error', null, NO_KEY_MESSAGE) };
      if (key === adminKey) return undefined;
      const shown = `${key.slice(0, 8)}${'*'.repeat(10)}${key.slice(-4)}`;
      const message = `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`;
      return { status: 401, body: error('invalid_request_error', 'invalid_api_key', message) };
    },
    routes: {
      '/v1/organization/costs': (q) =>
        page(q, days.costs, 180, (r) => ({
          object: 'organization.costs.result',
          amount: { value: r.value, currency: r.currency ?? 'usd' },
          line_item: r.lineItem ?? null,
          project_id: r.projectId ?? null,
        })),
      '/v1/organization/usage/embeddings': (q) => {
        const byModel = q.getAll('group_by').includes('model');
        return page(q, usageOf(true, byModel), 31, (r) => ({
          object: 'organization.usage.embeddings.result',
          input_tokens: r.inputTokens,
          num_model_requests: r.requests,
          project_id: null,
          user_id: null,
          api_key_id: null,
          model: byModel ? r.model : null,
        }));
      },
      '/v1/organization/usage/completions': (q) => {
        // Without group_by=model the results of a bucket are one sum, with `model: null`.
        const byModel = q.getAll('group_by').includes('model');
        return page(q, usageOf(false, byModel), 31, (r) => ({
          object: 'organization.usage.completions.result',
          input_tokens: r.inputTokens,
          output_tokens: r.outputTokens,
          input_cached_tokens: r.cachedTokens ?? 0,
          input_audio_tokens: 0,
          output_audio_tokens: 0,
          num_model_requests: r.requests,
          project_id: null,
          user_id: null,
          api_key_id: null,
          model: byModel ? r.model : null,
          batch: null,
        }));
      },
    },
  });

  return { ...days.fake(base), adminKey };
}

const sumUsage = (a: OpenAIUsageRow, b: OpenAIUsageRow): OpenAIUsageRow => ({
  model: '',
  inputTokens: a.inputTokens + b.inputTokens,
  cachedTokens: (a.cachedTokens ?? 0) + (b.cachedTokens ?? 0),
  outputTokens: a.outputTokens + b.outputTokens,
  requests: a.requests + b.requests,
});
