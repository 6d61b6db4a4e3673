/**
 * The console in a real browser (Debian's headless Chromium, playwright-core) against the real local gateway
 * with fake providers on loopback: log in from the keyboard, the overview's charts drawn from traffic sent in
 * this test with the official OpenAI SDK, a key created (shown once, copied), used, edited and revoked (and
 * refused after), a route edited with an error shown at its line, fixed, saved and used by the gateway; the
 * requests, billing and health pages; a phone width in the dark theme. No console error, no request outside
 * the gateway. Screenshots go to test/.artifacts/console (or SWITCHYARD_CONSOLE_SCREENSHOTS).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoKeyRepo } from '../../functions/aws/stores/dynamo-key-repo.ts';
import { newClientKey } from '../../functions/core/keys/client-keys.ts';
import { KEYS_TABLE } from '../../functions/core/stores/tables.ts';
import { connectStore, localTableName } from '../../functions/local/embedded-store.ts';
import { HAVE_CHROMIUM, launchChromium, type Seen, watch, whenChromiumMissing } from '../support/chromium.ts';
import { type Harness, MASTER_KEY, openaiProvider, route, startHarness } from '../support/gateway-harness.ts';

const SUITE = 'the console in headless Chromium';
const SHOTS =
  process.env.SWITCHYARD_CONSOLE_SCREENSHOTS ?? join(import.meta.dirname, '../.artifacts/console');
const INJECTED = '<img src=x onerror="window.__pwned=1">';

whenChromiumMissing(SUITE);

describe.runIf(HAVE_CHROMIUM)(SUITE, () => {
  let h: Harness<'a' | 'b'>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let seen: Seen;
  const client = (apiKey: string) => new OpenAI({ baseURL: h.baseURL, apiKey, maxRetries: 0 });
  const chat = (apiKey: string, model: string) =>
    client(apiKey).chat.completions.create({ model, messages: [{ role: 'user', content: 'hello there' }] });
  const shot = async (name: string) => {
    const path = join(SHOTS, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    const png = await readFile(path);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    return png;
  };
  /** A JavaScript expression evaluated in the page (this project's types have no DOM lib). */
  const js = <T = unknown>(expression: string) => page.evaluate<T>(expression);
  const open = async (hash: string, ready: string) => {
    await js(`location.hash = ${JSON.stringify(hash)}`);
    await page.locator(ready).first().waitFor();
  };

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    h = await startHarness({
      fakes: { a: {}, b: {} },
      config: (f) => ({
        providers: { a: openaiProvider(f.a.url), b: openaiProvider(f.b.url) },
        routes: {
          chat: route([
            { provider: 'a', model: 'm-a' },
            { provider: 'b', model: 'm-b' },
          ]),
          fast: route([{ provider: 'b', model: 'm-b' }]),
        },
        prices: { 'a/m-a': { input: 2, output: 8 }, 'b/m-b': { input: 1, output: 4 } },
      }),
      gateway: { keyCacheTtlMs: 100, routeCacheTtlMs: 100 },
    });
    const repo = new DynamoKeyRepo(connectStore(h.gateway.storeSocket), localTableName(KEYS_TABLE));
    const a = newClientKey({ name: 'team-alpha', budgetUsd: 5, period: 'month' });
    const b = newClientKey({ name: INJECTED, team: INJECTED });
    await repo.put(a.record);
    await repo.put(b.record);
    for (let i = 0; i < 4; i++) await chat(a.key, 'chat');
    for (let i = 0; i < 2; i++) await chat(b.key, 'fast');
    // One request that falls back from a (503) to b: its detail shows both steps.
    h.fakes.a.enqueue({ status: 503, errorMessage: 'down for a moment' });
    await client(a.key).chat.completions.create(
      { model: 'chat', messages: [{ role: 'user', content: 'fall back' }] },
      { headers: { 'x-request-id': 'console-fallback' } },
    );
    await h.gateway.background.idle();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.origin });
    page = await context.newPage();
    seen = watch(context, page);
    await page.goto(`${h.origin}/console`, { waitUntil: 'load' });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('logs in with a key typed from the keyboard', async () => {
    await page.locator('#key').waitFor();
    expect(await js<string>('document.activeElement?.id')).toBe('key');
    await page.keyboard.type(MASTER_KEY);
    await page.keyboard.press('Enter');
    await page.locator('nav a[aria-current="page"]').waitFor();
    expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('Overview');
    // The key stays in this tab's sessionStorage, never in a cookie or localStorage.
    expect(await context.cookies()).toEqual([]);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });

  it("draws the overview's charts from the traffic sent through the gateway", async () => {
    await page.locator('svg.chart').first().waitFor();
    const charts = await page.locator('svg.chart').evaluateAll((svgs) =>
      svgs.map((svg) => ({
        kind: svg.getAttribute('data-chart'),
        width: svg.getBoundingClientRect().width,
        marks: [...svg.querySelectorAll('rect.mark')].map((m) => ({
          series: m.getAttribute('data-series'),
          height: m.getBoundingClientRect().height,
        })),
        legend: [...(svg.parentElement?.querySelectorAll('.legend li') ?? [])].map(
          (l) => l.textContent ?? '',
        ),
      })),
    );
    expect(charts.map((c) => c.kind)).toEqual([
      'spend-provider',
      'requests-model',
      'spend-key',
      'errors-model',
      'hour-provider',
    ]);
    const [spend, requests, byKey, , lastHour] = charts;
    for (const c of [spend, requests, byKey, lastHour]) {
      expect(c?.width).toBeGreaterThan(300);
      expect(c?.marks.length).toBeGreaterThan(0);
      expect(c?.marks.every((m) => m.height > 0)).toBe(true);
    }
    expect(new Set(spend?.marks.map((m) => m.series))).toEqual(new Set(['a', 'b']));
    expect(requests?.legend.some((l) => l.includes('(4)'))).toBe(true);
    expect(byKey?.legend.some((l) => l.startsWith('team-alpha'))).toBe(true);
    // The injected name is a legend's text, nothing more.
    expect(byKey?.legend.some((l) => l.startsWith(INJECTED))).toBe(true);
    const cards = await page.locator('.card .label').allTextContents();
    expect(cards).toContain('Latency p50 / p99');
    const requestsCard = page.locator('.card', { hasText: 'Requests' }).first().locator('.value');
    expect(await requestsCard.textContent()).toBe('7');
    expect(lastHour?.legend).toEqual(['a (4)', 'b (3)']);
    await page.locator('#hour-by').selectOption('model');
    const byModel = page.locator('svg.chart[data-chart="hour-model"]');
    await byModel.waitFor();
    expect(await byModel.locator('rect.mark').count()).toBeGreaterThan(0);
    await page.locator('#hour-by').selectOption('key');
    expect(
      await page
        .locator('figure.chart', { hasText: 'by key, last hour' })
        .locator('.legend li')
        .allTextContents(),
    ).toContain('team-alpha (5)');
    await page.locator('#hour-by').selectOption('provider');
    const budget = page.locator('tr', { hasText: 'team-alpha' }).locator('meter');
    expect(Number(await budget.getAttribute('value'))).toBeGreaterThan(0);
    await shot('overview');
  });

  it('moves between pages from the keyboard alone', async () => {
    let onKeys = false;
    for (let i = 0; i < 12 && !onKeys; i++) {
      await page.keyboard.press('Tab');
      onKeys = (await js<string | null>("document.activeElement?.getAttribute('href') ?? null")) === '#keys';
    }
    expect(onKeys).toBe(true);
    await page.keyboard.press('Enter');
    await page.locator('table#keys').waitFor();
    expect(await page.locator('nav a[aria-current="page"]').textContent()).toBe('Keys');
    // The page's main region takes the focus, so the next Tab starts in the page, not back at the top.
    expect(await js<string>('document.activeElement?.id')).toBe('main');
  });

  it('shows names as text: the injected markup neither ran nor made an element', async () => {
    await open('#keys', 'table#keys');
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.locator('tr', { hasText: INJECTED }).count()).toBe(1);
  });

  it('creates a key, shows it once with a copy button; it works, is edited, then revoked and refused', async () => {
    await page.locator('#create-key input[name="name"]').fill('console-made');
    await page.locator('#create-key input[name="models"]').fill('chat, fast');
    await page.locator('#create-key button[type="submit"]').click();
    const made = page.locator('#new-key');
    await made.waitFor();
    const key = (await made.textContent()) ?? '';
    expect(key).toMatch(/^sk-sy-/);
    await page.locator('#made button', { hasText: 'Copy' }).click();
    await page.locator('#made', { hasText: 'Copied.' }).waitFor();
    expect(await js<string>('navigator.clipboard.readText()')).toBe(key);
    await shot('keys-created');
    expect((await chat(key, 'fast')).choices[0]?.message.content).toBeTruthy();

    // Edit its allow-list down to `chat`: `fast` is then refused.
    const row = page.locator('tr[data-key]', { hasText: 'console-made' });
    await row.locator('button[data-action="edit"]').click();
    const form = page.locator('form[data-edit]').filter({ has: page.locator('input[name="models"]') });
    const edit = form.locator('input[name="models"]:visible');
    await edit.fill('chat');
    await edit.press('Enter');
    await page
      .locator('tr[data-key]', { hasText: 'console-made' })
      .locator('td', { hasText: /^chat$/ })
      .waitFor();
    await new Promise((r) => setTimeout(r, 250));
    await expect(chat(key, 'fast')).rejects.toMatchObject({ status: 403 });

    await page.locator('tr[data-key]', { hasText: 'console-made' }).locator('[data-action="revoke"]').click();
    await page.locator('[data-action="confirm-revoke"]').click();
    await page
      .locator('tr[data-key]', { hasText: 'console-made' })
      .locator('.badge', { hasText: 'revoked' })
      .waitFor();
    await new Promise((r) => setTimeout(r, 250));
    await expect(chat(key, 'chat')).rejects.toMatchObject({ status: 401 });
  });

  it('shows a YAML error at its line, saves nothing; fixed and saved, the gateway uses it', async () => {
    await open('#routes', 'textarea#yaml');
    const yaml = await page.locator('#yaml').inputValue();
    const added =
      '  console-route:\n    strategy: sideways\n    targets:\n      - provider: b\n        model: m-console\n';
    const broken = yaml.replace(/^routes:\n/m, `routes:\n${added}`);
    const line = broken.split('\n').indexOf('    strategy: sideways') + 1;
    expect(line).toBeGreaterThan(1);
    await page.locator('#yaml').fill(broken);
    await page.locator('#save').click();
    const problem = page.locator('ol.problems button').first();
    await problem.waitFor();
    expect(await problem.textContent()).toContain(`Line ${line},`);
    expect(await page.locator(`pre.gutter span.bad[data-line="${line}"]`).count()).toBe(1);
    await shot('routes-error');
    await problem.click();
    expect(await js<string>('document.activeElement?.id')).toBe('yaml');
    await expect(chat(MASTER_KEY, 'console-route')).rejects.toMatchObject({ status: 404 });

    await page.locator('#yaml').fill(broken.replace('strategy: sideways', 'strategy: fallback'));
    await page.locator('#save').click();
    await page.locator('#saved').waitFor();
    expect(await page.locator('ul.diff li[data-change="added"]').textContent()).toContain('console-route');
    await new Promise((r) => setTimeout(r, 250));
    const answer = await chat(MASTER_KEY, 'console-route');
    expect(answer.model).toBe('m-console');
    expect(h.fakes.b.requests.at(-1)?.body).toMatchObject({ model: 'm-console' });
  });

  it("lists the requests and opens one's detail", async () => {
    await h.gateway.background.idle();
    await open('#requests', 'table#requests');
    const rows = page.locator('table#requests tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(8);
    await page.locator('input[name="route"]').fill('fast');
    await page.locator('input[name="route"]').press('Enter');
    await page.waitForFunction("location.hash.includes('route=fast')");
    await page.locator('table#requests tbody tr').first().waitFor();
    const routes = await page.locator('table#requests tbody tr td:nth-child(4)').allTextContents();
    expect(routes.length).toBeGreaterThan(0);
    expect(routes.every((r) => r === 'fast')).toBe(true);
    // A window that ends before any of this test's traffic: nothing.
    await page.locator('input[name="until"]').fill('2026-01-01T00:00');
    await page.locator('input[name="route"]').press('Enter');
    await page.waitForFunction("location.hash.includes('until=2026-01-01T00%3A00')");
    await page.locator('p', { hasText: /^0 records/ }).waitFor();
    expect(await page.locator('table#requests tbody tr').count()).toBe(0);
    await page.locator('input[name="until"]').fill('');
    await page.locator('input[name="route"]').press('Enter');
    await page.waitForFunction("!location.hash.includes('until=')");
    await page.locator('table#requests tbody tr').first().waitFor();
    await page.locator('table#requests tbody tr a').first().click();
    await page.locator('dl.detail').waitFor();
    const text = await page.locator('dl.detail').first().textContent();
    expect(text).toContain('Usage source');
    expect(text).toContain('Attempts');
    await open('#requests/id/console-fallback', 'table.steps');
    const steps = await page.locator('table.steps tbody tr').allInnerTexts();
    expect(steps).toHaveLength(2);
    expect(steps[0]).toMatch(/a\/m-a.*503/s);
    expect(steps[1]).toMatch(/b\/m-b\s+ok\s+200/s);
    expect(await page.locator('dl.detail').textContent()).toContain('Fallbacks1');
    await shot('request-detail');
  });

  it('runs a reconciliation from the billing page and lists its reports', async () => {
    await open('#billing', 'form#reconcile');
    await page.locator('form#reconcile button').click();
    await page.locator('table#reports').waitFor();
    const providers = await page.locator('table#reports tbody tr td:first-child').allTextContents();
    expect(new Set(providers)).toEqual(new Set(['a', 'b']));
    await shot('billing');
  });

  it("shows each target's state on the health page", async () => {
    await open('#health', 'section[data-route="chat"]');
    const states = await page.locator('section[data-route="chat"] .badge').allTextContents();
    expect(states).toEqual(['healthy', 'healthy']);
    await shot('health');
  });

  it('is readable on a phone (390 px) in the dark theme', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    for (const [hash, ready] of [
      ['#overview', 'svg.chart'],
      ['#keys', 'table#keys'],
      ['#requests', 'table#requests'],
    ] as const) {
      await open(hash, ready);
      // Nothing wider than the screen but the tables' own scroll boxes.
      expect(await js<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    }
    const bg = await js<string>('getComputedStyle(document.body).backgroundColor');
    expect(bg).toBe('rgb(20, 21, 23)');
    await shot('phone-dark-requests');
  });

  it('logged no console error and requested nothing outside the gateway', () => {
    expect(seen.errors).toEqual([]);
    expect(seen.requests.length).toBeGreaterThan(10);
    const outside = seen.requests.filter((u) => !u.startsWith(`${h.origin}/`) && !u.startsWith('data:'));
    expect(outside).toEqual([]);
  });
});
