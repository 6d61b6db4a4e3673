/**
 * A statement as one self-contained HTML page (`statement --format html`): no script, no CDN, no font or
 * image from anywhere — a Content-Security-Policy of `default-src 'none'` backs that up, and every name from
 * outside (keys, teams, models, reasons) is escaped. Print-friendly: the first page holds the statement's
 * number, period, issuer, totals, proof and the chart of spend by day; then one team per printed page (A4 or
 * Letter: the page size is the printer's, the margins fixed).
 */
import { escapeHtml } from '../html.ts';
import type { Amendment, Statement, StatementTeam, Totals } from './statement.ts';

const money = (v: number): string => `$${v.toFixed(4)}`;
const int = (v: number): string => v.toLocaleString('en-US');

const CSS = `
:root { color-scheme: light; font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; }
body { margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: #57606a; margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid #d0d7de; padding: 4px 6px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.sub td { font-weight: 600; background: #f6f8fa; } tr.total td { font-weight: 700; border-top: 2px solid #1b1f24; }
.proof td.n { width: 9em; }
figure { margin: 8px 0 16px; } figcaption { color: #57606a; }
svg text { font: 10px system-ui, sans-serif; fill: #57606a; }
@page { margin: 15mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 11px; }
  section.team { break-before: page; }
  tr { break-inside: avoid; }
}
`;

const HEAD = [
  'provider',
  'model',
  'requests',
  'input tokens',
  'output tokens',
  'cached',
  'cost',
  'unpriced',
  'estimated',
  'price versions',
];

function cells(t: Totals): string {
  const est =
    t.estimatedRequests === 0 ? '–' : `${int(t.estimatedRequests)} req, ${money(t.estimatedCostUsd)}`;
  return (
    `<td class="n">${int(t.requests)}</td><td class="n">${int(t.inputTokens)}</td>` +
    `<td class="n">${int(t.outputTokens)}</td><td class="n">${int(t.cachedInputTokens)}</td>` +
    `<td class="n">${money(t.costUsd)}</td><td class="n">${int(t.unpricedRequests)}</td><td class="n">${est}</td>`
  );
}

function teamSection(team: StatementTeam, by: Statement['by']): string {
  const title =
    by === 'key' ? 'Keys' : team.team === null ? 'Keys without a team' : `Team ${escapeHtml(team.team)}`;
  const rows: string[] = [];
  for (const k of team.keys) {
    rows.push(
      `<tr><th colspan="${HEAD.length}">${escapeHtml(k.name || '(unknown key)')} · ${escapeHtml(k.keyId)}</th></tr>`,
    );
    for (const l of k.lines)
      rows.push(
        `<tr class="line"><td>${escapeHtml(l.provider)}</td><td>${escapeHtml(l.model)}</td>${cells(l)}` +
          `<td>${escapeHtml(l.priceVersions.join(', ') || '–')}</td></tr>`,
      );
    rows.push(
      `<tr class="sub"><td colspan="2">Subtotal ${escapeHtml(k.name || k.keyId)}</td>${cells(k.subtotal)}<td></td></tr>`,
    );
  }
  if (by === 'team')
    rows.push(`<tr class="total"><td colspan="2">Team total</td>${cells(team.subtotal)}<td></td></tr>`);
  const head = HEAD.map((h, i) => `<th${i >= 2 && i <= 8 ? ' class="n"' : ''}>${h}</th>`).join('');
  return `<section class="team"><h2>${title}</h2><table><thead><tr>${head}</tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

/** Spend by day as bars (one per day of the month; a tooltip with the amount). */
function dayChart(s: Statement): string {
  const w = 1000;
  const h = 180;
  const left = 56;
  const bottom = 24;
  const top = Math.max(...s.byDay.map((d) => d.costUsd), 0);
  const n = s.byDay.length;
  const slot = (w - left - 8) / Math.max(1, n);
  const y = (v: number) => (top === 0 ? 0 : (v / top) * (h - bottom - 12));
  const bars = s.byDay
    .map((d, i) => {
      const bh = y(d.costUsd);
      const x = left + i * slot + 1;
      return (
        `<rect class="bar" x="${x.toFixed(1)}" y="${(h - bottom - bh).toFixed(1)}" width="${Math.max(1, slot - 2).toFixed(1)}" ` +
        `height="${bh.toFixed(1)}" fill="#0072b2"><title>${d.day}: ${money(d.costUsd)}</title></rect>` +
        (i % 5 === 0
          ? `<text x="${(x + slot / 2).toFixed(1)}" y="${h - 8}" text-anchor="middle">${d.day.slice(8)}</text>`
          : '')
      );
    })
    .join('');
  const axis =
    `<line x1="${left}" y1="${h - bottom}" x2="${w - 4}" y2="${h - bottom}" stroke="#8c959f"/>` +
    `<text x="${left - 6}" y="${h - bottom}" text-anchor="end">$0</text>` +
    `<text x="${left - 6}" y="16" text-anchor="end">${money(top)}</text>`;
  return (
    `<figure class="chart"><svg role="img" aria-label="Spend by day" viewBox="0 0 ${w} ${h}" width="100%">` +
    `${axis}${bars}</svg><figcaption>Spend by day (UTC), ${s.period.from} to ${s.period.to}</figcaption></figure>`
  );
}

function proofTable(s: Statement): string {
  const p = s.proof;
  const rows = p.providers
    .map(
      (x) =>
        `<tr><td>${escapeHtml(x.provider)}</td><td class="n">${money(x.confirmedUsd)}</td><td class="n">${money(x.driftedUsd)}` +
        `${x.driftUsd === 0 ? '' : ` (bill − ledger ${x.driftUsd >= 0 ? '+' : ''}${money(x.driftUsd)})`}</td>` +
        `<td class="n">${money(x.unverifiableUsd)}</td><td class="n">${money(x.notReconciledUsd)}</td><td>` +
        [
          ...(x.daysWithoutReport.length === 0 ? [] : [`no report: ${x.daysWithoutReport.join(', ')}`]),
          ...x.reasons.map((r) => `${r.verdict} (${r.days.join(', ')}): ${r.reason}`),
        ]
          .map(escapeHtml)
          .join('<br>') +
        '</td></tr>',
    )
    .join('');
  return (
    `<table class="proof"><thead><tr><th>provider</th><th class="n">confirmed</th><th class="n">drifted</th>` +
    `<th class="n">unverifiable</th><th class="n">not reconciled</th><th>why</th></tr></thead><tbody>${rows}` +
    `<tr class="total"><td>all providers</td><td class="n">${money(p.confirmedUsd)}</td><td class="n">${money(p.driftedUsd)}</td>` +
    `<td class="n">${money(p.unverifiableUsd)}</td><td class="n">${money(p.notReconciledUsd)}</td><td></td></tr></tbody></table>`
  );
}

function amendmentSection(a: Amendment): string {
  const rows = a.lines
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.keyId)}</td><td>${escapeHtml(l.provider)}</td><td>${escapeHtml(l.model)}</td>` +
        `<td class="n">${int(l.before.requests)} → ${int(l.after.requests)}</td>` +
        `<td class="n">${money(l.before.costUsd)} → ${money(l.after.costUsd)}</td></tr>`,
    )
    .join('');
  return (
    `<section class="amendment"><h2>Amendment</h2><p>Since this statement was issued the ledger changed (a late ` +
    `write or a replay): ${a.delta.requests >= 0 ? '+' : ''}${int(a.delta.requests)} requests, ` +
    `${a.delta.costUsd >= 0 ? '+' : ''}${money(a.delta.costUsd)}. Today's data is statement ${escapeHtml(a.number)}.</p>` +
    `<table><thead><tr><th>key</th><th>provider</th><th>model</th><th class="n">requests</th><th class="n">cost</th></tr></thead>` +
    `<tbody>${rows}</tbody></table></section>`
  );
}

export function renderStatementHtml(s: Statement, amendment?: Amendment): string {
  const t = s.total;
  const scope = s.team === undefined ? '' : ` · team ${escapeHtml(s.team)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Statement ${escapeHtml(s.number)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>Statement ${escapeHtml(s.number)}</h1>
<p class="meta">Issued by ${escapeHtml(s.issuer)} · period ${s.period.from} to ${s.period.to} (UTC)${scope}</p></header>
<table class="summary"><tbody>
<tr><td>Total cost (priced requests)</td><td class="n" id="total-cost">${money(t.costUsd)}</td></tr>
<tr><td>Requests</td><td class="n">${int(t.requests)} (${int(t.unpricedRequests)} without a price, not in the cost)</td></tr>
<tr><td>Estimated by the gateway (no usage from the upstream)</td><td class="n">${int(t.estimatedRequests)} requests, ${money(t.estimatedCostUsd)}</td></tr>
</tbody></table>
<h2>Checked against the providers' bills</h2>
${proofTable(s)}
${dayChart(s)}
${amendment === undefined ? '' : amendmentSection(amendment)}
${s.teams.map((x) => teamSection(x, s.by)).join('\n')}
</body></html>
`;
}
