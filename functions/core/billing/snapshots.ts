/**
 * Snapshot-kind bills (a cumulative counter or a balance, no per-day figures): the spend of a day is the
 * difference between the last reading at or before the day starts and the last reading at or before it ends,
 * and the ledger is summed over exactly the same window — so the comparison is like for like even when the
 * readings are an hour off the day's edges, and consecutive days' windows meet without overlapping (the
 * rows of a month add up).
 */
import type { Money, Snapshot } from './types.ts';

export type SnapshotWindow =
  | { readonly from: Snapshot; readonly to: Snapshot; readonly spent: Money }
  | { readonly reason: string };

/**
 * The window over [startIso, endIso) from readings sorted by time: `from` is the last reading at or before
 * the start (else the first one inside the day), `to` the last one at or before the end.
 */
export function snapshotWindow(
  readings: readonly Snapshot[],
  startIso: string,
  endIso: string,
): SnapshotWindow {
  const sorted = [...readings].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const from = sorted.filter((s) => s.at <= startIso).at(-1) ?? sorted.find((s) => s.at < endIso);
  const to = sorted.filter((s) => s.at <= endIso).at(-1);
  if (from === undefined || to === undefined || to.at <= from.at) {
    const have = sorted.filter((s) => s.at >= startIso && s.at < endIso).length;
    return {
      reason: `two readings of the bill around the day are needed (${have} inside it); the scheduled run takes one every hour`,
    };
  }
  if (from.spent !== undefined && to.spent !== undefined) {
    if (from.spent.currency !== to.spent.currency)
      return { reason: 'the two readings are in different currencies' };
    const amount = round(to.spent.amount - from.spent.amount);
    if (amount < 0)
      return { reason: `the cumulative usage went down between ${from.at} and ${to.at} (reset?)` };
    return { from, to, spent: { amount, currency: to.spent.currency } };
  }
  if (from.balance !== undefined && to.balance !== undefined) {
    if (from.balance.currency !== to.balance.currency)
      return { reason: 'the two readings are in different currencies' };
    const amount = round(from.balance.amount - to.balance.amount);
    if (amount < 0) {
      return {
        reason: `the balance rose between ${from.at} and ${to.at} (a top-up?), so the spend in between cannot be told`,
      };
    }
    return { from, to, spent: { amount, currency: to.balance.currency } };
  }
  return { reason: 'the readings carry neither a cumulative spend nor a balance' };
}

const round = (n: number): number => Math.round(n * 1e6) / 1e6;
