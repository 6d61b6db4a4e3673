/**
 * The admin API's other pages end to end: routes (YAML, checked at its lines, diffed, saved and used), the
 * overview, the billing reports and target health (test/support/admin-rig.ts).
 */
import { describe, expect, it } from 'vitest';
import { DynamoReportStore } from '../../functions/aws/stores/dynamo-report-store.ts';
import type { Report } from '../../functions/core/billing/report.ts';
import { REPORTS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import { adminSuite, listOf } from '../support/admin-rig.ts';
import { errorOf, MASTER_KEY, raw } from '../support/gateway-harness.ts';

const s = adminSuite();
const { keyOf, get } = s;
const json = listOf;

describe('the routes page', () => {
  const yamlOf = (routes: string) => `providers:
  a:
    type: openai
    baseUrls: [${s.h.fakes.a.url}]
  b:
    type: openai
    baseUrls: [${s.h.fakes.b.url}]
routes:
${routes}`;
  const CHAT = `  chat:
    targets:
      - { provider: a, model: m-a }
      - { provider: b, model: m-b }
    health: { failureThreshold: 1 }
    timeouts: { firstByteMs: 300, idleMs: 300, totalMs: 3000 }
    retry: { attempts: 0, initialBackoffMs: 10, maxBackoffMs: 50 }
`;
  const send = (method: string, path: string, yaml: string, key = MASTER_KEY) =>
    raw(s.h.origin, path, { method, key, body: JSON.stringify({ yaml }) });

  it('shows the stored config as YAML; checks a text, each problem at its line, before anything is saved', async () => {
    const current = await get('/admin/v1/routes');
    expect(current.status).toBe(200);
    const { yaml } = JSON.parse(current.text) as { yaml: string };
    expect(yaml).toMatch(/^routes:$/m);
    expect(yaml).toContain('m-a');
    // An unknown provider, on line 11 of the text.
    const bad = yamlOf(`${CHAT}  wrong:
    targets:
      - { provider: nowhere, model: x }
`);
    const line = bad.split('\n').findIndex((l) => l.includes('provider: nowhere')) + 1;
    const checked = JSON.parse((await send('POST', '/admin/v1/routes/check', bad)).text) as {
      ok: boolean;
      problems: { line: number; path: string; message: string }[];
    };
    expect(checked.ok).toBe(false);
    expect(checked.problems).toEqual([
      expect.objectContaining({ line, path: expect.stringMatching(/^routes\.wrong\.targets\.0/) }),
    ]);
    // A YAML syntax error, at its line.
    const broken = JSON.parse(
      (await send('POST', '/admin/v1/routes/check', 'routes:\n  a: [1, 2\n')).text,
    ) as {
      ok: boolean;
      problems: { line: number }[];
    };
    expect(broken.ok).toBe(false);
    expect(broken.problems[0]?.line).toBeGreaterThan(0);
    // A text nested past any config's depth is a problem, not a crash (the body is bounded at 1 MiB).
    const deep = await send('POST', '/admin/v1/routes/check', `routes:\n  a: ${'['.repeat(100_000)}`);
    expect(deep.status).toBe(200);
    expect(JSON.parse(deep.text)).toMatchObject({ ok: false });
    // Saving the bad text is refused; nothing changed.
    const refused = await send('PUT', '/admin/v1/routes', bad);
    expect([refused.status, errorOf(refused).code]).toEqual([400, 'invalid_config']);
    expect(errorOf(refused).message).toContain(`line ${line}`);
    expect((await get('/admin/v1/routes')).text).toBe(current.text);
  });

  it('saves a valid text with its diff, and the gateway uses it; a client key may not', async () => {
    const next = yamlOf(`${CHAT}  chat2:
    targets:
      - { provider: b, model: m-2 }
`);
    const checked = JSON.parse((await send('POST', '/admin/v1/routes/check', next)).text) as Record<
      string,
      unknown
    >;
    expect(checked).toMatchObject({
      ok: true,
      problems: [],
      diff: [{ section: 'routes', name: 'chat2', change: 'added' }],
    });
    const plain = await keyOf({ name: 'no-routes' });
    expect((await send('PUT', '/admin/v1/routes', next, plain.key)).status).toBe(403);
    const saved = await send('PUT', '/admin/v1/routes', next);
    expect(saved.status).toBe(200);
    expect(JSON.parse(saved.text)).toMatchObject({
      object: 'routes.saved',
      diff: [{ name: 'chat2', change: 'added' }],
    });
    await new Promise((r) => setTimeout(r, 200));
    const used = await raw(s.h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'chat2', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(used.status).toBe(200);
    expect(JSON.parse(used.text).model).toBe('m-2');
  });
});

describe('the overview', () => {
  it("sums the ledger's aggregates by provider, model and key, with today's spend and the last hour's latency", async () => {
    const svc = await keyOf({ name: 'overview-svc' });
    for (let i = 0; i < 3; i++)
      await raw(s.h.origin, '/v1/chat/completions', {
        key: svc.key,
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: `count ${i}` }] }),
      });
    await s.h.gateway.background.idle();
    const r = await get('/admin/v1/overview');
    expect(r.status).toBe(200);
    const o = JSON.parse(r.text) as {
      total: { requests: number; inputTokens: number };
      lastHour: {
        requests: number;
        latencyMs: { p50: number; p99: number };
        from: string;
        bucketMinutes: number;
        byProvider: { at: string; provider: string; requests: number }[];
        byModel: { at: string; model: string; requests: number }[];
        byKey: { at: string; key: string; requests: number }[];
      };
      byKey: { key: string; requests: number }[];
      byProvider: { provider: string; requests: number }[];
      spend: { todayUsd: number; monthUsd: number };
      to: string;
    };
    expect(o.to).toBe(new Date().toISOString().slice(0, 10));
    expect(o.byKey.find((k) => k.key === svc.record.id)?.requests).toBe(3);
    expect(o.total.requests).toBeGreaterThanOrEqual(3);
    expect(o.total.inputTokens).toBeGreaterThan(0);
    expect(o.byProvider.reduce((n, p) => n + p.requests, 0)).toBe(o.total.requests);
    expect(o.lastHour.requests).toBeGreaterThanOrEqual(3);
    // Every record of the hour is counted in one 5-minute step, the steps starting at `from`.
    expect(o.lastHour.bucketMinutes).toBe(5);
    expect(o.lastHour.byProvider.reduce((n, b) => n + b.requests, 0)).toBe(o.lastHour.requests);
    const steps = Array.from({ length: 12 }, (_, i) =>
      new Date(Date.parse(o.lastHour.from) + i * 300_000).toISOString(),
    );
    expect(o.lastHour.byProvider.every((b) => steps.includes(b.at))).toBe(true);
    expect(o.lastHour.byProvider.some((b) => b.provider === 'a' && b.requests >= 3)).toBe(true);
    const sum = (rows: { requests: number }[]) => rows.reduce((n, b) => n + b.requests, 0);
    expect(sum(o.lastHour.byModel)).toBe(o.lastHour.requests);
    expect(sum(o.lastHour.byKey.filter((b) => b.key === svc.record.id))).toBe(3);
    expect(o.lastHour.latencyMs.p50).toBeGreaterThan(0);
    expect(o.lastHour.latencyMs.p99).toBeGreaterThanOrEqual(o.lastHour.latencyMs.p50);
    expect(o.spend.monthUsd).toBeGreaterThanOrEqual(o.spend.todayUsd);
    const bad = await get('/admin/v1/overview?from=2026-01-01&to=2026-06-01');
    expect([bad.status, errorOf(bad).param]).toEqual([400, 'from']);
  });
});

describe('the billing page', () => {
  it('lists the reconciliation reports of a window with verdict, drift and reason; refuses a bad window', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const report: Report = {
      provider: 'a',
      day: today,
      billingType: 'openai-costs',
      verdict: 'drift',
      reason: 'bill $0.0020 vs ledger $0.0009 (+122%)',
      ledger: { costUsd: 0.0009, inputTokens: 0, outputTokens: 0, requests: 6, unpricedRequests: 0 },
      driftUsd: 0.0011,
      tolerancePercent: 2,
      partial: false,
    };
    await new DynamoReportStore(connectStore(s.h.gateway.storeSocket), localTableName(REPORTS_TABLE)).put(
      report,
    );
    const r = await get('/admin/v1/billing/reports');
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text) as { to: string; data: Report[] };
    expect(body.to).toBe(today);
    expect(body.data).toEqual([
      expect.objectContaining({ provider: 'a', day: today, verdict: 'drift', driftUsd: 0.0011 }),
    ]);
    const old = JSON.parse((await get('/admin/v1/billing/reports?from=2020-01-01&to=2020-01-07')).text) as {
      data: unknown[];
    };
    expect(old.data).toEqual([]);
    const bad = await get('/admin/v1/billing/reports?from=2020-01-01&to=2021-01-01');
    expect([bad.status, errorOf(bad).param]).toEqual([400, 'from']);
  });
});

describe('GET /admin/v1/health', () => {
  it("shows every route's targets with their breaker state, as requests left them", async () => {
    const before = json((await get('/admin/v1/health')).text);
    // (The routes test before this one added chat2.)
    expect(before.data.filter((r) => r.route === 'chat')).toEqual([
      {
        route: 'chat',
        strategy: 'fallback',
        targets: [
          { target: 'a/m-a', breakers: [expect.objectContaining({ id: 'a/m-a', status: 'healthy' })] },
          { target: 'b/m-b', breakers: [expect.objectContaining({ id: 'b/m-b', status: 'healthy' })] },
        ],
      },
    ]);
    s.h.fakes.a.enqueue({ status: 503, errorMessage: 'down' });
    const served = await raw(s.h.origin, '/v1/chat/completions', {
      headers: { 'x-request-id': 'admin-fallback' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(served.status).toBe(200);
    // The request's detail shows its way through the route: a's 503, then b's answer.
    await s.h.gateway.background.idle();
    const detail = JSON.parse((await get('/admin/v1/requests/admin-fallback')).text) as {
      records: { attempts: number; tried?: unknown }[];
    };
    expect(detail.records[0]?.attempts).toBe(2);
    expect(detail.records[0]?.tried).toEqual({
      retries: 0,
      fallbacks: 1,
      steps: [
        {
          provider: 'a',
          model: 'm-a',
          outcome: expect.not.stringMatching(/^ok$/),
          status: 503,
          ms: expect.any(Number),
        },
        { provider: 'b', model: 'm-b', outcome: 'ok', status: 200, ms: expect.any(Number) },
      ],
    });
    const after = json((await get('/admin/v1/health')).text);
    const targets = after.data.find((r) => r.route === 'chat')?.targets as {
      target: string;
      breakers: Record<string, unknown>[];
    }[];
    expect(targets[0]?.breakers[0]).toMatchObject({ status: 'open', reason: 'breaker' });
    expect(targets[1]?.breakers[0]).toMatchObject({ status: 'healthy', latencyMs: expect.any(Number) });
  });
});
