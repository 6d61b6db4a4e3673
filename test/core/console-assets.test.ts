/** The console's assets module is what functions/console/build.ts makes of its sources (none edited by hand). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ASSETS_MODULE, consoleModule } from '../../functions/console/build.ts';
import { PAGE, SCRIPT, STYLE } from '../../functions/core/console/assets.ts';

describe('console assets', () => {
  it('are built from functions/console (run `npm run console:build` after editing it)', () => {
    expect(readFileSync(ASSETS_MODULE, 'utf8')).toBe(consoleModule());
  });

  it('link the page to its own script and style, by relative paths only', () => {
    expect(PAGE.body).toContain('<script src="console/app.js" defer></script>');
    expect(PAGE.body).toContain('<link rel="stylesheet" href="console/app.css">');
    expect(PAGE.body).not.toMatch(/https?:\/\//);
    expect(PAGE.body).not.toMatch(/<script>|<style|style=/);
  });

  it('never write markup from text: no innerHTML, outerHTML, insertAdjacentHTML, document.write or eval', () => {
    expect(SCRIPT.body).not.toMatch(
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/,
    );
    expect(STYLE.body).not.toMatch(/@import|url\(/);
  });

  it('stay small: under 64 KiB together', () => {
    const total = PAGE.body.length + SCRIPT.body.length + STYLE.body.length;
    expect(total).toBeGreaterThan(10_000);
    expect(total).toBeLessThan(64 * 1024);
  });
});
