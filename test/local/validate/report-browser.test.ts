/**
 * The HTML report opened in a real browser — Debian's headless Chromium driven by playwright-core (never a
 * Playwright browser download) — asserting on the rendered page: the title, the columns, the charts' boxes
 * and marks, no console error, no request but the file itself, and a full-page screenshot.
 *
 * Without /usr/bin/chromium the suite is skipped (a machine with only Node still passes `npm test`), unless
 * SWITCHYARD_REQUIRE_CHROMIUM=1 — as .ci/run sets after installing it — in which case it fails.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../../functions/local/validate/report-html.ts';
import {
  HAVE_CHROMIUM,
  launchChromium,
  type Seen,
  watch,
  whenChromiumMissing,
} from '../../support/chromium.ts';
import { INJECTION, twoSubjectReport } from './report-fixture.ts';

whenChromiumMissing('validate report in headless Chromium');

describe.runIf(HAVE_CHROMIUM)('validate report in headless Chromium', () => {
  let dir: string;
  let browser: Browser;
  let page: Page;
  let fileUrl: string;
  let seen: Seen;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-report-'));
    const file = join(dir, 'report.html');
    await writeFile(file, renderHtml(twoSubjectReport()));
    fileUrl = pathToFileURL(file).href;
    // Playwright gives the browser a fresh, empty profile of its own (it refuses --user-data-dir in args).
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    seen = watch(context, page);
    await page.goto(fileUrl, { waitUntil: 'load' });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('shows the title and one column per subject', async () => {
    expect(await page.title()).toBe('switchyard validate: failed — 2026-11-02T09:30:00.000Z');
    expect(await page.locator('h1').textContent()).toBe('switchyard validate');
    const headers = await page.locator('table.checks thead th').allInnerTexts();
    expect(headers.map((h) => h.trim())).toEqual(['Check', 'gpt-4o-mini', 'relay-b/deepseek-chat']);
    expect(await page.locator('table.checks tbody tr[data-check]').count()).toBe(8);
    expect(await page.locator('.card.fail h3').textContent()).toBe('relay-b/deepseek-chat');
  });

  it('renders four charts, each with a real box and drawn marks', async () => {
    const charts = await page.locator('svg.chart').evaluateAll((svgs) =>
      svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        const marks = [...svg.querySelectorAll('rect.mark, path.mark, polyline.mark')].map((m) => {
          const b = m.getBoundingClientRect();
          return { tag: m.tagName, width: b.width, height: b.height };
        });
        return {
          kind: svg.getAttribute('data-chart'),
          width: box.width,
          height: box.height,
          marks,
          legend: [...svg.querySelectorAll('.legend-item text')].map((t) => t.textContent ?? ''),
          ticks: svg.querySelectorAll('text.tick').length,
        };
      }),
    );
    expect(charts.map((c) => c.kind)).toEqual(['latency', 'ttft', 'ramp-success', 'ramp-latency']);
    for (const c of charts) {
      expect(c.width, `${c.kind} width`).toBeGreaterThan(300);
      expect(c.height, `${c.kind} height`).toBeGreaterThan(150);
      expect(c.ticks, `${c.kind} ticks`).toBeGreaterThanOrEqual(6);
      expect(
        c.legend.some((t) => t.startsWith('gpt-4o-mini')),
        `${c.kind} legend`,
      ).toBe(true);
      expect(
        c.legend.some((t) => t.startsWith('relay-b/deepseek-chat')),
        `${c.kind} legend`,
      ).toBe(true);
      // Every mark is drawn with a size, and at least one has both a width and a height.
      expect(c.marks.length, `${c.kind} marks`).toBeGreaterThan(0);
      expect(c.marks.every((m) => m.width > 0 || m.height > 0)).toBe(true);
      expect(c.marks.some((m) => m.width > 5 && m.height > 5)).toBe(true);
    }
    const [latency, ttft, success, ramp] = charts;
    expect(latency?.marks.every((m) => m.tag === 'rect' && m.height > 0)).toBe(true);
    expect(ttft?.marks.length).toBeGreaterThan(5);
    expect(success?.marks.filter((m) => m.tag === 'polyline')).toHaveLength(2);
    expect(ramp?.marks.filter((m) => m.tag === 'polyline')).toHaveLength(4);
  });

  it('shows relay bodies as text: the injected script neither ran nor loaded anything', async () => {
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('script, img, iframe, link').count()).toBe(0);
    const summaries = await page.locator('tr[data-check="connectivity.stream"] .summary').allInnerTexts();
    expect(summaries[1]).toContain(INJECTION);
    const details = page.locator('tr[data-check="connectivity.stream"] details').nth(1);
    expect(await details.locator('pre').isVisible()).toBe(false);
    await details.locator('summary').click();
    expect(await details.locator('pre').isVisible()).toBe(true);
    expect(await details.locator('pre').textContent()).toContain(
      '"excerpt": "<script>window.__pwned = 1</script>',
    );
  });

  it('logs no console error and requests nothing but the file itself', () => {
    expect(seen.errors).toEqual([]);
    expect(seen.requests).toEqual([fileUrl]);
  });

  it('takes a full-page screenshot', async () => {
    const shot = process.env.SWITCHYARD_REPORT_SCREENSHOT ?? join(dir, 'report.png');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: shot, fullPage: true });
    const png = await readFile(shot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    // Full page: taller than the viewport (verdicts, the checks table and four charts).
    expect(png.readUInt32BE(20)).toBeGreaterThan(2000);
  });
});
