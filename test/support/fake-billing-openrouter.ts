// A fake OpenRouter for the `openrouter` billing adapter: GET /api/v1/activity?date= (one UTC day's rows per
// model and endpoint, `{data:[…]}`, not paginated), /api/v1/credits (`{data:{total_credits, total_usage}}`)
// and /api/v1/generation?id= (`{data:{…}}`, 404 until the test sets it), a key as Bearer, and OpenRouter's
// error body `{"error":{"code","message"}}` otherwise.
// Docs: https://openrouter.ai/docs/api/api-reference/analytics/get-user-activity , …/credits/get-credits ,
// …/generations/get-generation , https://openrouter.ai/docs/api/errors

import { type Answer, type BillingFakeBase, bearerOf, startBillingServer } from './fake-billing-server.ts';

export interface OpenRouterActivityRow {
  readonly model: string;
  /** USD of OpenRouter credits. */
  readonly usage: number;
  readonly byokUsage?: number;
  readonly requests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly reasoningTokens?: number;
  readonly providerName?: string;
}

export interface OpenRouterGeneration {
  readonly totalCost: number;
  readonly tokensPrompt: number | null;
  readonly tokensCompletion: number | null;
  readonly nativeTokensPrompt: number | null;
  readonly nativeTokensCompletion: number | null;
  readonly model?: string;
}

export interface FakeOpenRouterBilling extends BillingFakeBase {
  readonly key: string;
  /** The activity rows of a day (none: `data: []`). */
  setDay(day: string, rows: readonly OpenRouterActivityRow[]): void;
  setCredits(totalCredits: number, totalUsage: number): void;
  setGeneration(id: string, g: OpenRouterGeneration): void;
  /** Also forgets the days, credits and generations. */
  reset(): void;
}

const MESSAGES: Readonly<Record<number, string>> = {
  400: 'Invalid request',
  401: 'User not found.',
  402: 'Insufficient credits. Add more using https://openrouter.ai/credits',
  404: 'Not Found',
  429: 'Rate limit exceeded: limit_rpm/openrouter/activity. High demand, please retry shortly.',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
};

function errorBody(status: number, message?: string): unknown {
  return { error: { code: status, message: message ?? MESSAGES[status] ?? `HTTP ${status}` } };
}

const answer = (status: number, body: unknown): Answer => ({ status, body });

export async function startOpenRouterBillingFake(
  opts: { key?: string } = {},
): Promise<FakeOpenRouterBilling> {
  const key = opts.key ?? 'sk-or-v1-fake-management-0123456789';
  const days = new Map<string, readonly OpenRouterActivityRow[]>();
  const generations = new Map<string, OpenRouterGeneration>();
  let credits = { total_credits: 0, total_usage: 0 };

  const base = await startBillingServer({
    basePath: '/api/v1',
    errorBody,
    authorize(headers) {
      const token = bearerOf(headers);
      if (token === undefined) return answer(401, errorBody(401, 'No auth credentials found'));
      return token === key ? undefined : answer(401, errorBody(401));
    },
    routes: {
      '/api/v1/activity': (q) => {
        const date = q.get('date');
        if (date !== null && !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
          return answer(400, errorBody(400, 'Invalid date format. Use YYYY-MM-DD'));
        }
        const picked = date === null ? [...days] : [[date, days.get(date) ?? []] as const];
        const data = picked.flatMap(([day, rows]) =>
          rows.map((r, i) => ({
            date: day,
            model: r.model,
            model_permaslug: `${r.model}-2025-04-14`,
            endpoint_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
            provider_name: r.providerName ?? 'OpenAI',
            usage: r.usage,
            byok_usage_inference: r.byokUsage ?? 0,
            requests: r.requests,
            prompt_tokens: r.promptTokens,
            completion_tokens: r.completionTokens,
            reasoning_tokens: r.reasoningTokens ?? 0,
          })),
        );
        return answer(200, { data });
      },
      '/api/v1/credits': () => answer(200, { data: credits }),
      '/api/v1/generation': (q) => {
        const id = q.get('id');
        if (id === null) return answer(400, errorBody(400, 'id is required'));
        const g = generations.get(id);
        if (g === undefined) return answer(404, errorBody(404, `Generation ${id} not found`));
        return answer(200, {
          data: {
            id,
            upstream_id: `chatcmpl-${id}`,
            total_cost: g.totalCost,
            usage: g.totalCost,
            model: g.model ?? 'openai/gpt-4o-mini',
            provider_name: 'OpenAI',
            created_at: '2025-08-24T10:00:00.000000+00:00',
            streamed: false,
            cancelled: false,
            is_byok: false,
            tokens_prompt: g.tokensPrompt,
            tokens_completion: g.tokensCompletion,
            native_tokens_prompt: g.nativeTokensPrompt,
            native_tokens_completion: g.nativeTokensCompletion,
            native_tokens_reasoning: 0,
            native_tokens_cached: 0,
            finish_reason: 'stop',
          },
        });
      },
    },
  });

  return {
    ...base,
    key,
    setDay(day, rows) {
      days.set(day, rows);
    },
    setCredits(totalCredits, totalUsage) {
      credits = { total_credits: totalCredits, total_usage: totalUsage };
    },
    setGeneration(id, g) {
      generations.set(id, g);
    },
    reset() {
      base.reset();
      days.clear();
      generations.clear();
      credits = { total_credits: 0, total_usage: 0 };
    },
  };
}
