// A fake Anthropic Admin API for the `anthropic-cost-report` billing adapter: GET
// /v1/organizations/cost_report and /v1/organizations/usage_report/messages with the documented query
// (starting_at / ending_at RFC 3339, bucket_width=1d, limit, page, group_by[]) and answers
// ({data:[{starting_at, ending_at, results}], has_more, next_page}; cost `amount` a decimal string in cents),
// `x-api-key` with an admin key and `anthropic-version` (Anthropic's error bodies otherwise).
// Docs: https://platform.claude.com/docs/en/api/admin-api/usage-cost/get-cost-report , …/get-messages-usage-report

import {
  type Answer,
  type BillingDay,
  type Days,
  type ReportFake,
  reportDays,
  startBillingServer,
} from './fake-billing-server.ts';

export interface AnthropicCostRow {
  /** In cents of `currency` (default USD); sent as a decimal string. */
  readonly cents: number;
  readonly currency?: string;
  readonly description?: string;
  readonly model?: string;
}

export interface AnthropicUsageRow {
  readonly model: string;
  readonly uncached: number;
  readonly cacheRead?: number;
  readonly cacheWrite5m?: number;
  readonly cacheWrite1h?: number;
  readonly output: number;
}

export type AnthropicBillingDay = BillingDay<AnthropicCostRow, AnthropicUsageRow>;

export interface FakeAnthropicBilling extends ReportFake<AnthropicCostRow, AnthropicUsageRow> {
  readonly adminKey: string;
}

/** Error type and message per status, as https://platform.claude.com/docs/en/api/errors lists them. */
const ERRORS: Readonly<Record<number, readonly [type: string, message: string]>> = {
  400: ['invalid_request_error', 'Invalid request.'],
  401: ['authentication_error', 'invalid x-api-key'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'Not found'],
  429: ['rate_limit_error', 'Number of requests has exceeded your rate limit.'],
  500: ['api_error', 'Internal server error'],
  529: ['overloaded_error', 'Overloaded'],
};

function errorBody(status: number, message?: string): unknown {
  const [type, text] = ERRORS[status] ?? ERRORS[status >= 500 ? 500 : 400] ?? ['api_error', ''];
  return { type: 'error', error: { type, message: message ?? text }, request_id: 'req_fake0123456789' };
}

const bad = (message: string): Answer => ({ status: 400, body: errorBody(400, message) });

function windowOf(q: URLSearchParams): { from: number; to: number } | Answer {
  const from = Date.parse(q.get('starting_at') ?? '');
  if (Number.isNaN(from)) return bad('starting_at: Field required');
  const to = q.has('ending_at') ? Date.parse(q.get('ending_at') ?? '') : Number.POSITIVE_INFINITY;
  if (Number.isNaN(to)) return bad('ending_at: Input should be a valid datetime');
  if (q.has('bucket_width') && q.get('bucket_width') !== '1d') return bad('bucket_width: must be 1d');
  const limit = q.has('limit') ? Number(q.get('limit')) : 7;
  if (!Number.isInteger(limit) || limit < 1 || limit > 31) return bad('limit: must be between 1 and 31');
  return { from, to };
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

export async function startAnthropicBillingFake(
  opts: { adminKey?: string; pageSize?: number } = {},
): Promise<FakeAnthropicBilling> {
  const adminKey = opts.adminKey ?? 'sk-ant-admin01-fake0123456789';
  const days = reportDays<AnthropicCostRow, AnthropicUsageRow>(opts, sumUsage);

  const page = <R, J>(q: URLSearchParams, rows: Days<R>, toJson: (r: R) => J): Answer => {
    const w = windowOf(q);
    if ('status' in w) return w;
    const p = days.page(rows, w.from, w.to, q.get('page'));
    if (p === undefined) return bad('page: invalid page token');
    const data = p.buckets.map((b) => ({
      starting_at: iso(b.startMs),
      ending_at: iso(b.endMs),
      results: b.results.map(toJson),
    }));
    return { status: 200, body: { data, has_more: p.hasMore, next_page: p.nextPage } };
  };

  const base = await startBillingServer({
    basePath: '/v1',
    errorBody,
    authorize(headers) {
      const key = headers['x-api-key'];
      if (key === undefined) return { status: 401, body: errorBody(401, 'x-api-key header is required') };
      if (key !== adminKey) return { status: 401, body: errorBody(401) };
      if (headers['anthropic-version'] === undefined) {
        return { status: 400, body: errorBody(400, 'anthropic-version: header is required') };
      }
      return undefined;
    },
    routes: {
      '/v1/organizations/cost_report': (q) =>
        page(q, days.costs, (r) => ({
          currency: r.currency ?? 'USD',
          amount: String(r.cents),
          workspace_id: null,
          description: r.description ?? null,
          cost_type: r.description === undefined ? null : 'tokens',
          context_window: null,
          model: r.model ?? null,
          service_tier: null,
          token_type: null,
        })),
      '/v1/organizations/usage_report/messages': (q) => {
        // Without group_by[]=model the results of a bucket are one sum, with `model: null`.
        const byModel = q.getAll('group_by[]').includes('model');
        return page(q, days.usage(byModel), (r) => ({
          api_key_id: null,
          workspace_id: null,
          model: byModel ? r.model : null,
          service_tier: null,
          context_window: null,
          uncached_input_tokens: r.uncached,
          cache_read_input_tokens: r.cacheRead ?? 0,
          cache_creation: {
            ephemeral_5m_input_tokens: r.cacheWrite5m ?? 0,
            ephemeral_1h_input_tokens: r.cacheWrite1h ?? 0,
          },
          output_tokens: r.output,
          server_tool_use: { web_search_requests: 0 },
        }));
      },
    },
  });

  return { ...days.fake(base), adminKey };
}

const sumUsage = (a: AnthropicUsageRow, b: AnthropicUsageRow): AnthropicUsageRow => ({
  model: '',
  uncached: a.uncached + b.uncached,
  cacheRead: (a.cacheRead ?? 0) + (b.cacheRead ?? 0),
  cacheWrite5m: (a.cacheWrite5m ?? 0) + (b.cacheWrite5m ?? 0),
  cacheWrite1h: (a.cacheWrite1h ?? 0) + (b.cacheWrite1h ?? 0),
  output: a.output + b.output,
});
