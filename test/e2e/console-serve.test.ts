/**
 * The console's three files served by the real local gateway: no key needed (they hold nothing), the strict
 * Content-Security-Policy and the other protective headers, ETags, the 404/405 of the error table, and the
 * admin API still closed without a key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE, SCRIPT, STYLE } from '../../functions/core/console/assets.ts';
import { errorOf, type Harness, isUuidV7, raw, startHarness } from '../support/gateway-harness.ts';

let h: Harness<never>;
beforeAll(async () => {
  h = await startHarness({ config: () => ({ providers: {}, routes: {} }) });
});
afterAll(async () => h.close());

describe('the console', () => {
  it.each([
    ['/console', PAGE, 'text/html; charset=utf-8'],
    ['/console/app.js', SCRIPT, 'text/javascript; charset=utf-8'],
    ['/console/app.css', STYLE, 'text/css; charset=utf-8'],
  ])('serves %s without a key, with the strict CSP', async (path, asset, type) => {
    const r = await raw(h.origin, path, { key: null });
    expect(r.status).toBe(200);
    expect(r.text).toBe(asset.body);
    expect(r.headers.get('content-type')).toBe(type);
    // The policy itself, spelled out: a weaker one (a dropped directive, a wider source) fails here.
    expect(r.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'",
    );
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(r.headers.get('etag')).toBe(asset.etag);
    expect(isUuidV7(r.headers.get('x-request-id'))).toBe(true);
  });

  it('keeps admin answers out of every cache (no-store)', async () => {
    const r = await raw(h.origin, '/admin/v1/routes');
    expect([r.status, r.headers.get('cache-control')]).toEqual([200, 'no-store']);
  });

  it('answers 304 to a current ETag', async () => {
    const r = await raw(h.origin, '/console/app.js', {
      key: null,
      headers: { 'if-none-match': SCRIPT.etag },
    });
    expect([r.status, r.text]).toEqual([304, '']);
  });

  it('is a 405 for other methods and a 404 for other paths under /console', async () => {
    const post = await raw(h.origin, '/console', { key: null, body: '{}' });
    expect([post.status, errorOf(post).code]).toEqual([405, 'method_not_allowed']);
    for (const path of ['/console/', '/console/app.js.map', '/console/index.html', '/consoles'])
      expect((await raw(h.origin, path, { key: null })).status, path).toBe(404);
  });

  it('opens no admin data without a key', async () => {
    const r = await raw(h.origin, '/admin/v1/overview', { key: null });
    expect([r.status, errorOf(r).type]).toEqual([401, 'authentication_error']);
  });
});
