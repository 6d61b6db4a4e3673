/** UTC days as `YYYY-MM-DD`: the unit of budgets windows, ledger aggregates and reconciliation reports. */

export const DAY_MS = 86_400_000;

/** `2026-11-20` → `2026-11-20T00:00:00.000Z`. */
export const dayStart = (day: string): string => `${day}T00:00:00.000Z`;

/** The UTC day `n` days after (before, for negative n) `day`. */
export const shiftDay = (day: string, n: number): string =>
  new Date(Date.parse(dayStart(day)) + n * DAY_MS).toISOString().slice(0, 10);

/** Every UTC day from the day of `from` to the day of `to` (ISO times or days), both included. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  const end = Date.parse(dayStart(to.slice(0, 10)));
  for (let t = Date.parse(dayStart(from.slice(0, 10))); t <= end; t += DAY_MS) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}
