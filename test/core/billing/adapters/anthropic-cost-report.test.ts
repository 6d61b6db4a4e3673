import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { anthropicCostReportBilling } from '../../../../functions/core/billing/adapters/anthropic-cost-report.ts';
import type { BillingContext } from '../../../../functions/core/billing/types.ts';
import {
  type AnthropicBillingDay,
  type FakeAnthropicBilling,
  startAnthropicBillingFake,
} from '../../../support/fake-billing-anthropic.ts';
import { billingTestContext, failure } from './billing-context.ts';
import { describeDailyFaults } from './daily-faults.ts';

const KEY = 'sk-ant-admin01-test-0123456789';
const DAY = '2025-08-24';

const FIGURES: AnthropicBillingDay = {
  costs: [
    { cents: 123.45, description: 'Claude Sonnet 4 Usage - Input Tokens', model: 'claude-sonnet-4-20250514' },
    { cents: 76.55, description: 'Claude Sonnet 4 Usage - Output Tokens', model: 'claude-sonnet-4-20250514' },
    { cents: 50, description: 'Web Search' },
  ],
  usage: [
    {
      model: 'claude-sonnet-4-20250514',
      uncached: 1_000,
      cacheRead: 4_000,
      cacheWrite5m: 300,
      cacheWrite1h: 200,
      output: 700,
    },
    { model: 'claude-3-5-haiku-20241022', uncached: 90, output: 10 },
  ],
};
/** 250 cents are $2.50; input is uncached + cache reads + both cache writes. */
const EXPECTED = {
  cost: { amount: 2.5, currency: 'USD' },
  inputTokens: 5_590,
  outputTokens: 710,
  byModel: {
    'claude-sonnet-4-20250514': { inputTokens: 5_500, outputTokens: 700 },
    'claude-3-5-haiku-20241022': { inputTokens: 90, outputTokens: 10 },
  },
};

describe('anthropicCostReportBilling', () => {
  const c = billingTestContext(KEY);
  let fake: FakeAnthropicBilling;
  const ctx = (over: Partial<BillingContext> = {}) => c.ctx(fake.url, over);
  const day = (d = DAY) => anthropicCostReportBilling.day(ctx(), d);

  beforeAll(async () => {
    fake = await startAnthropicBillingFake({ adminKey: KEY });
  });
  afterAll(async () => {
    await fake.close();
    await c.http.close();
  });
  beforeEach(() => fake.reset());

  it('is a daily bill', () => {
    expect(anthropicCostReportBilling).toMatchObject({ type: 'anthropic-cost-report', kind: 'daily' });
  });

  it("turns the day's cents into dollars and counts every input token the usage report lists", async () => {
    fake.setDay(DAY, FIGURES);
    fake.setDay('2025-08-25', { costs: [{ cents: 9_999 }], usage: [] });
    expect(await day()).toEqual(EXPECTED);
  });

  it('asks for the UTC day in RFC 3339, 1d buckets, usage by model, with the admin key and API version', async () => {
    fake.setDay(DAY, FIGURES);
    await day();
    const window = {
      starting_at: ['2025-08-24T00:00:00.000Z'],
      ending_at: ['2025-08-25T00:00:00.000Z'],
      bucket_width: ['1d'],
    };
    expect(
      fake.requests.map((r) => ({
        path: r.path,
        query: Object.fromEntries([...r.query.keys()].map((k) => [k, r.query.getAll(k)])),
        key: r.headers['x-api-key'],
        version: r.headers['anthropic-version'],
        authorization: r.headers.authorization,
      })),
    ).toEqual([
      {
        path: '/v1/organizations/cost_report',
        query: window,
        key: KEY,
        version: '2023-06-01',
        authorization: undefined,
      },
      {
        path: '/v1/organizations/usage_report/messages',
        query: { ...window, 'group_by[]': ['model'] },
        key: KEY,
        version: '2023-06-01',
        authorization: undefined,
      },
    ]);
  });

  it("follows has_more / next_page through every page, a day's bucket split over pages included", async () => {
    fake.setDay(DAY, FIGURES);
    fake.setPageSize(1);
    expect(await day()).toEqual(EXPECTED);
    const pages = (path: string) =>
      fake.requests.filter((r) => r.path.endsWith(path)).map((r) => r.query.get('page'));
    const cursor = expect.stringMatching(/^page_/);
    expect(pages('/cost_report')).toEqual([null, cursor, cursor]);
    expect(pages('/usage_report/messages')).toEqual([null, cursor]);
  });

  it('has no figures for a day Anthropic has no cost bucket for, and does not ask for its usage', async () => {
    fake.setDay('2025-08-23', FIGURES);
    expect(await day()).toBeUndefined();
    expect(fake.requests.map((r) => r.path)).toEqual(['/v1/organizations/cost_report']);
  });

  it('reports an empty bucket as what Anthropic says it is: $0 and zero tokens', async () => {
    fake.setDay(DAY, { costs: [], usage: [] });
    expect(await day()).toEqual({ cost: { amount: 0, currency: 'USD' }, inputTokens: 0, outputTokens: 0 });
  });

  it('reports the cost alone when the usage report has no bucket for the day', async () => {
    fake.setDay(DAY, { costs: [{ cents: 1 }] });
    expect(await day()).toEqual({ cost: { amount: 0.01, currency: 'USD' } });
  });

  it('counts only the bucket that starts at the day, however its time is written', async () => {
    const data = [
      {
        starting_at: '2025-08-23T00:00:00Z',
        ending_at: '2025-08-24T00:00:00Z',
        results: [{ currency: 'USD', amount: '900' }],
      },
      {
        starting_at: '2025-08-24T00:00:00+00:00',
        ending_at: '2025-08-25T00:00:00+00:00',
        results: [{ currency: 'USD', amount: '100' }],
      },
    ];
    fake.fail({ path: '/cost_report', body: JSON.stringify({ data, has_more: false, next_page: null }) });
    expect(await day()).toEqual({ cost: { amount: 1, currency: 'USD' } });
  });

  describe('fails with the reason on an answer of another shape', () => {
    const bucket = (results: unknown[]) =>
      JSON.stringify({
        data: [{ starting_at: '2025-08-24T00:00:00Z', ending_at: '2025-08-25T00:00:00Z', results }],
        has_more: false,
        next_page: null,
      });

    it('an amount that is not a decimal', async () => {
      fake.fail({ path: '/cost_report', body: bucket([{ currency: 'USD', amount: 'twelve' }]) });
      const err = await failure(() => day());
      expect(err.message).toBe('/organizations/cost_report: a result has no decimal amount and currency');
    });

    it('a bucket without a starting_at', async () => {
      const body = JSON.stringify({ data: [{ results: [] }], has_more: false, next_page: null });
      fake.fail({ path: '/cost_report', body });
      const err = await failure(() => day());
      expect(err.message).toBe('/organizations/cost_report: a bucket has no RFC 3339 starting_at');
    });

    it('a usage result without its cache_creation breakdown', async () => {
      fake.setDay(DAY, FIGURES);
      const result = { model: 'm', uncached_input_tokens: 1, cache_read_input_tokens: 0, output_tokens: 1 };
      fake.fail({ path: '/usage_report/messages', body: bucket([result]) });
      const err = await failure(() => day());
      expect(err.message).toBe(
        '/organizations/usage_report/messages: a result has no numeric `cache_creation.ephemeral_5m_input_tokens`',
      );
    });
  });
});

describeDailyFaults('anthropicCostReportBilling', {
  start: (key) => startAnthropicBillingFake({ adminKey: key }),
  seed: (fake) => fake.setDay(DAY, FIGURES),
  read: (ctx) => anthropicCostReportBilling.day(ctx, DAY),
  expected: EXPECTED,
  firstPath: '/organizations/cost_report',
  keyHint: /must be an Anthropic Admin key/,
});
