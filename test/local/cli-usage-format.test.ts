import { describe, expect, it } from 'vitest';
import { csv, csvNumber } from '../../functions/core/csv.ts';
import { ledgerShards } from '../../functions/local/cli-store.ts';
import { dayWindows } from '../../functions/local/cli-usage.ts';
import { textTable } from '../../functions/local/text-table.ts';

describe('reading a long range', () => {
  it('splits [since, until) into windows of whole UTC days, in order, without gaps or overlaps', () => {
    expect(dayWindows('2026-01-01T06:00:00.000Z', '2026-01-05T12:00:00.000Z', 2)).toEqual([
      ['2026-01-01T06:00:00.000Z', '2026-01-03T00:00:00.000Z'],
      ['2026-01-03T00:00:00.000Z', '2026-01-05T00:00:00.000Z'],
      ['2026-01-05T00:00:00.000Z', '2026-01-05T12:00:00.000Z'],
    ]);
    // An until at midnight ends the last window there: no empty window for its day.
    expect(dayWindows('2026-01-01T00:00:00.000Z', '2026-01-03T00:00:00.000Z', 1)).toEqual([
      ['2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z'],
      ['2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z'],
    ]);
    expect(dayWindows('2026-01-03T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 8)).toEqual([]);
  });
});

describe('CSV numbers', () => {
  it('are plain decimals a spreadsheet reads as numbers', () => {
    expect([1234567.891, 0.1 + 0.2, 1e-7, 2e21 / 1e6, -0, 42].map(csvNumber)).toEqual([
      '1234567.891',
      '0.3',
      '0.0000001',
      '2000000000000000',
      '0',
      '42',
    ]);
    expect([null, undefined, Number.NaN].map(csvNumber)).toEqual(['', '', '']);
  });
});

describe('text a client chose, in CSV and tables', () => {
  it('never runs as a spreadsheet formula: a leading = + - @ makes the cell text', () => {
    expect(csv([['=HYPERLINK("http://x","y")', '+1', '@a', 'plain', -1.5]])).toBe(
      `"'=HYPERLINK(""http://x"",""y"")",'+1,'@a,plain,-1.5\n`,
    );
  });

  it('never reaches the terminal as an escape sequence', () => {
    expect(textTable(['route'], [['\u001b[2Jgone']])).toBe('route\n?[2Jgone\n');
  });
});

describe('the shards a command reads the ledger with', () => {
  const store = (usageShards?: number) =>
    ({ ...(usageShards === undefined ? {} : { usageShards }) }) as Parameters<typeof ledgerShards>[0];
  it("is what the writer used: one locally, a stack's output, else a stack's default 16; the env overrides", () => {
    expect(ledgerShards(store(), {}, undefined)).toBe(1);
    expect(ledgerShards(store(), { stack: 'Prod' }, undefined)).toBe(16);
    expect(ledgerShards(store(32), { stack: 'Prod' }, 8)).toBe(32);
    expect(ledgerShards(store(), {}, 4)).toBe(4);
  });
});
