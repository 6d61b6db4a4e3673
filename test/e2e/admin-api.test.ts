/**
 * The admin API (issue 17, first part) end to end: the real local gateway on its embedded store, keys made in
 * that store as the CLI makes them, raw HTTP (the admin API is JSON under /admin/v1, no SDK). Who may call it,
 * what it answers, what it never shows, and the log line each call leaves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { DynamoReportStore } from '../../functions/aws/stores/dynamo-report-store.ts';
import type { Report } from '../../functions/core/billing/report.ts';
import { type ClientKeyOptions, newClientKey } from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE, REPORTS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import {
  errorOf,
  type Harness,
  MASTER_KEY,
  openaiProvider,
  raw,
  route,
  startHarness,
} from '../support/gateway-harness.ts';

let h: Harness<'a' | 'b'>;
let repo: DynamoKeyRepo;

beforeAll(async () => {
  h = await startHarness({
    fakes: { a: {}, b: {} },
    config: (f) => ({
      providers: { a: openaiProvider(f.a.url), b: openaiProvider(f.b.url) },
      routes: {
        chat: route(
          [
            { provider: 'a', model: 'm-a' },
            { provider: 'b', model: 'm-b' },
          ],
          { health: { failureThreshold: 1 } },
        ),
      },
    }),
    // A revoke reaches the gateway within the key cache's TTL: short here.
    gateway: { keyCacheTtlMs: 100, routeCacheTtlMs: 100 },
  });
  repo = new DynamoKeyRepo(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE));
});
afterAll(async () => h.close());

async function keyOf(opts: Omit<ClientKeyOptions, 'name'> & { name?: string } = {}) {
  const made = newClientKey({ name: 'e2e', ...opts });
  await repo.put(made.record);
  return made;
}

const get = (path: string, key: string | null = MASTER_KEY) => raw(h.origin, path, { key });
const json = (text: string) => JSON.parse(text) as { object: string; data: Record<string, unknown>[] };

describe('who may use the admin API', () => {
  it('nobody without a key (401), not a client key (403 admin_required); the master key and --admin keys may', async () => {
    const none = await get('/admin/v1/keys', null);
    expect(none.status).toBe(401);
    const plain = await keyOf({ name: 'plain' });
    const refused = await get('/admin/v1/keys', plain.key);
    expect(refused.status).toBe(403);
    expect(errorOf(refused).code).toBe('admin_required');
    expect((await get('/admin/v1/keys')).status).toBe(200);
    const admin = await keyOf({ name: 'ops', admin: true });
    expect((await get('/admin/v1/keys', admin.key)).status).toBe(200);
    // A revoked admin key is no key at all.
    await repo.revoke(admin.record.id, new Date().toISOString());
    await new Promise((r) => setTimeout(r, 200));
    expect((await get('/admin/v1/keys', admin.key)).status).toBe(401);
  });

  it('answers only its own paths and methods: 404 for unknown or built-in names, 405 for another method', async () => {
    for (const path of [
      '/admin/v1/nope',
      '/admin/v1/constructor',
      '/admin/v1/__proto__',
      '/admin/v1/',
      '/admin/v2/keys',
    ])
      expect((await get(path)).status).toBe(404);
    const put = await raw(h.origin, '/admin/v1/keys', { method: 'PUT', body: '{}' });
    expect(put.status).toBe(405);
    expect((await get('/admin/v1/keys/key_0123456789ab')).status).toBe(405);
    expect((await get('/admin/v1/keys/not-an-id')).status).toBe(404);
  });
});

describe('GET /admin/v1/keys', () => {
  it('lists the keys with their limits and admin flag, never a key nor its hash; the call is logged with the key id', async () => {
    const admin = await keyOf({ name: 'lister', admin: true, rpm: 60, team: 'ops' });
    const made = await keyOf({ name: 'budgeted', budgetUsd: 5, period: 'day', models: ['chat'] });
    const r = await raw(h.origin, '/admin/v1/keys', {
      key: admin.key,
      headers: { 'x-request-id': 'admin-list-1' },
    });
    expect(r.status).toBe(200);
    const body = json(r.text);
    expect(body.object).toBe('list');
    const byId = new Map(body.data.map((k) => [k.id, k]));
    expect(byId.get(made.record.id)).toMatchObject({
      name: 'budgeted',
      budgetUsd: 5,
      period: 'day',
      models: ['chat'],
      admin: false,
      revokedAt: null,
    });
    expect(byId.get(admin.record.id)).toMatchObject({ name: 'lister', admin: true, rpm: 60, team: 'ops' });
    expect(r.text).not.toContain(made.record.hash);
    expect(r.text).not.toContain(made.key);
    expect(r.text).not.toContain(admin.key);
    for (const k of body.data) expect(Object.hasOwn(k, 'hash')).toBe(false);
    const line = await h.waitForSummary('admin-list-1');
    expect(line).toMatchObject({ status: 200 });
    expect(line.fields).toMatchObject({ path: '/admin/v1/keys', keyId: admin.record.id });
  });
});

describe('creating, editing and revoking keys', () => {
  const send = (method: string, path: string, body?: unknown, key = MASTER_KEY) =>
    raw(h.origin, path, { method, key, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const chat = (key: string) =>
    raw(h.origin, '/v1/chat/completions', {
      key,
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('creates a key (shown once) that works at once, with the CLI rules; revoking it stops it', async () => {
    const r = await send('POST', '/admin/v1/keys', { name: 'svc', models: ['chat'], rpm: 60, team: 'web' });
    expect(r.status).toBe(201);
    const made = JSON.parse(r.text) as Record<string, unknown> & { id: string; key: string };
    expect(made).toMatchObject({ name: 'svc', models: ['chat'], rpm: 60, team: 'web', admin: false });
    expect(made.key).toMatch(/^sk-sy-[A-Za-z0-9_-]{43}$/);
    expect((await chat(made.key)).status).toBe(200);
    // The list never shows it again.
    expect((await get('/admin/v1/keys')).text).not.toContain(made.key);
    const gone = await send('DELETE', `/admin/v1/keys/${made.id}`);
    expect([gone.status, JSON.parse(gone.text)]).toEqual([
      200,
      { id: made.id, object: 'key', revoked: true },
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect((await chat(made.key)).status).toBe(401);
    const unknown = await send('DELETE', '/admin/v1/keys/key_000000000000');
    expect([unknown.status, errorOf(unknown).code]).toEqual([404, 'key_not_found']);
  });

  it('refuses what the CLI refuses, naming the field, and writes nothing', async () => {
    const before = json((await get('/admin/v1/keys')).text).data.length;
    const cases: [unknown, string | null, RegExp][] = [
      [{ name: 'x', models: ['nope'] }, 'models', /no route named "nope" \(routes: chat\)/],
      [{ name: 'x', period: 'day' }, 'period', /period needs budgetUsd/],
      [{ name: 'x', rpm: 1, limitShards: 4 }, 'rpm', /each shard needs/],
      [{ name: 'x', limitShards: 65 }, 'limitShards', /limitShards/],
      [{ name: '' }, 'name', /name/],
      [{ name: 'x', hash: 'e'.repeat(64) }, null, /hash/],
      [{ name: 'x', team: 'a\u0007b' }, 'team', /control characters/],
    ];
    for (const [body, param, message] of cases) {
      const r = await send('POST', '/admin/v1/keys', body);
      expect(r.status).toBe(400);
      expect(errorOf(r).param).toBe(param);
      expect(errorOf(r).message).toMatch(message);
    }
    expect((await send('POST', '/admin/v1/keys', undefined)).status).toBe(400);
    expect(json((await get('/admin/v1/keys')).text).data.length).toBe(before);
  });

  it("edits a key's team (the only edit so far); a client key may do none of it", async () => {
    const made = JSON.parse((await send('POST', '/admin/v1/keys', { name: 'teamed' })).text) as {
      id: string;
      key: string;
    };
    const edited = await send('PATCH', `/admin/v1/keys/${made.id}`, { team: 'growth' });
    expect([edited.status, JSON.parse(edited.text).team]).toEqual([200, 'growth']);
    const cleared = await send('PATCH', `/admin/v1/keys/${made.id}`, { team: null });
    expect(JSON.parse(cleared.text).team).toBeNull();
    const limits = await send('PATCH', `/admin/v1/keys/${made.id}`, { rpm: 5 });
    expect(limits.status).toBe(400);
    expect(errorOf(limits).message).toMatch(/rpm/);
    const plain = await keyOf({ name: 'not-admin' });
    expect((await send('POST', '/admin/v1/keys', { name: 'sneaky' }, plain.key)).status).toBe(403);
    expect((await send('DELETE', `/admin/v1/keys/${made.id}`, undefined, plain.key)).status).toBe(403);
    expect((await get('/admin/v1/keys')).text).not.toContain('sneaky');
  });
});

describe('the request pages', () => {
  const send = (rid: string, content = 'hi') =>
    raw(h.origin, '/v1/chat/completions', {
      headers: { 'x-request-id': rid },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content }] }),
    });

  it('lists the latest ledger records first, filtered by key, route, provider and status; shows one request', async () => {
    const svc = await keyOf({ name: 'requests-svc' });
    await raw(h.origin, '/v1/chat/completions', {
      key: svc.key,
      headers: { 'x-request-id': 'admin-req-1' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'one' }] }),
    });
    await send('admin-req-2', 'two');
    await h.gateway.background.idle();
    const all = json((await get('/admin/v1/requests?limit=1000')).text);
    const ids = all.data.map((r) => r.requestId);
    expect(ids.indexOf('admin-req-2')).toBeLessThan(ids.indexOf('admin-req-1'));
    expect(ids.indexOf('admin-req-1')).toBeGreaterThanOrEqual(0);
    const byKey = json((await get(`/admin/v1/requests?key=${svc.record.id}`)).text);
    expect(byKey.data.map((r) => r.requestId)).toEqual(['admin-req-1']);
    expect(byKey.data[0]).toMatchObject({ keyId: svc.record.id, route: 'chat', status: 200 });
    expect(
      json((await get('/admin/v1/requests?status=5xx&route=chat')).text).data.every(
        (r) => Number(r.status) >= 500,
      ),
    ).toBe(true);
    const one = json((await get('/admin/v1/requests?limit=1')).text) as unknown as {
      data: unknown[];
      hasMore: boolean;
    };
    expect(one.data).toHaveLength(1);
    expect(one.hasMore).toBe(true);
    const detail = await get('/admin/v1/requests/admin-req-2');
    expect(detail.status).toBe(200);
    expect(JSON.parse(detail.text)).toMatchObject({
      object: 'request',
      requestId: 'admin-req-2',
      records: [
        { requestId: 'admin-req-2', route: 'chat', keyId: 'master', usageSource: expect.any(String) },
      ],
    });
    const missing = await get('/admin/v1/requests/no-such-request');
    expect([missing.status, errorOf(missing).code]).toEqual([404, 'request_not_found']);
  });

  it('refuses a bad window, limit or status filter, naming the parameter', async () => {
    const cases: [string, string][] = [
      ['since=yesterday', 'since'],
      ['since=2026-01-01T00:00:00Z&until=2026-01-03T00:00:00Z', 'since'],
      ['until=2026-01-01T00:00:00Z&since=2026-01-02T00:00:00Z', 'since'],
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['status=teapot', 'status'],
    ];
    for (const [query, param] of cases) {
      const r = await get(`/admin/v1/requests?${query}`);
      expect([r.status, errorOf(r).param]).toEqual([400, param]);
    }
  });
});

describe('the routes page', () => {
  const yamlOf = (routes: string) => `providers:
  a:
    type: openai
    baseUrls: [${h.fakes.a.url}]
  b:
    type: openai
    baseUrls: [${h.fakes.b.url}]
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
    raw(h.origin, path, { method, key, body: JSON.stringify({ yaml }) });

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
    const used = await raw(h.origin, '/v1/chat/completions', {
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
      await raw(h.origin, '/v1/chat/completions', {
        key: svc.key,
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: `count ${i}` }] }),
      });
    await h.gateway.background.idle();
    const r = await get('/admin/v1/overview');
    expect(r.status).toBe(200);
    const o = JSON.parse(r.text) as {
      total: { requests: number; inputTokens: number };
      lastHour: { requests: number; latencyMs: { p50: number; p99: number } };
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
    await new DynamoReportStore(connectStore(h.gateway.storeSocket), localTableName(REPORTS_TABLE)).put(
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
    h.fakes.a.enqueue({ status: 503, errorMessage: 'down' });
    const served = await raw(h.origin, '/v1/chat/completions', {
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(served.status).toBe(200);
    const after = json((await get('/admin/v1/health')).text);
    const targets = after.data.find((r) => r.route === 'chat')?.targets as {
      target: string;
      breakers: Record<string, unknown>[];
    }[];
    expect(targets[0]?.breakers[0]).toMatchObject({ status: 'open', reason: 'breaker' });
    expect(targets[1]?.breakers[0]).toMatchObject({ status: 'healthy', latencyMs: expect.any(Number) });
  });
});
