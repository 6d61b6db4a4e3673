/** STYLE.md rule 1, checked mechanically: the core reaches nothing outside itself but npm libraries it may use. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE = join(import.meta.dirname, '../../functions/core');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const FORBIDDEN = [
  { what: 'AWS SDK', re: /from ['"]@aws-sdk\// },
  { what: 'middy', re: /from ['"]@middy\// },
  { what: 'powertools', re: /from ['"]@aws-lambda-powertools\// },
  { what: 'node:http', re: /from ['"](node:)?https?['"]/ },
  { what: 'dynalite', re: /from ['"]dynalite['"]/ },
  { what: 'process.env', re: /process\.env/ },
  { what: 'a host folder', re: /from ['"](\.\.\/)+(aws|local)\// },
];

describe('functions/core', () => {
  const sources = files(CORE);

  it('has source files to check', () => {
    expect(sources.length).toBeGreaterThan(10);
  });

  it.each(FORBIDDEN)('never imports $what', ({ re }) => {
    const offenders = sources.filter((f) => re.test(readFileSync(f, 'utf8'))).map((f) => relative(CORE, f));
    expect(offenders).toEqual([]);
  });

  it('keeps every file under 400 lines', () => {
    const long = sources
      .filter((f) => readFileSync(f, 'utf8').split('\n').length > 400)
      .map((f) => relative(CORE, f));
    expect(long).toEqual([]);
  });
});
