/** The window of days an admin page reads (`?from=YYYY-MM-DD&to=YYYY-MM-DD`, UTC), bounded. */
import { InvalidRequestError } from '../errors.ts';

const DAY_MS = 86_400_000;

function dayParam(q: URLSearchParams, name: string, fallback: string): string {
  const v = q.get(name) ?? fallback;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || !Number.isFinite(Date.parse(`${v}T00:00:00Z`)))
    throw new InvalidRequestError({
      code: 'invalid_request',
      message: `${name}: a day (YYYY-MM-DD)`,
      param: name,
    });
  return v;
}

/** `from`..`to` (default: the 7 days to today), 1 to `maxDays` days long, else 400 naming `from`. */
export function dayWindow(q: URLSearchParams, nowMs: number, maxDays: number): { from: string; to: string } {
  const to = dayParam(q, 'to', new Date(nowMs).toISOString().slice(0, 10));
  const from = dayParam(
    q,
    'from',
    new Date(Date.parse(`${to}T00:00:00Z`) - 6 * DAY_MS).toISOString().slice(0, 10),
  );
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS + 1;
  if (days < 1 || days > maxDays)
    throw new InvalidRequestError({
      code: 'invalid_request',
      message: `from..to is 1 to ${maxDays} days`,
      param: 'from',
    });
  return { from, to };
}
