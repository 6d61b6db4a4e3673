/**
 * The admin API (issue 17, first part) end to end: who may call it, the keys (list, create, edit, revoke) and
 * the request pages — what it answers, what it never shows, and the log line each call leaves. Raw HTTP (the
 * admin API is JSON under /admin/v1, no SDK) against the real local gateway (test/support/admin-rig.ts).
 */
import { describe, expect, it } from 'vitest';
import { adminSuite, listOf } from '../support/admin-rig.ts';
import { errorOf, MASTER_KEY, raw } from '../support/gateway-harness.ts';

// A second route, for an allow-list that leaves one out; a price, for a budget's spend.
const s = adminSuite({ moreRoutes: ['other'], price: { input: 1, output: 1 } });
const { keyOf, get } = s;
const json = listOf;

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
    await s.repo.revoke(admin.record.id, new Date().toISOString());
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
    const put = await raw(s.h.origin, '/admin/v1/keys', { method: 'PUT', body: '{}' });
    expect(put.status).toBe(405);
    expect((await get('/admin/v1/keys/key_0123456789ab')).status).toBe(405);
    expect((await get('/admin/v1/keys/not-an-id')).status).toBe(404);
  });
});

describe('GET /admin/v1/keys', () => {
  it('lists the keys with their limits and admin flag, never a key nor its hash; the call is logged with the key id', async () => {
    const admin = await keyOf({ name: 'lister', admin: true, rpm: 60, team: 'ops' });
    const made = await keyOf({ name: 'budgeted', budgetUsd: 5, period: 'day', models: ['chat'] });
    const r = await raw(s.h.origin, '/admin/v1/keys', {
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
      window: new Date().toISOString().slice(0, 10),
      spentUsd: 0,
    });
    expect(byId.get(admin.record.id)).toMatchObject({
      name: 'lister',
      admin: true,
      rpm: 60,
      team: 'ops',
      window: null,
      spentUsd: null,
    });
    expect(r.text).not.toContain(made.record.hash);
    expect(r.text).not.toContain(made.key);
    expect(r.text).not.toContain(admin.key);
    for (const k of body.data) expect(Object.hasOwn(k, 'hash')).toBe(false);
    const line = await s.h.waitForSummary('admin-list-1');
    expect(line).toMatchObject({ status: 200 });
    expect(line.fields).toMatchObject({ path: '/admin/v1/keys', keyId: admin.record.id });
  });
});

describe('creating, editing and revoking keys', () => {
  const send = (method: string, path: string, body?: unknown, key = MASTER_KEY) =>
    raw(s.h.origin, path, { method, key, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const chat = (key: string, model = 'chat') =>
    raw(s.h.origin, '/v1/chat/completions', {
      key,
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });
  const patch = (id: string, body: unknown) => send('PATCH', `/admin/v1/keys/${id}`, body);
  /** The key as the list shows it. */
  const listed = async (id: string) =>
    json((await get('/admin/v1/keys')).text).data.find((k) => k.id === id) as Record<string, unknown>;
  /** Past the rig's key cache TTL (100 ms): the gateway sees the edited key. */
  const cacheExpired = () => new Promise((r) => setTimeout(r, 200));

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
      [
        { name: 'x', models: ['nope'] },
        'models',
        /no route named "nope" in this store \(its routes: chat, other\)/,
      ],
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

  it("edits a key's team; a client key may do none of it", async () => {
    const made = JSON.parse((await send('POST', '/admin/v1/keys', { name: 'teamed' })).text) as {
      id: string;
      key: string;
    };
    const edited = await send('PATCH', `/admin/v1/keys/${made.id}`, { team: 'growth' });
    expect([edited.status, JSON.parse(edited.text).team]).toEqual([200, 'growth']);
    const cleared = await send('PATCH', `/admin/v1/keys/${made.id}`, { team: null });
    expect(JSON.parse(cleared.text).team).toBeNull();
    const plain = await keyOf({ name: 'not-admin' });
    expect((await send('POST', '/admin/v1/keys', { name: 'sneaky' }, plain.key)).status).toBe(403);
    expect((await send('DELETE', `/admin/v1/keys/${made.id}`, undefined, plain.key)).status).toBe(403);
    expect((await send('PATCH', `/admin/v1/keys/${made.id}`, { rpm: 5 }, plain.key)).status).toBe(403);
    expect((await get('/admin/v1/keys')).text).not.toContain('sneaky');
  });

  it("edits a key's allow-list, rpm and budget; the gateway enforces each within the key cache's TTL", async () => {
    const made = JSON.parse((await send('POST', '/admin/v1/keys', { name: 'editable' })).text) as {
      id: string;
      key: string;
    };
    expect((await chat(made.key, 'other')).status).toBe(200);
    // A budget given to a key that had none takes the default period.
    const limited = await patch(made.id, { models: ['chat'], budgetUsd: 2 });
    expect(limited.status).toBe(200);
    expect(JSON.parse(limited.text)).toMatchObject({
      id: made.id,
      name: 'editable',
      models: ['chat'],
      budgetUsd: 2,
      period: 'month',
      rpm: null,
      limitShards: 1,
    });
    await cacheExpired();
    const refused = await chat(made.key, 'other');
    expect([refused.status, errorOf(refused).code]).toEqual([403, 'model_not_allowed']);
    expect((await chat(made.key)).status).toBe(200);
    await s.h.gateway.background.idle();
    const spent = await listed(made.id);
    expect(spent.window).toBe(new Date().toISOString().slice(0, 7));
    expect(spent.spentUsd).toBeGreaterThan(0);

    const daily = await patch(made.id, { period: 'day', rpm: 1 });
    expect(JSON.parse(daily.text)).toMatchObject({ budgetUsd: 2, period: 'day', rpm: 1 });
    expect(await listed(made.id)).toMatchObject({ window: new Date().toISOString().slice(0, 10) });
    await cacheExpired();
    // One request a minute: of three, at most two fall on either side of a minute's turn.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await chat(made.key)).status);
    expect(statuses).toContain(429);

    const freed = await patch(made.id, { models: null, rpm: null, budgetUsd: null });
    expect(JSON.parse(freed.text)).toMatchObject({ models: null, rpm: null, budgetUsd: null, period: null });
    expect(await listed(made.id)).toMatchObject({ window: null, spentUsd: null });
    await cacheExpired();
    expect((await chat(made.key, 'other')).status).toBe(200);
  });

  it('refuses an edit the CLI refuses, naming the field, and changes nothing', async () => {
    const sharded = await keyOf({ name: 'sharded', rpm: 8, limitShards: 4 });
    const id = sharded.record.id;
    const before = await listed(id);
    const cases: [unknown, string | null, RegExp][] = [
      [
        { models: ['chat', 'nope'] },
        'models',
        /no route named "nope" in this store \(its routes: chat, other\)/,
      ],
      [{ models: [] }, 'models', /models/],
      [{ rpm: 3 }, 'rpm', /rpm 3 is less than the key's limitShards 4/],
      [{ rpm: 0 }, 'rpm', /rpm/],
      [{ period: 'day' }, 'period', /period needs budgetUsd/],
      [{ budgetUsd: null, period: 'day' }, 'period', /period needs budgetUsd/],
      [{ limitShards: 8 }, null, /limitShards/],
      [{ admin: true }, null, /admin/],
      [{ team: 'a\u0007b' }, 'team', /control characters/],
      [{}, null, /nothing to change/],
      [[], null, /body/],
    ];
    for (const [body, param, message] of cases) {
      const r = await patch(id, body);
      expect([r.status, errorOf(r).param], JSON.stringify(body)).toEqual([400, param]);
      expect(errorOf(r).message).toMatch(message);
    }
    expect((await send('PATCH', `/admin/v1/keys/${id}`, undefined)).status).toBe(400);
    expect(await listed(id)).toEqual(before);
    const unknown = await patch('key_000000000000', { team: 'x' });
    expect([unknown.status, errorOf(unknown).code]).toEqual([404, 'key_not_found']);
  });
});

describe('the request pages', () => {
  const send = (rid: string, content = 'hi') =>
    raw(s.h.origin, '/v1/chat/completions', {
      headers: { 'x-request-id': rid },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content }] }),
    });

  it('lists the latest ledger records first, filtered by key, route, provider and status; shows one request', async () => {
    const svc = await keyOf({ name: 'requests-svc' });
    await raw(s.h.origin, '/v1/chat/completions', {
      key: svc.key,
      headers: { 'x-request-id': 'admin-req-1' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'one' }] }),
    });
    await send('admin-req-2', 'two');
    await s.h.gateway.background.idle();
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
    // Served at its first try: the record carries no `tried` (most records stay as small as before).
    expect(JSON.parse(detail.text).records[0]).not.toHaveProperty('tried');
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
