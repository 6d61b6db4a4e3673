/**
 * Reconciliation end to end, daily bills: traffic through the local gateway (official openai SDK) to an
 * OpenAI-compatible upstream, to a relay billed by OpenRouter and to native Anthropic, with a known price
 * table; the bills come from fake OpenAI Admin (costs + usage), OpenRouter (activity, credits, generation)
 * and Anthropic Admin (cost report + usage report) APIs on loopback, paginated as the real ones are.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoReportStore } from '../../functions/aws/stores/dynamo-report-store.ts';
import { type ReconcileDeps, reconcile } from '../../functions/core/billing/reconcile.ts';
import type { Report } from '../../functions/core/billing/report.ts';
import { REPORTS_TABLE } from '../../functions/core/stores/tables.ts';
import { abortableSleep, systemClock } from '../../functions/core/system.ts';
import { createUndiciClient } from '../../functions/core/upstream/undici-client.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import { type FakeAnthropic, startAnthropicFake } from '../support/fake-anthropic.ts';
import { type FakeAnthropicBilling, startAnthropicBillingFake } from '../support/fake-billing-anthropic.ts';
import { type FakeOpenAIBilling, startOpenAIBillingFake } from '../support/fake-billing-openai.ts';
import {
  type FakeOpenRouterBilling,
  startOpenRouterBillingFake,
} from '../support/fake-billing-openrouter.ts';
import { type Harness, openaiProvider, route, startHarness } from '../support/gateway-harness.ts';
import { ledgerRecords } from '../support/ledger-helpers.ts';

let h: Harness<'oai' | 'or'>;
let claude: FakeAnthropic;
let oaiBill: FakeOpenAIBilling;
let orBill: FakeOpenRouterBilling;
let antBill: FakeAnthropicBilling;
let deps: ReconcileDeps;
const http = createUndiciClient();
const today = new Date().toISOString().slice(0, 10);
const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
/** 200k in + 100k out at $1 / $2 per 1M tokens. */
const PER_REQUEST_USD = 0.4;
// The fakes report 200,000 prompt tokens per request: the prompt must be large enough for that to be
// plausible (usage far beyond a request's input bound is flagged and charged at the bound).
const PROMPT = 'x'.repeat(50_000);

beforeAll(async () => {
  claude = await startAnthropicFake();
  [oaiBill, orBill, antBill] = await Promise.all([
    startOpenAIBillingFake({ pageSize: 1 }),
    startOpenRouterBillingFake(),
    startAnthropicBillingFake({ pageSize: 1 }),
  ]);
  h = await startHarness({
    fakes: { oai: {}, or: {} },
    config: (f) => ({
      providers: {
        oai: {
          ...openaiProvider(f.oai.url),
          billing: { type: 'openai-costs', baseUrl: oaiBill.url, tolerancePercent: 0.5 },
        },
        or: { ...openaiProvider(f.or.url), billing: { type: 'openrouter', baseUrl: orBill.url, sample: 2 } },
        ant: {
          type: 'anthropic',
          baseUrls: [claude.url],
          billing: { type: 'anthropic-cost-report', baseUrl: antBill.url },
        },
      },
      routes: {
        a: route([{ provider: 'oai', model: 'gpt-4o-mini' }]),
        b: route([{ provider: 'or', model: 'openai/gpt-4o-mini' }]),
        c: route([{ provider: 'ant', model: 'claude-sonnet-4-5' }]),
      },
      prices: {
        'oai/gpt-4o-mini': { input: 1, output: 2 },
        'or/openai/gpt-4o-mini': { input: 1, output: 2 },
        'ant/claude-sonnet-4-5': { input: 1, output: 2 },
      },
    }),
    providerKeys: { oai: 'sk-oai', or: 'sk-or', ant: 'sk-ant' },
  });
  deps = {
    config: await h.gateway.routes.load(),
    usage: h.gateway.ledger,
    reports: new DynamoReportStore(connectStore(h.gateway.storeSocket), localTableName(REPORTS_TABLE)),
    // Admin / management keys of the billing APIs, not the inference keys.
    billingKeys: {
      key: async (id) => ({ oai: oaiBill.adminKey, or: orBill.key, ant: antBill.adminKey })[id],
    },
    providerKeys: { keys: async () => [] },
    http,
    clock: systemClock,
    sleep: abortableSleep,
    timeoutMs: 2000,
  };
  for (let i = 0; i < 4; i++) {
    h.fakes.oai.enqueue({ usage: { prompt_tokens: 200_000, completion_tokens: 100_000 } });
    await h.client.chat.completions.create({
      model: 'a',
      messages: [{ role: 'user', content: `a${i} ${PROMPT}` }],
    });
  }
  for (let i = 0; i < 2; i++) {
    h.fakes.or.enqueue({ usage: { prompt_tokens: 200_000, completion_tokens: 100_000 } });
    await h.client.chat.completions.create({
      model: 'b',
      messages: [{ role: 'user', content: `b${i} ${PROMPT}` }],
    });
  }
  for (let i = 0; i < 3; i++) {
    claude.enqueue({
      usage: { input_tokens: 150_000, cache_read_input_tokens: 50_000, output_tokens: 100_000 },
    });
    await h.client.chat.completions.create({
      model: 'c',
      messages: [{ role: 'user', content: `c${i} ${PROMPT}` }],
      // 100,000 output tokens need a cap that allows them (the Anthropic adapter sends 4,096 otherwise).
      max_tokens: 100_000,
    });
  }
  await h.gateway.background.idle();
});
afterAll(async () => {
  await h.close();
  await Promise.all([claude.close(), oaiBill.close(), orBill.close(), antBill.close(), http.close()]);
});

/** The bills exactly as the traffic above costs at the price table. */
async function exactBills(): Promise<void> {
  oaiBill.setDay(today, {
    costs: [{ value: 1.0 }, { value: 0.6 }],
    usage: [{ model: 'gpt-4o-mini', inputTokens: 800_000, outputTokens: 400_000, requests: 4 }],
  });
  orBill.setDay(today, [
    {
      model: 'openai/gpt-4o-mini',
      usage: 0.8,
      requests: 2,
      promptTokens: 400_000,
      completionTokens: 200_000,
    },
  ]);
  const ids = (await ledgerRecords(h.gateway)).filter((r) => r.provider === 'or').map((r) => r.upstreamId);
  for (const id of ids) {
    orBill.setGeneration(id ?? '', {
      totalCost: PER_REQUEST_USD,
      tokensPrompt: 200_000,
      tokensCompletion: 100_000,
      nativeTokensPrompt: 200_000,
      nativeTokensCompletion: 100_000,
    });
  }
  orBill.setCredits(10, 2.5);
  // 3 × (150k uncached + 50k cache reads) in, 3 × 100k out = $1.20, in cents as Anthropic reports it.
  antBill.setDay(today, {
    costs: [{ cents: 120 }],
    usage: [{ model: 'claude-sonnet-4-5', uncached: 450_000, cacheRead: 150_000, output: 300_000 }],
  });
}

const byProvider = (rs: readonly Report[]) => new Map(rs.map((r) => [r.provider, r]));
const run = async (day = today) => byProvider(await reconcile(deps, { day, takeSnapshots: true }));

beforeEach(async () => {
  oaiBill.reset();
  orBill.reset();
  antBill.reset();
  await exactBills();
});

describe('reconciling daily bills', () => {
  it('calls exact matches ok: cost, tokens and sampled requests', async () => {
    const r = await run();
    expect(r.get('oai')).toMatchObject({
      verdict: 'ok',
      ledger: { costUsd: 1.6, requests: 4, inputTokens: 800_000, outputTokens: 400_000 },
      providerFigures: { cost: { amount: 1.6, currency: 'USD' }, inputTokens: 800_000, requests: 4 },
      driftUsd: 0,
    });
    const or = r.get('or');
    expect(or?.verdict).toBe('ok');
    expect(or?.samples).toHaveLength(2);
    expect(or?.samples?.every((s) => s.match)).toBe(true);
    expect(or?.balance).toEqual({ amount: 7.5, currency: 'USD' });
    expect(r.get('ant')).toMatchObject({
      verdict: 'ok',
      ledger: { costUsd: 1.2, inputTokens: 600_000, outputTokens: 300_000 },
      providerFigures: { cost: { amount: 1.2, currency: 'USD' }, inputTokens: 600_000 },
    });
    // Pagination was followed: one result row per page.
    expect(oaiBill.requests.filter((q) => q.path.endsWith('/organization/costs')).length).toBeGreaterThan(1);
  });

  it('detects an injected 1% overcharge with the right figures', async () => {
    oaiBill.setDay(today, {
      costs: [{ value: 1.0 }, { value: 0.616 }],
      usage: [{ model: 'gpt-4o-mini', inputTokens: 800_000, outputTokens: 400_000, requests: 4 }],
    });
    const oai = (await run()).get('oai');
    expect(oai).toMatchObject({ verdict: 'drift', driftUsd: 0.016, driftPercent: 1 });
    expect(oai?.reason).toContain('+1%');
  });

  it('flags a sampled request the provider billed differently from the ledger', async () => {
    const id = (await ledgerRecords(h.gateway)).find((r) => r.provider === 'or')?.upstreamId ?? '';
    orBill.setGeneration(id, {
      totalCost: 0.5,
      tokensPrompt: 250_000,
      tokensCompletion: 100_000,
      nativeTokensPrompt: 250_000,
      nativeTokensCompletion: 100_000,
    });
    const or = (await run()).get('or');
    expect(or?.verdict).toBe('drift');
    expect(or?.reason).toMatch(/1 of 2 sampled requests differ/);
    expect(or?.samples?.find((s) => !s.match)).toMatchObject({
      upstreamId: id,
      ledgerCostUsd: PER_REQUEST_USD,
      providerCostUsd: 0.5,
    });
  });

  it('calls a day the provider has no figures for unverifiable', async () => {
    const r = await run(yesterday);
    expect(r.get('oai')).toMatchObject({ verdict: 'unverifiable', partial: false });
    expect(r.get('oai')?.reason).toContain(`reports nothing for ${yesterday}`);
    expect(r.get('or')?.verdict).toBe('unverifiable');
  });

  it('reports provider-error for an API that is down and still reconciles the others', async () => {
    orBill.fail({ status: 500, times: 10 });
    const r = await run();
    expect(r.get('or')?.verdict).toBe('provider-error');
    expect(r.get('oai')?.verdict).toBe('ok');
    expect(r.get('ant')?.verdict).toBe('ok');
  });

  it('gives the same reports when run twice for the same day', async () => {
    const first = await run();
    const second = await run();
    expect([...second.values()]).toEqual([...first.values()]);
    for (const report of second.values()) expect(await deps.reports.put(report)).toBe(false);
  });
});
