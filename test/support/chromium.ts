/**
 * Debian's headless Chromium driven by playwright-core (never a Playwright browser download), for the suites
 * that open a page the project makes (the validate report, the statement, the console).
 *
 * Without /usr/bin/chromium such a suite is skipped (a machine with only Node still passes `npm test`), unless
 * SWITCHYARD_REQUIRE_CHROMIUM=1 — as .ci/run sets after installing it — in which case it fails.
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/** Registers the suite's stand-in when Chromium is missing: a skip, or a failure when it is required. */
export function whenChromiumMissing(suite: string): void {
  if (HAVE_CHROMIUM) return;
  const reason = `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run it`;
  describe(suite, () => {
    if (process.env.SWITCHYARD_REQUIRE_CHROMIUM === '1')
      it('finds Debian chromium (SWITCHYARD_REQUIRE_CHROMIUM=1)', () => {
        expect.fail(`SWITCHYARD_REQUIRE_CHROMIUM=1 but ${reason}`);
      });
    else it.skip(`skipped: ${reason}`, () => {});
  });
}

/** A headless browser with a fresh, empty profile of its own, and nothing of its own on the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What pages of a context did: every request's URL, and every console error and uncaught exception. */
export interface Seen {
  readonly requests: string[];
  readonly errors: string[];
}

export function watch(context: BrowserContext, page: Page): Seen {
  const seen: Seen = { requests: [], errors: [] };
  context.on('request', (r) => seen.requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') seen.errors.push(m.text());
  });
  page.on('pageerror', (e) => seen.errors.push(`pageerror: ${e.message}`));
  return seen;
}
