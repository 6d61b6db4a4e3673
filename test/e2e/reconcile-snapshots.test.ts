/**
 * Reconciliation end to end, snapshot-kind bills: traffic through the local gateway (official openai SDK)
 * with a known price table, bills served by fake one-api and DeepSeek billing endpoints on loopback, and the
 * core's `reconcile` — the function the scheduled Lambda and `switchyard reconcile` run — against the
 * gateway's own ledger and the reports table of its embedded store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoReportStore } from '../../functions/aws/stores/dynamo-report-store.ts';
import { type ReconcileDeps, reconcile } from '../../functions/core/billing/reconcile.ts';
import type { Report } from '../../functions/core/billing/report.ts';
import { maskedForm } from '../../functions/core/secrets.ts';
import { REPORTS_TABLE } from '../../functions/core/stores/tables.ts';
import { abortableSleep, systemClock } from '../../functions/core/system.ts';
import { createUndiciClient } from '../../functions/core/upstream/undici-client.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import { type DeepseekBillingFake, startDeepseekBillingFake } from '../support/fake-billing-deepseek.ts';
import { type OneapiBillingFake, startOneapiBillingFake } from '../support/fake-billing-oneapi.ts';
import { type Harness, openaiProvider, route, startHarness } from '../support/gateway-harness.ts';

let h: Harness<'relay' | 'ds' | 'quiet'>;
let oneapi: OneapiBillingFake;
let deepseek: DeepseekBillingFake;
let deps: ReconcileDeps;
let reports: DynamoReportStore;
const http = createUndiciClient();
const today = new Date().toISOString().slice(0, 10);
/** CNY → USD for the DeepSeek bill. */
const CNY_USD = 0.14;
// The fakes report 200,000 prompt tokens per request: the prompt must be large enough for that to be
// plausible (usage far beyond a request's input bound is flagged and charged at the bound).
const PROMPT = 'x'.repeat(50_000);

beforeAll(async () => {
  oneapi = await startOneapiBillingFake({ key: 'sk-relay' });
  deepseek = await startDeepseekBillingFake({ key: 'sk-ds' });
  oneapi.setQuotaUsd(50);
  oneapi.setUsedUsd(10);
  deepseek.setBalances([
    { currency: 'CNY', total_balance: '110.00', granted_balance: '10.00', topped_up_balance: '100.00' },
  ]);
  h = await startHarness({
    fakes: { relay: {}, ds: {}, quiet: {} },
    config: (f) => ({
      providers: {
        relay: {
          ...openaiProvider(f.relay.url),
          billing: { type: 'oneapi', baseUrl: oneapi.url, tolerancePercent: 0.5, lowBalance: 45 },
        },
        ds: {
          ...openaiProvider(f.ds.url),
          billing: {
            type: 'deepseek',
            baseUrl: deepseek.url,
            currency: 'CNY',
            usdRate: CNY_USD,
            tolerancePercent: 0.5,
          },
        },
        quiet: { ...openaiProvider(f.quiet.url), billing: { type: 'none' } },
      },
      routes: {
        r1: route([{ provider: 'relay', model: 'm' }]),
        r2: route([{ provider: 'ds', model: 'm' }]),
        r3: route([{ provider: 'quiet', model: 'm' }]),
      },
      // USD per 1M tokens: 200k in + 100k out = $0.20 + $0.20 = $0.40 a request.
      prices: {
        'relay/m': { input: 1, output: 2 },
        'ds/m': { input: 1, output: 2 },
        'quiet/m': { input: 1, output: 2 },
      },
    }),
    providerKeys: { relay: 'sk-relay', ds: 'sk-ds', quiet: 'sk-quiet' },
  });
  reports = new DynamoReportStore(connectStore(h.gateway.storeSocket), localTableName(REPORTS_TABLE));
  deps = {
    config: await h.gateway.routes.load(),
    usage: h.gateway.ledger,
    reports,
    billingKeys: { key: async () => undefined },
    providerKeys: { keys: async (id) => [`sk-${id}`] },
    http,
    clock: systemClock,
    sleep: abortableSleep,
    timeoutMs: 2000,
  };
});
afterAll(async () => {
  await h.close();
  await Promise.all([oneapi.close(), deepseek.close(), http.close()]);
});

async function traffic(model: string, n: number): Promise<void> {
  const fake = model === 'r1' ? h.fakes.relay : model === 'r2' ? h.fakes.ds : h.fakes.quiet;
  for (let i = 0; i < n; i++) {
    fake.enqueue({ usage: { prompt_tokens: 200_000, completion_tokens: 100_000 } });
    await h.client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: `q${i} ${PROMPT}` }],
    });
  }
  await h.gateway.background.idle();
}

const byProvider = (rs: readonly Report[]) => new Map(rs.map((r) => [r.provider, r]));
const run = async (takeSnapshots = true) => byProvider(await reconcile(deps, { day: today, takeSnapshots }));

describe('reconciling snapshot-kind bills', () => {
  it('needs two readings: the first run is unverifiable, and says why', async () => {
    const r = await run();
    expect(r.get('relay')).toMatchObject({ verdict: 'unverifiable', partial: true });
    expect(r.get('relay')?.reason).toMatch(/two readings/);
    expect(r.get('quiet')).toMatchObject({ verdict: 'unverifiable', billingType: 'none' });
  });

  it('calls an exact match ok, over the window between the two readings', async () => {
    await traffic('r1', 5); // $2.00
    await traffic('r2', 3); // $1.20 = 8.57 CNY at 0.14
    await traffic('r3', 1);
    oneapi.setUsedUsd(12);
    deepseek.setBalances([
      { currency: 'CNY', total_balance: '101.43', granted_balance: '1.43', topped_up_balance: '100.00' },
    ]);
    const r = await run();
    const relay = r.get('relay');
    expect(relay).toMatchObject({
      verdict: 'ok',
      ledger: { costUsd: 2, requests: 5, inputTokens: 1_000_000, outputTokens: 500_000 },
      providerFigures: { cost: { amount: 2, currency: 'USD' }, costUsd: 2 },
      driftUsd: 0,
      driftPercent: 0,
    });
    expect(relay?.window?.from.spent?.amount).toBe(10);
    expect(relay?.window?.to.spent?.amount).toBe(12);
    const ds = r.get('ds');
    expect(ds?.verdict).toBe('ok');
    expect(ds?.providerFigures?.cost).toEqual({ amount: 8.57, currency: 'CNY' });
    expect(ds?.ledger.costUsd).toBeCloseTo(1.2, 9);
    expect(r.get('quiet')).toMatchObject({ verdict: 'unverifiable', ledger: { costUsd: 0.4, requests: 1 } });
  });

  it('changes nothing when the same window is reconciled again', async () => {
    const before = await reports.get('relay', today);
    const again = await run(false);
    expect(again.get('relay')).toEqual(before);
    expect(await reports.put(again.get('relay') as Report)).toBe(false);
  });

  it('reports the balance and flags it low against billing.lowBalance', async () => {
    const relay = (await run(false)).get('relay');
    expect(relay?.balance).toEqual({ amount: 38, currency: 'USD' });
    expect(relay?.lowBalance).toBe(true);
  });

  it('detects an injected 1% overcharge, with the figures', async () => {
    oneapi.setUsedUsd(12.02); // $2.02 billed for $2.00 in the ledger
    const relay = (await run()).get('relay');
    expect(relay).toMatchObject({ verdict: 'drift', driftUsd: 0.02, driftPercent: 1 });
    expect(relay?.reason).toContain('provider $2.02 vs ledger $2');
  });

  it('reports provider-error when the billing API is down, and reconciles the others', async () => {
    oneapi.fail({ status: 500, times: 4 });
    const r = await run(false);
    expect(r.get('relay')?.verdict).toBe('provider-error');
    expect(r.get('relay')?.reason).toMatch(/billing API failed: .*HTTP 500/);
    expect(r.get('ds')?.verdict).toBe('ok');
  });

  it('masks a key the billing API echoes, by its value, in the stored report', async () => {
    // No known key prefix: only masking by value catches it.
    const key = 'TmFtZWxlc3NSZWxheUtleQ9f8e7d6c5b4a';
    const body = JSON.stringify({ error: { message: `token ${key} is disabled` } });
    oneapi.fail({ status: 400, body });
    const keys = { keys: async () => [key] };
    const r = byProvider(
      await reconcile({ ...deps, providerKeys: keys }, { day: today, takeSnapshots: false }),
    );
    expect(r.get('relay')?.verdict).toBe('provider-error');
    expect(r.get('relay')?.reason).toContain(`token ${maskedForm(key)} is disabled`);
    expect(JSON.stringify(await reports.get('relay', today))).not.toContain(key);
  });

  it('calls a top-up between readings unverifiable instead of guessing the spend', async () => {
    deepseek.setBalances([
      { currency: 'CNY', total_balance: '300.00', granted_balance: '0.00', topped_up_balance: '300.00' },
    ]);
    const ds = (await run()).get('ds');
    expect(ds?.verdict).toBe('unverifiable');
    expect(ds?.reason).toMatch(/balance rose/);
  });

  it('calls a day without readings around it unverifiable', async () => {
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const r = byProvider(await reconcile(deps, { day: yesterday, takeSnapshots: false }));
    expect(r.get('relay')).toMatchObject({ verdict: 'unverifiable', partial: false });
  });
});
