/**
 * CSV for spreadsheets (RFC 4180). Amounts are plain numbers — no currency sign, no thousands separator, no
 * exponent — so a spreadsheet reads them as numbers, not text; a missing value is an empty cell.
 */

// No grouping, no exponent, the shortest decimals up to 10 (the ledger's precision; 1234567.891 stays so).
const plain = new Intl.NumberFormat('en-US', { useGrouping: false, maximumFractionDigits: 10 });

/** A number as a CSV cell: a plain decimal, at most 10 decimals; empty when there is none. */
export function csvNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '';
  return plain.format(n + 0); // + 0 turns -0 into 0
}

/**
 * A text cell that a spreadsheet would run as a formula (`=HYPERLINK(…)`, `+`, `-`, `@`, a tab or CR first):
 * prefixed with `'`, which spreadsheets show as text (OWASP's CSV injection advice). Text cells hold what
 * clients sent (a route name, an upstream id); amounts are numbers and never pass here.
 */
const inert = (s: string): string => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s);

/** Rows as CSV text, one line each: fields with a comma, quote or line break quoted, quotes doubled. */
export function csv(rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  const field = (v: string | number | null | undefined): string => {
    const s = typeof v === 'number' || v === null || v === undefined ? csvNumber(v) : inert(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${rows.map((r) => r.map(field).join(',')).join('\n')}\n`;
}
