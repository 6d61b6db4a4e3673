/**
 * `switchyard validate --report out.html`: the run as one self-contained page — inline CSS, inline SVG charts
 * (report-charts.ts), no script, nothing to fetch — so it can be mailed, attached to a CI run or opened
 * offline. A Content-Security-Policy of `default-src 'none'` backs up the escaping: summaries and evidence
 * carry relay bodies, and even a body that slipped through could neither run nor load anything.
 */
import {
  colorOf,
  escapeHtml,
  formatMs,
  histogram,
  type LegendItem,
  type LineSeries,
  lineChart,
  noData,
} from './report-charts.ts';
import { shownUrl, subjectLabel } from './runner.ts';
import { type CheckResult, SUITES, type SubjectReport, type Suite, type ValidateReport } from './types.ts';

export { escapeHtml } from './report-charts.ts';

/** Evidence past this is cut (a relay can answer with megabytes; the report stays readable). */
const MAX_EVIDENCE_CHARS = 16_000;

const SUITE_TITLES: Readonly<Record<Suite, string>> = {
  connectivity: 'Connectivity',
  stability: 'Stability',
  exceptions: 'Exceptions',
  billing: 'Billing',
};

/** JSON.stringify that never throws: bigints as strings, errors by name and message, cycles marked. */
export function prettyJson(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return (
      JSON.stringify(
        value,
        (_k, v: unknown) => {
          if (typeof v === 'bigint') return v.toString();
          if (v instanceof Error) return { name: v.name, message: v.message };
          if (typeof v === 'object' && v !== null) {
            if (seen.has(v)) return '[circular]';
            seen.add(v);
          }
          return v;
        },
        2,
      ) ?? String(value)
    );
  } catch (err) {
    return `[evidence not serialisable: ${err instanceof Error ? err.message : String(err)}]`;
  }
}

/** A base URL without what it must not show (the runner masks it already; a report from elsewhere too). */
const displayUrl = shownUrl;

const failedRequired = (r: SubjectReport): CheckResult[] =>
  r.checks.filter((c) => c.required && c.status === 'fail');

const count = (r: SubjectReport, status: CheckResult['status']): number =>
  r.checks.filter((c) => c.status === status).length;

const badge = (status: string, text = status): string =>
  `<span class="badge ${escapeHtml(status)}">${escapeHtml(text)}</span>`;

/** Dollars: cents for a cap, four decimals for the small sums a bounded run spends. */
const usd = (v: number): string => `$${v === 0 || v >= 1 ? v.toFixed(2) : v.toFixed(4)}`;

function caps(report: ValidateReport): string {
  const l = report.limits;
  const rows: [string, string][] = [
    ['Requests per subject', String(l.maxRequests)],
    [
      'Spend per subject',
      report.subjects.some((s) => s.subject.prices !== undefined)
        ? `$${l.maxSpendUsd.toFixed(2)}`
        : 'not priced (no --price): bounded by requests × max_tokens',
    ],
    ['max_tokens per request', String(l.maxTokens)],
    ['Concurrency ramp up to', String(l.concurrency)],
    ['Timeout per request', formatMs(l.timeoutMs)],
    ['Consistency repeats', String(l.repeats)],
    ['Rate-limit burst at most', `${l.burst} requests`],
  ];
  return (
    '<section id="caps"><h2>Caps</h2><dl class="caps">' +
    rows.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd></div>`).join('') +
    '</dl><p class="hint">An optional check that would pass a cap is skipped with the cap as its reason; a required one fails (the checklist did not complete).</p></section>'
  );
}

function verdicts(report: ValidateReport): string {
  if (report.subjects.length === 0)
    return '<section id="verdicts"><h2>Verdicts</h2><p>No subject was run.</p></section>';
  const cards = report.subjects.map((r, i) => {
    const failed = failedRequired(r);
    const ok = failed.length === 0;
    const u = r.usage;
    const why = ok
      ? 'no required check failed'
      : `required check${failed.length === 1 ? '' : 's'} failed: ${failed.map((c) => c.id).join(', ')}`;
    return (
      `<article class="card ${ok ? 'pass' : 'fail'}" data-subject="${escapeHtml(subjectLabel(r.subject))}">` +
      `<h3><span class="swatch" style="background:${colorOf(i)}"></span>${escapeHtml(subjectLabel(r.subject))}</h3>` +
      `<p class="verdict-line">${badge(ok ? 'pass' : 'fail', ok ? 'PASS' : 'FAIL')} ${escapeHtml(why)}</p>` +
      `<p class="url">${escapeHtml(displayUrl(r.subject.baseUrl))}</p>` +
      `<p>${count(r, 'pass')} passed · ${count(r, 'fail')} failed · ${count(r, 'skipped')} skipped · took ${escapeHtml(formatMs(r.ms))}</p>` +
      `<p>${u.requests} requests · ${u.inputTokens} input + ${u.outputTokens} output tokens · ` +
      `${u.costUsd === null ? 'cost: no prices configured' : `cost ${escapeHtml(usd(u.costUsd))}`}</p></article>`
    );
  });
  return `<section id="verdicts"><h2>Verdicts</h2><div class="cards">${cards.join('')}</div></section>`;
}

function cell(c: CheckResult | undefined): string {
  if (c === undefined) return `<td class="cell none">${badge('none', 'not run')}</td>`;
  const json = prettyJson(c.evidence);
  const shown =
    json.length > MAX_EVIDENCE_CHARS
      ? `${json.slice(0, MAX_EVIDENCE_CHARS)}\n… (${json.length - MAX_EVIDENCE_CHARS} more characters cut)`
      : json;
  const empty = Object.keys(c.evidence).length === 0;
  return (
    `<td class="cell ${escapeHtml(c.status)}${c.required && c.status === 'fail' ? ' required-fail' : ''}">` +
    `${badge(c.status)} <span class="summary">${escapeHtml(c.summary)}</span>` +
    `<details><summary>evidence · ${escapeHtml(formatMs(c.ms))}</summary>` +
    `${empty ? '<p class="hint">no evidence recorded</p>' : `<pre>${escapeHtml(shown)}</pre>`}</details></td>`
  );
}

/** Rows grouped by suite in the suites' order, each check once, in the order the subjects ran them. */
function checksTable(report: ValidateReport): string {
  const subjects = report.subjects;
  const byId = subjects.map((r) => new Map(r.checks.map((c) => [c.id, c])));
  const suites = [...new Set<string>([...SUITES, ...subjects.flatMap((r) => r.checks.map((c) => c.suite))])];
  const head =
    '<thead><tr><th scope="col" class="check-col">Check</th>' +
    subjects
      .map((r, i) => {
        const label = subjectLabel(r.subject);
        return `<th scope="col" class="subject-col" data-subject="${escapeHtml(label)}"><span class="swatch" style="background:${colorOf(i)}"></span>${escapeHtml(label)}</th>`;
      })
      .join('') +
    '</tr></thead>';
  const bodies = suites.flatMap((suite) => {
    const first = new Map<string, CheckResult>();
    for (const r of subjects)
      for (const c of r.checks) if (c.suite === suite && !first.has(c.id)) first.set(c.id, c);
    if (first.size === 0) return [];
    const title = SUITE_TITLES[suite as Suite] ?? suite;
    const rows = [...first.values()].map(
      (c) =>
        `<tr data-check="${escapeHtml(c.id)}"><th scope="row" class="check-col"><span class="check-title">${escapeHtml(c.title)}</span>` +
        `${c.required ? ' <span class="req" title="required: a failure fails the run">required</span>' : ''}` +
        `<code>${escapeHtml(c.id)}</code></th>${byId.map((m) => cell(m.get(c.id))).join('')}</tr>`,
    );
    return [
      `<tbody class="suite" data-suite="${escapeHtml(suite)}"><tr class="suite-row"><th colspan="${subjects.length + 1}">${escapeHtml(title)}</th></tr>${rows.join('')}</tbody>`,
    ];
  });
  return (
    '<section id="checks"><h2>Checks</h2><p class="hint"><span class="req">required</span> checks fail the run; ' +
    'open “evidence” for what was seen.</p>' +
    `<div class="table-wrap"><table class="checks">${head}${bodies.join('')}</table></div></section>`
  );
}

const pct = (v: number): string => `${Number(v.toFixed(1))}%`;

function rampCharts(report: ValidateReport): string {
  const subjects = report.subjects.map((r, i) => ({
    label: subjectLabel(r.subject),
    color: colorOf(i),
    ramp: r.samples.ramp,
  }));
  const who = (steps: number) => (steps === 0 ? '— no ramp steps' : `${steps} steps`);
  const success: LineSeries[] = subjects.map((s) => ({
    label: s.label,
    color: s.color,
    points: s.ramp.map((st) => ({
      x: st.concurrency,
      y: st.requests > 0 ? (100 * st.ok) / st.requests : null,
    })),
  }));
  const latency: LineSeries[] = subjects.flatMap((s) => [
    {
      label: `${s.label} p50`,
      color: s.color,
      points: s.ramp.map((st) => ({ x: st.concurrency, y: st.latencyP50Ms })),
    },
    {
      label: `${s.label} p95`,
      color: s.color,
      dash: '7 4',
      points: s.ramp.map((st) => ({ x: st.concurrency, y: st.latencyP95Ms })),
    },
  ]);
  const subjectLegend: LegendItem[] = subjects.map((s) => ({
    label: s.label,
    color: s.color,
    line: true,
    note: who(s.ramp.length),
  }));
  const empty = 'no subject ran the concurrency ramp (skipped, failed early, or capped).';
  const table = subjects.some((s) => s.ramp.length > 0)
    ? '<table class="ramp"><thead><tr><th>Subject</th><th>Concurrency</th><th>Requests</th><th>OK</th><th>Success</th>' +
      '<th>Latency p50</th><th>Latency p95</th><th>TTFT p50</th></tr></thead><tbody>' +
      subjects
        .flatMap((s) =>
          s.ramp.map((st) => {
            const ms = (v: number | null) => (v === null ? '—' : escapeHtml(formatMs(v)));
            return (
              `<tr><td>${escapeHtml(s.label)}</td><td>${st.concurrency}</td><td>${st.requests}</td><td>${st.ok}</td>` +
              `<td>${st.requests > 0 ? pct((100 * st.ok) / st.requests) : '—'}</td><td>${ms(st.latencyP50Ms)}</td>` +
              `<td>${ms(st.latencyP95Ms)}</td><td>${ms(st.ttftP50Ms)}</td></tr>`
            );
          }),
        )
        .join('') +
      '</tbody></table>'
    : '';
  return (
    lineChart({
      kind: 'ramp-success',
      title: 'Concurrency ramp: success rate',
      xLabel: 'concurrent requests',
      yLabel: 'success rate',
      series: success,
      legend: subjectLegend,
      yTop: 100,
      yFormat: pct,
      empty,
    }) +
    lineChart({
      kind: 'ramp-latency',
      title: 'Concurrency ramp: latency p50 (solid) and p95 (dashed)',
      xLabel: 'concurrent requests',
      yLabel: 'latency',
      series: latency,
      legend: [
        ...subjectLegend,
        { label: 'p50', color: '#555555', line: true },
        { label: 'p95', color: '#555555', dash: '7 4' },
      ],
      yFormat: formatMs,
      empty,
    }) +
    table
  );
}

function charts(report: ValidateReport): string {
  const series = (pick: (r: SubjectReport) => readonly number[]) =>
    report.subjects.map((r, i) => ({ label: subjectLabel(r.subject), color: colorOf(i), values: pick(r) }));
  const body =
    report.subjects.length === 0
      ? noData('none', 'Charts', 'no subject was run.')
      : histogram(
          'latency',
          'Latency per request',
          'latency (whole request)',
          series((r) => r.samples.latencyMs),
        ) +
        histogram(
          'ttft',
          'Time to first token (streaming)',
          'time to first token',
          series((r) => r.samples.ttftMs),
        ) +
        rampCharts(report);
  return `<section id="charts"><h2>Charts</h2>${body}</section>`;
}

const CSS = `
:root{color-scheme:light;--fg:#1d232b;--muted:#5b6573;--line:#d8dde3;--bg:#fff;--pass:#1a7f37;--fail:#c62828;--skip:#8a6d00}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:24px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:0 0 6px}
.meta{color:var(--muted);margin:4px 0}.hint{color:var(--muted);font-size:12.5px;margin:6px 0}
.run-verdict{font-size:15px;margin:10px 0}
.badge{display:inline-block;min-width:52px;text-align:center;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;text-transform:uppercase;letter-spacing:.02em}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}.badge.skipped{background:var(--skip)}.badge.none{background:#9aa3ad}
.caps{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:6px 16px;margin:0}
.caps div{border:1px solid var(--line);border-radius:6px;padding:6px 10px}.caps dt{color:var(--muted);font-size:12px}.caps dd{margin:0;font-weight:600;font-size:15px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
.card{border:1px solid var(--line);border-left:6px solid var(--pass);border-radius:6px;padding:10px 14px}.card.fail{border-left-color:var(--fail)}
.card p{margin:4px 0}.url{color:var(--muted);font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
.checks th,.checks td{border:1px solid var(--line);padding:6px 8px;vertical-align:top;text-align:left}
.checks thead th{background:#f3f5f7;position:sticky;top:0}
.check-col{width:24%;font-weight:normal}.check-col code{display:block;color:var(--muted);font-size:11.5px}
.check-title{font-weight:600}
.suite-row th{background:#e9edf1;font-size:13px;text-transform:uppercase;letter-spacing:.04em}
.req{font-size:10.5px;font-weight:700;color:#6b3fa0;border:1px solid #6b3fa0;border-radius:3px;padding:0 4px;text-transform:uppercase}
.cell.required-fail{background:#fdecec}
.summary{display:block;margin-top:3px;overflow-wrap:anywhere}
details{margin-top:4px}summary{cursor:pointer;color:var(--muted);font-size:12px}
pre{margin:4px 0 0;padding:6px;background:#f6f8fa;border-radius:4px;font-size:11.5px;max-height:320px;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere}
.chart-figure{margin:18px 0;padding:10px 12px;border:1px solid var(--line);border-radius:6px}
.chart-figure figcaption{font-weight:600;margin-bottom:6px}
.chart-wrap{overflow-x:auto}.chart{max-width:100%;height:auto;display:block;font-size:12px}
.chart text{fill:var(--fg)}.chart .tick{fill:var(--muted);font-size:11px}.chart .axis-title{font-size:12px;fill:var(--muted)}
.chart .legend-note{fill:var(--muted)}
.chart .grid{stroke:#e6e9ed;stroke-width:1}.chart .axis{stroke:#8a939e;stroke-width:1}
.no-data{color:var(--muted);font-style:italic;margin:8px 0}.chart-note{color:var(--muted);font-size:12px;margin:4px 0 0}
.ramp{font-size:12.5px;margin-top:8px}.ramp th,.ramp td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:right}
.ramp th:first-child,.ramp td:first-child{text-align:left}
footer{margin-top:32px;color:var(--muted);font-size:12px}
`;

/** The whole report as one HTML document. */
export function renderHtml(report: ValidateReport): string {
  const failed = report.subjects
    .filter((r) => failedRequired(r).length > 0)
    .map((r) => subjectLabel(r.subject));
  const verdict = report.passed ? 'passed' : 'failed';
  const tookMs = report.subjects.reduce((a, r) => a + r.ms, 0);
  const labels = report.subjects.map((r) => subjectLabel(r.subject)).join(', ');
  const title = `switchyard validate: ${verdict} — ${report.startedAt}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>switchyard validate</h1>
<p class="meta">Started ${escapeHtml(report.startedAt)} · took ${escapeHtml(formatMs(tookMs))} · ${report.subjects.length} subject${report.subjects.length === 1 ? '' : 's'}${labels === '' ? '' : `: ${escapeHtml(labels)}`}</p>
<p class="run-verdict">${badge(report.passed ? 'pass' : 'fail', report.passed ? 'PASSED' : 'FAILED')} ${
    report.passed
      ? 'no required check failed on any subject.'
      : `a required check failed on ${escapeHtml(failed.join(', '))} (the command exits 1).`
  }</p>
</header>
${caps(report)}
${verdicts(report)}
${checksTable(report)}
${charts(report)}
<footer>Written by ${escapeHtml(report.tool)}. One self-contained file: no scripts, no external resources.</footer>
</body>
</html>
`;
}
