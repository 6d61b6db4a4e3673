/** The README's config examples are configs: each YAML block that has `providers:` must pass the real schema. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../functions/core/config/schema.ts';

const README = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
const blocks = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)]
  .map((m) => m[1] ?? '')
  .filter((y) => /^providers:/m.test(y));

describe('README config examples', () => {
  it('has config examples to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
  });

  it.each(blocks.map((b, i) => [i, b] as const))('example %i parses with the config schema', (_, yaml) => {
    const cfg = parseConfig(parse(yaml), 'README example');
    expect(Object.keys(cfg.providers).length).toBeGreaterThan(0);
  });
});
