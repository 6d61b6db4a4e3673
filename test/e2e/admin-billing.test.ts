/**
 * The billing page's balances and its "run a reconciliation now" end to end on the local gateway: traffic
 * through the gateway (official openai SDK) to an OpenRouter-billed upstream and to one without a billing
 * API, the bill from a fake OpenRouter (activity, credits) on loopback, the run started with
 * `POST /admin/v1/billing/reconcile` and read back with `GET /admin/v1/billing/reports`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { DynamoReportStore } from '../../functions/aws/stores/dynamo-report-store.ts';
import type { Report } from '../../functions/core/billing/report.ts';
import { shiftDay } from '../../functions/core/days.ts';
import { newClientKey } from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE, REPORTS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import {
  type FakeOpenRouterBilling,
  startOpenRouterBillingFake,
} from '../support/fake-billing-openrouter.ts';
import {
  errorOf,
  type Harness,
  openaiProvider,
  type RawResponse,
  raw,
  route,
  startHarness,
} from '../support/gateway-harness.ts';

const today = new Date().toISOString().slice(0, 10);
// 1,000 prompt tokens must be plausible for the prompt (usage far past a request's input bound is flagged).
const PROMPT = 'x'.repeat(20_000);

interface Run {
  object: string;
  status: string;
  day: string;
  provider: string | null;
  data: Report[];
}
interface Page {
  from: string;
  to: string;
  data: Report[];
  balances: {
    provider: string;
    balance: { amount: number; currency: string };
    lowBalance: boolean;
    day: string;
  }[];
}

/** A gateway whose `or` provider is billed by the fake OpenRouter (its management key in `billing.keys`). */
async function billedGateway(orBill: FakeOpenRouterBilling): Promise<Harness<'or' | 'plain'>> {
  return startHarness({
    fakes: { or: {}, plain: {} },
    config: (f) => ({
      providers: {
        or: {
          ...openaiProvider(f.or.url),
          billing: { type: 'openrouter', baseUrl: orBill.url, sample: 0, lowBalance: 10 },
        },
        plain: openaiProvider(f.plain.url),
      },
      routes: {
        b: route([{ provider: 'or', model: 'openai/gpt-4o-mini' }]),
        p: route([{ provider: 'plain', model: 'm' }]),
      },
      prices: { 'or/openai/gpt-4o-mini': { input: 1, output: 2 } },
    }),
    gateway: { billing: { keys: { or: orBill.key }, tolerancePercent: 2, timeoutMs: 3_000 } },
  });
}

let h: Harness<'or' | 'plain'>;
let orBill: FakeOpenRouterBilling;
let plainKey: string;

const post = (body: string, key?: string): Promise<RawResponse> =>
  raw(h.origin, '/admin/v1/billing/reconcile', { body, ...(key === undefined ? {} : { key }) });
const page = async (query = ''): Promise<Page> => {
  const r = await raw(h.origin, `/admin/v1/billing/reports${query}`);
  expect(r.status).toBe(200);
  return JSON.parse(r.text) as Page;
};

beforeAll(async () => {
  orBill = await startOpenRouterBillingFake();
  h = await billedGateway(orBill);
  for (let i = 0; i < 2; i++) {
    h.fakes.or.enqueue({ usage: { prompt_tokens: 1_000, completion_tokens: 500 } });
    await h.client.chat.completions.create({
      model: 'b',
      messages: [{ role: 'user', content: `${i} ${PROMPT}` }],
    });
  }
  await h.gateway.background.idle();
  // Exactly what the traffic costs at the price table: 2 × ($0.001 in + $0.001 out).
  orBill.setDay(today, [
    { model: 'openai/gpt-4o-mini', usage: 0.004, requests: 2, promptTokens: 2_000, completionTokens: 1_000 },
  ]);
  // $7.50 left, under the provider's lowBalance of $10.
  orBill.setCredits(10, 2.5);
  const plain = newClientKey({ name: 'not-admin' });
  await new DynamoKeyRepo(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE)).put(plain.record);
  plainKey = plain.key;
});
afterAll(async () => {
  await h?.close();
  await orBill?.close();
});

describe('the billing page: balances', () => {
  it('looks a week back before the window for a provider whose bill reports a balance, and no further', async () => {
    const store = new DynamoReportStore(connectStore(h.gateway.storeSocket), localTableName(REPORTS_TABLE));
    const old = shiftDay(today, -10);
    await store.put({
      provider: 'or',
      day: old,
      billingType: 'openrouter',
      verdict: 'ok',
      reason: 'bill matches the ledger',
      ledger: { costUsd: 0, inputTokens: 0, outputTokens: 0, requests: 0, unpricedRequests: 0 },
      tolerancePercent: 2,
      balance: { amount: 42, currency: 'USD' },
      lowBalance: false,
      partial: true,
    });
    const near = await page(`?from=${shiftDay(today, -8)}&to=${shiftDay(today, -2)}`);
    expect(near.data).toEqual([]);
    expect(near.balances).toEqual([
      { provider: 'or', balance: { amount: 42, currency: 'USD' }, lowBalance: false, day: old },
    ]);
    expect((await page(`?from=${shiftDay(today, -30)}&to=${shiftDay(today, -25)}`)).balances).toEqual([]);
  });
});

describe('POST /admin/v1/billing/reconcile (local: the run is in-process)', () => {
  it("runs today for every provider and answers the reports; the page then shows them and the provider's balance", async () => {
    const r = await post('{}');
    expect(r.status).toBe(200);
    const run = JSON.parse(r.text) as Run;
    expect(run).toMatchObject({ object: 'reconcile.run', status: 'done', day: today, provider: null });
    expect(run.data).toEqual([
      expect.objectContaining({
        provider: 'or',
        verdict: 'ok',
        partial: true,
        ledger: expect.objectContaining({ requests: 2 }),
      }),
      expect.objectContaining({ provider: 'plain', verdict: 'unverifiable' }),
    ]);
    // The management key of SWITCHYARD_BILLING_KEYS, not the inference key.
    expect(orBill.requests.map((q) => q.headers.authorization)).toContain(`Bearer ${orBill.key}`);
    const shown = await page();
    expect(shown.data.filter((x) => x.day === today).map((x) => [x.provider, x.verdict])).toEqual([
      ['or', 'ok'],
      ['plain', 'unverifiable'],
    ]);
    expect(shown.balances).toEqual([
      { provider: 'or', balance: { amount: 7.5, currency: 'USD' }, lowBalance: true, day: today },
    ]);
  });

  it('runs one provider of a day that is over: its report carries no balance', async () => {
    const yesterday = shiftDay(today, -1);
    const r = await post(JSON.stringify({ day: yesterday, provider: 'or' }));
    expect(r.status).toBe(200);
    const run = JSON.parse(r.text) as Run;
    expect(run).toMatchObject({ status: 'done', day: yesterday, provider: 'or' });
    expect(run.data).toEqual([expect.objectContaining({ provider: 'or', day: yesterday, partial: false })]);
    expect(run.data[0]).not.toHaveProperty('balance');
    expect((await page(`?from=${yesterday}&to=${yesterday}`)).data.map((x) => x.provider)).toEqual(['or']);
  });

  it('refuses a bad body with a 400 naming the field, before anything runs', async () => {
    const before = orBill.requests.length;
    const cases: [string, string | null, string][] = [
      [JSON.stringify({ day: '2026-13-01' }), 'day', 'invalid_request'],
      [JSON.stringify({ day: '2026-02-30' }), 'day', 'invalid_request'],
      [JSON.stringify({ day: shiftDay(today, 1) }), 'day', 'invalid_request'],
      [JSON.stringify({ day: shiftDay(today, -93) }), 'day', 'invalid_request'],
      [JSON.stringify({ provider: 'nowhere' }), 'provider', 'invalid_request'],
      [JSON.stringify({ provider: 7 }), 'provider', 'invalid_request'],
      [JSON.stringify({ day: today, force: true }), 'force', 'invalid_request'],
      ['[]', null, 'invalid_request'],
      ['not json', null, 'invalid_json'],
    ];
    for (const [body, param, code] of cases) {
      const r = await post(body);
      expect([body, r.status, errorOf(r).code, errorOf(r).param]).toEqual([body, 400, code, param]);
    }
    expect(orBill.requests.length).toBe(before);
    const get = await raw(h.origin, '/admin/v1/billing/reconcile');
    expect([get.status, errorOf(get).code]).toEqual([405, 'method_not_allowed']);
  });

  it('answers 409 reconcile_running to a second run while one is running, and runs again once it ended', async () => {
    orBill.fail({ delayMs: 800 });
    const asked = orBill.requests.length;
    const first = post(JSON.stringify({ provider: 'or' }));
    for (let i = 0; orBill.requests.length === asked && i < 200; i++)
      await new Promise((r) => setTimeout(r, 10));
    const second = await post(JSON.stringify({ provider: 'plain' }));
    expect(second.status).toBe(409);
    expect(errorOf(second)).toMatchObject({ type: 'invalid_request_error', code: 'reconcile_running' });
    expect(second.headers.get('x-should-retry')).toBe('false');
    expect((await first).status).toBe(200);
    expect((await post(JSON.stringify({ provider: 'plain' }))).status).toBe(200);
  });

  it('is for admin keys only: a client key made without --admin gets 403, no key 401', async () => {
    const r = await post('{}', plainKey);
    expect([r.status, errorOf(r).code]).toEqual([403, 'admin_required']);
    const page403 = await raw(h.origin, '/admin/v1/billing/reports', { key: plainKey });
    expect(page403.status).toBe(403);
    expect((await raw(h.origin, '/admin/v1/billing/reconcile', { body: '{}', key: null })).status).toBe(401);
  });
});

describe('a run-now when the gateway closes', () => {
  it('is stopped at its billing call once the grace is over: 503 server_shutting_down, and close does not wait for the bill', async () => {
    const bill = await startOpenRouterBillingFake();
    const g = await billedGateway(bill);
    try {
      bill.fail({ delayMs: 10_000 });
      const running = raw(g.origin, '/admin/v1/billing/reconcile', {
        body: JSON.stringify({ provider: 'or' }),
      });
      for (let i = 0; bill.requests.length === 0 && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
      expect(bill.requests.length).toBe(1);
      const t0 = performance.now();
      const [answer] = await Promise.all([running, g.gateway.close(200)]);
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect([answer.status, errorOf(answer).code]).toEqual([503, 'server_shutting_down']);
    } finally {
      await g.close();
      await bill.close();
    }
  });
});
