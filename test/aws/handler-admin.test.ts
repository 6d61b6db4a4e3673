/**
 * The admin API on the Lambda path: the gateway handler bundle in the Lambda harness (runtime mocked by a
 * shim), via a function URL event: the master key reads the keys from the stack's keys table (DynamoDB
 * emulated), and the health of the harness's routes; no key gets 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { PAGE, SCRIPT } from '../../functions/core/console/assets.ts';
import { CONSOLE_CSP } from '../../functions/core/console/serve.ts';
import { newClientKey } from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { type GatewayBundle, MASTER, startGatewayBundle } from './support/gateway-bundle.ts';

let bundle: GatewayBundle;

beforeAll(async () => {
  bundle = await startGatewayBundle();
});
afterAll(async () => bundle?.close());

const get = (path: string, key?: string) =>
  fetch(`${bundle.frontOf('function-url').baseURL}${path}`, {
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });

describe('the admin API on the gateway Lambda (runtime mocked by a shim)', () => {
  it('serves the console page and its script through either front, with the CSP, without a key', async () => {
    for (const format of ['function-url', 'rest-api'] as const) {
      const base = bundle.frontOf(format).baseURL;
      const page = await fetch(`${base}/console`);
      expect([format, page.status]).toEqual([format, 200]);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(await page.text()).toBe(PAGE.body);
      // The page links its script relatively: from <base>/console it is <base>/console/app.js.
      const script = await fetch(new URL('console/app.js', `${base}/console`));
      expect(script.status).toBe(200);
      expect(await script.text()).toBe(SCRIPT.body);
    }
  });

  it('lists the keys of the keys table and the health of every route, to the master key only', async () => {
    const made = newClientKey({ name: 'lambda-admin-list', budgetUsd: 3, period: 'day' });
    await new DynamoKeyRepo(bundle.conn.client, bundle.conn.tableName(KEYS_TABLE)).put(made.record);
    const keys = await get('/admin/v1/keys', MASTER);
    expect(keys.status).toBe(200);
    const text = await keys.text();
    const listed = (JSON.parse(text) as { data: { id: string }[] }).data.find((k) => k.id === made.record.id);
    // Its spend is read from the keys table's limit items (0: no request yet), in today's window.
    expect(listed).toMatchObject({ window: new Date().toISOString().slice(0, 10), spentUsd: 0 });
    expect(text).not.toContain(made.record.hash);
    const health = await get('/admin/v1/health', MASTER);
    expect(health.status).toBe(200);
    const routes = (JSON.parse(await health.text()) as { data: { route: string }[] }).data.map(
      (r) => r.route,
    );
    expect(routes).toContain('gpt-4o-mini');
    expect((await get('/admin/v1/keys')).status).toBe(401);
  });

  it('lists the latest ledger records with the query string of either front', async () => {
    for (const format of ['function-url', 'rest-api'] as const) {
      const front = bundle.frontOf(format);
      const done = await fetch(`${front.baseURL}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${MASTER}`,
          'content-type': 'application/json',
          'x-request-id': `admin-${format}`,
        },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(done.status).toBe(200);
      await done.text();
      await Promise.all(front.invocations.map((i) => i.done));
      const r = await fetch(`${front.baseURL}/admin/v1/requests?limit=1&route=gpt-4o-mini`, {
        headers: { authorization: `Bearer ${MASTER}` },
      });
      expect(r.status).toBe(200);
      const body = JSON.parse(await r.text()) as { data: { requestId: string }[] };
      expect(body.data.map((x) => x.requestId)).toEqual([`admin-${format}`]);
    }
  });
});
