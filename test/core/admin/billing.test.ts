/**
 * The admin API's billing paths on their own (functions/core/admin/billing.ts): which balance each provider
 * shows, the run-now request's checks, and the 404 of a host without the port.
 */
import { describe, expect, it } from 'vitest';
import { type BillingDeps, billingAnswer } from '../../../functions/core/admin/billing.ts';
import type { ReconcileNowRequest } from '../../../functions/core/admin/reconcile-now.ts';
import type { Report } from '../../../functions/core/billing/report.ts';
import { parseConfig } from '../../../functions/core/config/schema.ts';
import { SwitchyardError } from '../../../functions/core/errors.ts';
import type { GatewayRequest } from '../../../functions/core/http.ts';

const NOW = Date.parse('2026-06-15T12:00:00Z');
const config = parseConfig({
  providers: {
    or: { type: 'openai', baseUrls: ['https://or.example/v1'], billing: { type: 'openrouter' } },
    ds: { type: 'openai', baseUrls: ['https://ds.example/v1'], billing: { type: 'deepseek' } },
    plain: { type: 'openai', baseUrls: ['https://plain.example/v1'] },
  },
  routes: { r: { targets: [{ provider: 'plain', model: 'm' }] } },
});

const report = (provider: string, day: string, amount?: number): Report => ({
  provider,
  day,
  billingType: 'openrouter',
  verdict: 'ok',
  reason: 'matches',
  ledger: { costUsd: 0, inputTokens: 0, outputTokens: 0, requests: 0, unpricedRequests: 0 },
  tolerancePercent: 2,
  partial: amount !== undefined,
  ...(amount === undefined ? {} : { balance: { amount, currency: 'USD' }, lowBalance: amount < 5 }),
});

/** Reports by day; `list` records each window it was asked for. */
function store(reports: readonly Report[]) {
  const asked: [string, string][] = [];
  return {
    asked,
    list: async (from: string, to: string) => {
      asked.push([from, to]);
      return reports.filter((r) => r.day >= from && r.day <= to).sort((a, b) => (a.day < b.day ? -1 : 1));
    },
  };
}

const deps = (extra: Partial<BillingDeps>): BillingDeps => ({
  loadConfig: async () => config,
  nowMs: () => NOW,
  ...extra,
});
const get = (query = ''): GatewayRequest => ({
  method: 'GET',
  path: '/admin/v1/billing/reports',
  query,
  headers: {},
  body: undefined,
});
const post = (body: unknown): GatewayRequest => ({
  method: 'POST',
  path: '/admin/v1/billing/reconcile',
  headers: {},
  body: JSON.stringify(body),
});
const failure = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SwitchyardError);
  const e = err as SwitchyardError;
  return { status: e.status, code: e.code, param: e.param };
};

describe('GET /admin/v1/billing/reports: balances', () => {
  it("shows each provider's latest balance in the window, and looks back a week only for the ones without", async () => {
    const s = store([
      report('or', '2026-06-10', 9),
      report('or', '2026-06-14', 4),
      report('ds', '2026-06-03', 30),
      report('ds', '2026-05-20', 99),
      report('plain', '2026-06-14'),
    ]);
    const r = await billingAnswer(
      deps({ reports: s }),
      'billing/reports',
      get('from=2026-06-09&to=2026-06-15'),
    );
    expect(r.status).toBe(200);
    expect((r.value as { balances: unknown }).balances).toEqual([
      { provider: 'ds', balance: { amount: 30, currency: 'USD' }, lowBalance: false, day: '2026-06-03' },
      { provider: 'or', balance: { amount: 4, currency: 'USD' }, lowBalance: true, day: '2026-06-14' },
    ]);
    // The window, then the 7 days before it (`ds` has none in the window); `plain` has no balance to look for.
    expect(s.asked).toEqual([
      ['2026-06-09', '2026-06-15'],
      ['2026-06-02', '2026-06-08'],
    ]);
  });

  it('reads only the window when every bill with a balance has one in it', async () => {
    const s = store([report('or', '2026-06-14', 9), report('ds', '2026-06-15', 12)]);
    await billingAnswer(deps({ reports: s }), 'billing/reports', get());
    expect(s.asked).toEqual([['2026-06-09', '2026-06-15']]);
  });
});

describe('POST /admin/v1/billing/reconcile', () => {
  it('is a 404 on a host without the run-now port, before the body is read', async () => {
    expect(await failure(billingAnswer(deps({}), 'billing/reconcile', post('not json')))).toEqual({
      status: 404,
      code: 'unknown_url',
      param: null,
    });
  });

  it('hands the checked run to the port: 202 when the reconciler took it, 200 with the reports when done here', async () => {
    const runs: ReconcileNowRequest[] = [];
    const started = deps({
      reconcileNow: async (req) => {
        runs.push(req);
        return { status: 'started' };
      },
    });
    expect(await billingAnswer(started, 'billing/reconcile', post({}))).toEqual({
      status: 202,
      value: { object: 'reconcile.run', status: 'started', day: '2026-06-15', provider: null },
    });
    await billingAnswer(started, 'billing/reconcile', post({ day: '2026-03-15', provider: 'ds' }));
    expect(runs).toEqual([{ day: '2026-06-15' }, { day: '2026-03-15', provider: 'ds' }]);
    const done = deps({
      reconcileNow: async () => ({ status: 'done', reports: [report('or', '2026-06-15')] }),
    });
    expect(await billingAnswer(done, 'billing/reconcile', post({ provider: 'or' }))).toEqual({
      status: 200,
      value: {
        object: 'reconcile.run',
        status: 'done',
        day: '2026-06-15',
        provider: 'or',
        data: [report('or', '2026-06-15')],
      },
    });
  });

  it('refuses a day in the future or past 92 days back, naming it; 92 days back is taken', async () => {
    const d = deps({ reconcileNow: async () => ({ status: 'started' }) });
    const run = (day: string) => billingAnswer(d, 'billing/reconcile', post({ day }));
    expect(await failure(run('2026-06-16'))).toEqual({ status: 400, code: 'invalid_request', param: 'day' });
    expect(await failure(run('2026-03-14'))).toEqual({ status: 400, code: 'invalid_request', param: 'day' });
    expect((await run('2026-03-15')).status).toBe(202);
  });
});
