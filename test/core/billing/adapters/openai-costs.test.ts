import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openaiCostsBilling } from '../../../../functions/core/billing/adapters/openai-costs.ts';
import type { BillingContext } from '../../../../functions/core/billing/types.ts';
import {
  type FakeOpenAIBilling,
  type OpenAIBillingDay,
  startOpenAIBillingFake,
} from '../../../support/fake-billing-openai.ts';
import { billingTestContext, failure } from './billing-context.ts';
import { describeDailyFaults } from './daily-faults.ts';

const KEY = 'sk-admin-test-0123456789';
const DAY = '2025-08-24';
/** 2025-08-24T00:00:00Z and the next midnight, Unix seconds. */
const START = 1_755_993_600;
const END = START + 86_400;

const FIGURES: OpenAIBillingDay = {
  costs: [
    { value: 1.25, lineItem: 'gpt-4o-2024-08-06, input' },
    { value: 0.5, lineItem: 'gpt-4o-2024-08-06, output' },
    { value: 0.25, lineItem: 'gpt-4o-mini-2024-07-18, input' },
  ],
  usage: [
    { model: 'gpt-4o-2024-08-06', inputTokens: 1_000, cachedTokens: 200, outputTokens: 300, requests: 4 },
    { model: 'gpt-4o-mini-2024-07-18', inputTokens: 50, outputTokens: 20, requests: 1 },
  ],
};
const EXPECTED = {
  cost: { amount: 2, currency: 'USD' },
  inputTokens: 1_050,
  outputTokens: 320,
  requests: 5,
  byModel: {
    'gpt-4o-2024-08-06': { inputTokens: 1_000, outputTokens: 300, requests: 4 },
    'gpt-4o-mini-2024-07-18': { inputTokens: 50, outputTokens: 20, requests: 1 },
  },
};

/** A costs page with one bucket for DAY holding these results. */
const costsPage = (
  results: unknown[],
  more: Record<string, unknown> = { has_more: false, next_page: null },
) =>
  JSON.stringify({
    object: 'page',
    data: [{ object: 'bucket', start_time: START, end_time: END, results }],
    ...more,
  });

describe('openaiCostsBilling', () => {
  const c = billingTestContext(KEY);
  let fake: FakeOpenAIBilling;
  const ctx = (over: Partial<BillingContext> = {}) => c.ctx(fake.url, over);
  const day = (d = DAY, over: Partial<BillingContext> = {}) => openaiCostsBilling.day(ctx(over), d);

  beforeAll(async () => {
    fake = await startOpenAIBillingFake({ adminKey: KEY });
  });
  afterAll(async () => {
    await fake.close();
    await c.http.close();
  });
  beforeEach(() => fake.reset());

  it('is a daily bill', () => {
    expect(openaiCostsBilling).toMatchObject({ type: 'openai-costs', kind: 'daily' });
  });

  it("sums the day's costs and reads its tokens and requests per model", async () => {
    fake.setDay(DAY, FIGURES);
    fake.setDay('2025-08-23', { costs: [{ value: 99 }], usage: [] });
    expect(await day()).toEqual(EXPECTED);
  });

  it('asks for the UTC day in Unix seconds, in 1d buckets, usage by model, with the admin key as Bearer', async () => {
    fake.setDay(DAY, FIGURES);
    await day();
    const asked = fake.requests.map((r) => ({
      path: r.path,
      query: Object.fromEntries(r.query),
      auth: r.headers.authorization,
    }));
    const window = { start_time: String(START), end_time: String(END), bucket_width: '1d', limit: '31' };
    expect(asked).toEqual([
      { path: '/v1/organization/costs', query: window, auth: `Bearer ${KEY}` },
      {
        path: '/v1/organization/usage/completions',
        query: { ...window, group_by: 'model' },
        auth: `Bearer ${KEY}`,
      },
      {
        path: '/v1/organization/usage/embeddings',
        query: { ...window, group_by: 'model' },
        auth: `Bearer ${KEY}`,
      },
    ]);
  });

  it('adds embeddings usage to the completions usage, as the ledger counts both', async () => {
    fake.setDay(DAY, {
      costs: [{ value: 1 }],
      usage: [
        { model: 'gpt-4o-mini', inputTokens: 1000, outputTokens: 200, requests: 4 },
        {
          model: 'text-embedding-3-small',
          inputTokens: 5000,
          outputTokens: 0,
          requests: 2,
          embeddings: true,
        },
      ],
    });
    expect(await day()).toMatchObject({ inputTokens: 6000, outputTokens: 200, requests: 6 });
  });

  it("follows has_more / next_page through every page, a day's bucket split over pages included", async () => {
    fake.setDay(DAY, FIGURES);
    fake.setPageSize(1);
    expect(await day()).toEqual(EXPECTED);
    const pages = (path: string) =>
      fake.requests.filter((r) => r.path === path).map((r) => r.query.get('page'));
    const costPages = pages('/v1/organization/costs');
    expect(costPages).toHaveLength(3);
    expect(costPages[0]).toBeNull();
    expect(new Set(costPages.slice(1)).size).toBe(2);
    expect(pages('/v1/organization/usage/completions')).toHaveLength(2);
  });

  it('has no figures for a day OpenAI has no costs bucket for, and does not ask for its usage', async () => {
    fake.setDay('2025-08-23', FIGURES);
    expect(await day()).toBeUndefined();
    expect(fake.requests.map((r) => r.path)).toEqual(['/v1/organization/costs']);
  });

  it('reports an empty bucket as what OpenAI says it is: $0 and zero tokens', async () => {
    fake.setDay(DAY, { costs: [], usage: [] });
    expect(await day()).toEqual({
      cost: { amount: 0, currency: 'USD' },
      inputTokens: 0,
      outputTokens: 0,
      requests: 0,
    });
  });

  it('reports the cost alone when the usage API has no bucket for the day', async () => {
    fake.setDay(DAY, { costs: [{ value: 0.75 }] });
    expect(await day()).toEqual({ cost: { amount: 0.75, currency: 'USD' } });
  });

  it('counts only the bucket that starts at the day when the answer holds others', async () => {
    const bucket = (start: number, value: number) => ({
      object: 'bucket',
      start_time: start,
      end_time: start + 86_400,
      results: [{ object: 'organization.costs.result', amount: { value, currency: 'usd' } }],
    });
    const data = [bucket(START - 86_400, 9), bucket(START, 1), bucket(END, 7)];
    fake.fail({
      path: '/costs',
      body: JSON.stringify({ object: 'page', data, has_more: false, next_page: null }),
    });
    expect(await day()).toEqual({ cost: { amount: 1, currency: 'USD' } });
  });

  it('reads under a relay base URL the same way (paths appended to it)', async () => {
    fake.setDay(DAY, FIGURES);
    expect(await openaiCostsBilling.day(c.ctx(`${fake.origin}/v1`), DAY)).toEqual(EXPECTED);
  });

  it('refuses a malformed day before asking anything', async () => {
    const err = await failure(() => day('24/08/2025'));
    expect(err.message).toBe('not a UTC day (YYYY-MM-DD): 24/08/2025');
    expect(fake.requests).toHaveLength(0);
  });

  describe('fails with the reason on an answer of another shape', () => {
    it('a cost result without amount.value', async () => {
      fake.fail({ path: '/costs', body: costsPage([{ amount: { currency: 'usd' } }]) });
      const err = await failure(() => day());
      expect(err.message).toBe('/organization/costs: a result has no amount {value, currency}');
    });

    it('amounts in two currencies', async () => {
      fake.setDay(DAY, { costs: [{ value: 1 }, { value: 2, currency: 'eur' }] });
      const err = await failure(() => day());
      expect(err.message).toBe('/organization/costs: amounts in several currencies (USD, EUR)');
    });

    it('has_more without a next_page', async () => {
      fake.fail({ path: '/costs', body: costsPage([], { has_more: true, next_page: null }) });
      const err = await failure(() => day());
      expect(err.message).toBe('/organization/costs: has_more is true but next_page is missing');
    });

    it('a page without a data list', async () => {
      fake.fail({ path: '/costs', body: JSON.stringify({ object: 'page', buckets: [] }) });
      const err = await failure(() => day());
      expect(err.message).toBe('/organization/costs: the answer has no `data` list of buckets');
    });

    it('a usage result without output_tokens', async () => {
      fake.setDay(DAY, FIGURES);
      const usage = { object: 'page', has_more: false, next_page: null };
      const result = { input_tokens: 1, num_model_requests: 1, model: 'gpt-4o' };
      const body = JSON.stringify({
        ...usage,
        data: [{ start_time: START, end_time: END, results: [result] }],
      });
      fake.fail({ path: '/usage/completions', body });
      const err = await failure(() => day());
      expect(err.message).toBe('/organization/usage/completions: a result has no numeric `output_tokens`');
    });
  });
});

describeDailyFaults('openaiCostsBilling', {
  start: (key) => startOpenAIBillingFake({ adminKey: key }),
  seed: (fake) => fake.setDay(DAY, FIGURES),
  read: (ctx) => openaiCostsBilling.day(ctx, DAY),
  expected: EXPECTED,
  firstPath: '/organization/costs',
  keyHint: /must be an OpenAI Admin key/,
});
