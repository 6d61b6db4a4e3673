import { describe, expect, it } from 'vitest';
import { snapshotWindow } from '../../../functions/core/billing/snapshots.ts';

const usd = (amount: number) => ({ amount, currency: 'USD' });
const DAY = ['2026-11-20T00:00:00.000Z', '2026-11-21T00:00:00.000Z'] as const;

describe('snapshotWindow', () => {
  it('runs from the last reading at or before the day to the last at or before its end, and diffs the spend', () => {
    const w = snapshotWindow(
      [
        { at: '2026-11-19T22:00:00.000Z', spent: usd(1) },
        { at: '2026-11-19T23:00:00.000Z', spent: usd(2) },
        { at: '2026-11-20T12:00:00.000Z', spent: usd(5) },
        { at: '2026-11-20T23:30:00.000Z', spent: usd(9) },
        { at: '2026-11-21T00:30:00.000Z', spent: usd(11) },
      ],
      ...DAY,
    );
    expect(w).toEqual({
      from: { at: '2026-11-19T23:00:00.000Z', spent: usd(2) },
      to: { at: '2026-11-20T23:30:00.000Z', spent: usd(9) },
      spent: usd(7),
    });
  });

  it("meets the next day's window without overlapping it, so a month's rows add up", () => {
    const readings = [
      { at: '2026-11-19T23:30:00.000Z', spent: usd(1) },
      { at: '2026-11-20T23:30:00.000Z', spent: usd(4) },
      { at: '2026-11-21T23:30:00.000Z', spent: usd(10) },
    ];
    const a = snapshotWindow(readings, ...DAY);
    const b = snapshotWindow(readings, '2026-11-21T00:00:00.000Z', '2026-11-22T00:00:00.000Z');
    if (!('spent' in a) || !('spent' in b)) throw new Error('expected two windows');
    expect(a.to).toEqual(b.from);
    expect(a.spent.amount + b.spent.amount).toBe(9);
  });

  it('diffs balances the other way round, in their own currency', () => {
    const w = snapshotWindow(
      [
        { at: '2026-11-19T23:30:00.000Z', balance: { amount: 100, currency: 'CNY' } },
        { at: '2026-11-20T23:50:00.000Z', balance: { amount: 91.5, currency: 'CNY' } },
      ],
      ...DAY,
    );
    expect('spent' in w && w.spent).toEqual({ amount: 8.5, currency: 'CNY' });
  });

  it('uses readings inside a day that is still running', () => {
    const w = snapshotWindow(
      [
        { at: '2026-11-20T01:00:00.000Z', spent: usd(1) },
        { at: '2026-11-20T05:00:00.000Z', spent: usd(4) },
      ],
      ...DAY,
    );
    expect('spent' in w && w.spent).toEqual(usd(3));
  });

  it('needs two readings', () => {
    const w = snapshotWindow([{ at: '2026-11-20T01:00:00.000Z', spent: usd(1) }], ...DAY);
    expect('reason' in w && w.reason).toMatch(/^two readings of the bill around the day are needed/);
  });

  it('refuses a balance that rose (a top-up) and a counter that went down', () => {
    const up = snapshotWindow(
      [
        { at: '2026-11-19T23:00:00.000Z', balance: usd(10) },
        { at: '2026-11-20T23:00:00.000Z', balance: usd(50) },
      ],
      ...DAY,
    );
    expect('reason' in up && up.reason).toMatch(/balance rose/);
    const down = snapshotWindow(
      [
        { at: '2026-11-19T23:00:00.000Z', spent: usd(10) },
        { at: '2026-11-20T23:00:00.000Z', spent: usd(2) },
      ],
      ...DAY,
    );
    expect('reason' in down && down.reason).toMatch(/went down/);
  });
});
