import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openrouterBilling } from '../../../../functions/core/billing/adapters/openrouter.ts';
import type { BillingContext } from '../../../../functions/core/billing/types.ts';
import {
  type FakeOpenRouterBilling,
  type OpenRouterActivityRow,
  startOpenRouterBillingFake,
} from '../../../support/fake-billing-openrouter.ts';
import { billingTestContext, failure } from './billing-context.ts';
import { describeDailyFaults } from './daily-faults.ts';

const KEY = 'sk-or-v1-management-test-0123456789';
const DAY = '2025-08-24';

/** gpt-4.1 served by two endpoints (two rows); the mini model with BYOK inference besides its usage. */
const ROWS: OpenRouterActivityRow[] = [
  {
    model: 'openai/gpt-4.1',
    usage: 0.015,
    requests: 5,
    promptTokens: 50,
    completionTokens: 125,
    reasoningTokens: 25,
  },
  {
    model: 'openai/gpt-4.1',
    usage: 0.005,
    requests: 1,
    promptTokens: 10,
    completionTokens: 20,
    providerName: 'Azure',
  },
  {
    model: 'openai/gpt-4o-mini',
    usage: 0.001,
    byokUsage: 0.02,
    requests: 2,
    promptTokens: 30,
    completionTokens: 5,
  },
];
const EXPECTED = {
  cost: { amount: 0.021, currency: 'USD' },
  inputTokens: 90,
  outputTokens: 150,
  requests: 8,
  byModel: {
    'openai/gpt-4.1': { cost: 0.02, inputTokens: 60, outputTokens: 145, requests: 6 },
    'openai/gpt-4o-mini': { cost: 0.001, inputTokens: 30, outputTokens: 5, requests: 2 },
  },
};

describe('openrouterBilling', () => {
  const c = billingTestContext(KEY);
  let fake: FakeOpenRouterBilling;
  const ctx = (over: Partial<BillingContext> = {}) => c.ctx(fake.url, over);

  beforeAll(async () => {
    fake = await startOpenRouterBillingFake({ key: KEY });
  });
  afterAll(async () => {
    await fake.close();
    await c.http.close();
  });
  beforeEach(() => fake.reset());

  it('is a daily bill with a balance and per-request truth', () => {
    expect(openrouterBilling).toMatchObject({ type: 'openrouter', kind: 'daily' });
    expect(typeof openrouterBilling.balance).toBe('function');
    expect(typeof openrouterBilling.generation).toBe('function');
  });

  describe('day', () => {
    it("sums the day's activity rows — the credits charged, tokens and requests — per model", async () => {
      fake.setDay(DAY, ROWS);
      // usage only: a BYOK request's inference (byok_usage_inference) is billed by the upstream provider.
      expect(await openrouterBilling.day(ctx(), DAY)).toEqual(EXPECTED);
    });

    it('asks /activity for the one date with the management key as Bearer', async () => {
      fake.setDay(DAY, ROWS);
      await openrouterBilling.day(ctx(), DAY);
      expect(
        fake.requests.map((r) => [r.path, Object.fromEntries(r.query), r.headers.authorization]),
      ).toEqual([['/api/v1/activity', { date: DAY }, `Bearer ${KEY}`]]);
    });

    it('has no figures for a day without activity: absence over 30 days is not proof of $0', async () => {
      fake.setDay('2025-08-23', ROWS);
      expect(await openrouterBilling.day(ctx(), DAY)).toBeUndefined();
    });

    it('counts only the asked day when the answer holds other days (an API that ignores `date`)', async () => {
      const other = {
        date: '2025-08-23',
        model: 'x',
        usage: 5,
        requests: 1,
        prompt_tokens: 1,
        completion_tokens: 1,
      };
      const mine = { date: DAY, model: 'y', usage: 0.5, requests: 2, prompt_tokens: 3, completion_tokens: 4 };
      fake.fail({ path: '/activity', body: JSON.stringify({ data: [other, mine] }) });
      expect(await openrouterBilling.day(ctx(), DAY)).toEqual({
        cost: { amount: 0.5, currency: 'USD' },
        inputTokens: 3,
        outputTokens: 4,
        requests: 2,
        byModel: { y: { cost: 0.5, inputTokens: 3, outputTokens: 4, requests: 2 } },
      });
    });

    it('fails with the reason on a row without usage, or a data that is not a list', async () => {
      const row = { date: DAY, model: 'm', requests: 1, prompt_tokens: 1, completion_tokens: 1 };
      fake.fail({ path: '/activity', body: JSON.stringify({ data: [row] }) });
      expect((await failure(() => openrouterBilling.day(ctx(), DAY))).message).toBe(
        '/activity: a result has no numeric `usage`',
      );
      fake.fail({ path: '/activity', body: JSON.stringify({ data: { rows: [] } }) });
      expect((await failure(() => openrouterBilling.day(ctx(), DAY))).message).toBe(
        '/activity: `data` is not a list',
      );
    });
  });

  describe('balance', () => {
    it('is the credits bought less the credits used, in USD', async () => {
      fake.setCredits(100.5, 25.75);
      expect(await openrouterBilling.balance(ctx())).toEqual({ amount: 74.75, currency: 'USD' });
      expect(fake.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
        ['/api/v1/credits', `Bearer ${KEY}`],
      ]);
    });

    it('fails with the reason when the totals are missing', async () => {
      fake.fail({ path: '/credits', body: JSON.stringify({ data: { total_credits: 10 } }) });
      const err = await failure(() => openrouterBilling.balance(ctx()));
      expect(err.message).toBe('/credits: no numeric data.total_credits and data.total_usage');
    });
  });

  describe('generation', () => {
    it("is the request's total cost and the provider's own (native) token counts", async () => {
      fake.setGeneration('gen-1', {
        totalCost: 0.0015,
        tokensPrompt: 12,
        tokensCompletion: 30,
        nativeTokensPrompt: 10,
        nativeTokensCompletion: 25,
      });
      expect(await openrouterBilling.generation(ctx(), 'gen-1')).toEqual({
        costUsd: 0.0015,
        inputTokens: 10,
        outputTokens: 25,
      });
      expect(fake.requests.map((r) => [r.path, r.query.get('id'), r.headers.authorization])).toEqual([
        ['/api/v1/generation', 'gen-1', `Bearer ${KEY}`],
      ]);
    });

    it("falls back to OpenRouter's counts when the native ones are null", async () => {
      const g = { totalCost: 0.002, tokensPrompt: 12, tokensCompletion: 30 };
      fake.setGeneration('gen-2', { ...g, nativeTokensPrompt: null, nativeTokensCompletion: null });
      expect(await openrouterBilling.generation(ctx(), 'gen-2')).toEqual({
        costUsd: 0.002,
        inputTokens: 12,
        outputTokens: 30,
      });
    });

    it('is undefined for a generation OpenRouter does not know yet (404), without retrying', async () => {
      expect(await openrouterBilling.generation(ctx(), 'gen-unknown')).toBeUndefined();
      expect(fake.requests).toHaveLength(1);
    });

    it('fails with the reason when total_cost is missing', async () => {
      fake.fail({ path: '/generation', body: JSON.stringify({ data: { id: 'gen-3', tokens_prompt: 1 } }) });
      const err = await failure(() => openrouterBilling.generation(ctx(), 'gen-3'));
      expect(err.message).toBe('/generation: no numeric data.total_cost for gen-3');
    });
  });
});

describeDailyFaults('openrouterBilling.day', {
  start: (key) => startOpenRouterBillingFake({ key }),
  seed: (fake) =>
    fake.setDay(DAY, [{ model: 'm', usage: 0.25, requests: 1, promptTokens: 2, completionTokens: 3 }]),
  read: (ctx) => openrouterBilling.day(ctx, DAY),
  expected: {
    cost: { amount: 0.25, currency: 'USD' },
    inputTokens: 2,
    outputTokens: 3,
    requests: 1,
    byModel: { m: { cost: 0.25, inputTokens: 2, outputTokens: 3, requests: 1 } },
  },
  firstPath: '/activity',
  keyHint: /must be an OpenRouter management key/,
});

describeDailyFaults('openrouterBilling.balance', {
  start: (key) => startOpenRouterBillingFake({ key }),
  seed: (fake) => fake.setCredits(10, 4),
  read: (ctx) => openrouterBilling.balance(ctx),
  expected: { amount: 6, currency: 'USD' },
  firstPath: '/credits',
  keyHint: /must be an OpenRouter management key/,
});
