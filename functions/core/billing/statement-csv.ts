/** A statement as CSV (`statement --format csv`, and the file the stack writes to S3). */
import { csv } from '../csv.ts';
import type { Amendment, Statement, Totals } from './statement.ts';

const CSV_TOTALS: readonly (keyof Totals)[] = [
  'requests',
  'errors',
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'costUsd',
  'unpricedRequests',
  'estimatedRequests',
  'estimatedInputTokens',
  'estimatedOutputTokens',
  'estimatedCostUsd',
];

/**
 * One header row, then a row per line, key subtotal, team subtotal and the total (`kind` says which): plain
 * numbers (no currency sign, no separators), UTF-8, so a spreadsheet sums the columns as they are.
 */
export function statementCsv(s: Statement, amendment?: Amendment): string {
  const rows: (string | number | null)[][] = [
    ['kind', 'team', 'keyId', 'keyName', 'provider', 'model', ...CSV_TOTALS, 'priceVersions'],
  ];
  const nums = (t: Totals) => CSV_TOTALS.map((f) => t[f]);
  for (const team of s.teams) {
    for (const k of team.keys) {
      for (const l of k.lines)
        rows.push([
          'line',
          team.team,
          k.keyId,
          k.name,
          l.provider,
          l.model,
          ...nums(l),
          l.priceVersions.join(' '),
        ]);
      rows.push(['key subtotal', team.team, k.keyId, k.name, null, null, ...nums(k.subtotal), null]);
    }
    if (s.by === 'team')
      rows.push(['team subtotal', team.team, null, null, null, null, ...nums(team.subtotal), null]);
  }
  rows.push(['total', null, null, null, null, null, ...nums(s.total), null]);
  // Changes since it was issued: each line's difference, then the total's (never folded into the above).
  if (amendment !== undefined) {
    for (const l of amendment.lines)
      rows.push(['amendment', null, l.keyId, null, l.provider, l.model, ...nums(l.delta), amendment.number]);
    rows.push(['amendment total', null, null, null, null, null, ...nums(amendment.delta), amendment.number]);
  }
  return csv(rows);
}
