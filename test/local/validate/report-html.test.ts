/** The HTML report as markup: escaping, self-containment, the checks grid, the charts and their empty states. */
import { describe, expect, it } from 'vitest';
import { prettyJson, renderHtml } from '../../../functions/local/validate/report-html.ts';
import type { CheckResult, ValidateReport } from '../../../functions/local/validate/types.ts';
import { DEFAULT_LIMITS } from '../../../functions/local/validate/types.ts';
import { CHECK_IDS, INJECTION, subjectReport, twoSubjectReport } from './report-fixture.ts';

/** Every real tag of the document (escaped text has no `<`, so this sees markup only). */
const tags = (html: string): string[] => html.match(/<[a-zA-Z][^>]*>/g) ?? [];
const tagNames = (html: string): Set<string> =>
  new Set(tags(html).map((t) => /^<([a-zA-Z][\w-]*)/.exec(t)?.[1]?.toLowerCase() ?? ''));

/** The part of the document between `<svg class="chart" data-chart="kind"` and its `</svg>`. */
function svgOf(html: string, kind: string): string {
  const start = html.indexOf(`<svg class="chart" data-chart="${kind}"`);
  if (start < 0) return '';
  return html.slice(start, html.indexOf('</svg>', start) + 6);
}

/** toContain without printing a 100 KB document when it fails. */
const has = (text: string, part: string): void => expect(text.includes(part), `missing: ${part}`).toBe(true);
const hasNot = (text: string, part: string): void =>
  expect(text.includes(part), `present: ${part}`).toBe(false);

/** A pattern test that names the pattern, not the document, when it fails. */
const matches = (text: string, re: RegExp) => expect(re.test(text), String(re));

const rowOf = (html: string, id: string): string => {
  const start = html.indexOf(`<tr data-check="${id}">`);
  return start < 0 ? '' : html.slice(start, html.indexOf('</tr>', start));
};

const ALLOWED_TAGS = new Set(
  'html head meta title style body header h1 h2 h3 p span section dl div dt dd article table thead tbody tr th td code details summary pre figure figcaption svg g rect line polyline circle text tspan footer'.split(
    ' ',
  ),
);

function hostileReport(): ValidateReport {
  const evil = `"'><b>x</b>${INJECTION}</pre></details></td></table>`;
  const c: CheckResult = {
    id: `connectivity.${evil}`,
    suite: 'connectivity',
    title: `Title ${evil}`,
    required: true,
    status: 'fail',
    summary: `relay said ${evil}`,
    evidence: { [`key ${evil}`]: evil, body: `<html><body onload="alert(1)">${evil}</body></html>` },
    ms: 10,
  };
  const r = subjectReport(`relay" onmouseover="alert(1)`, `model<script>alert(1)</script>`, [c], {
    latencyMs: [100, 200],
    ttftMs: [50],
    ramp: [{ concurrency: 1, requests: 1, ok: 1, latencyP50Ms: 100, latencyP95Ms: 100, ttftP50Ms: 50 }],
  });
  return {
    tool: 'switchyard validate',
    startedAt: `2026-11-02 ${evil}`,
    limits: DEFAULT_LIMITS,
    passed: false,
    subjects: [{ ...r, subject: { ...r.subject, baseUrl: `https://x.example/v1?q=${evil}` } }],
  };
}

describe('renderHtml', () => {
  const report = twoSubjectReport();
  const html = renderHtml(report);

  it('escapes every string that came from a relay or the command line', () => {
    const out = renderHtml(hostileReport());
    matches(out, /<script/i).toBe(false);
    matches(out, /<img/i).toBe(false);
    matches(out, /<b>/).toBe(false);
    matches(out, /<\/table><\/td>|<body onload/i).toBe(false);
    hasNot(out, 'onmouseover="');
    hasNot(out, 'onerror="');
    // Only the report's own elements exist, so nothing from the payload became markup.
    for (const name of tagNames(out)) expect(ALLOWED_TAGS, `unexpected <${name}>`).toContain(name);
    has(out, '&lt;script&gt;window.__pwned = 1&lt;/script&gt;');
    has(out, 'relay said &quot;&#39;&gt;&lt;b&gt;x&lt;/b&gt;');
    has(out, 'model&lt;script&gt;alert(1)&lt;/script&gt;');
    // The evidence keeps its payload readable, escaped inside the <pre>.
    const pre = /<pre>([\s\S]*?)<\/pre>/.exec(out)?.[1] ?? '';
    has(pre, '&lt;body onload=\\&quot;alert(1)\\&quot;&gt;');
    hasNot(pre, '<');
  });

  it('hides user-info and query values of a base URL', () => {
    const r = subjectReport('default', 'm', [], { latencyMs: [], ttftMs: [], ramp: [] });
    const out = renderHtml({
      ...twoSubjectReport(),
      subjects: [
        { ...r, subject: { ...r.subject, baseUrl: 'https://bob:hunter2@relay.example/v1?key=sk-live-123' } },
      ],
    });
    hasNot(out, 'hunter2');
    hasNot(out, 'sk-live-123');
    has(out, 'relay.example/v1?key=***');
  });

  it('references nothing outside the file', () => {
    for (const t of tags(html)) {
      expect(t, t).not.toMatch(/\b(?:src|href|xlink:href|action|srcset|poster|data)\s*=/i);
      expect(t, t).not.toMatch(/url\(/i);
      expect(t, t).not.toMatch(/https?:\/\//i);
    }
    matches(html, /<script/i).toBe(false);
    matches(html, /<link/i).toBe(false);
    matches(html, /<iframe|<object|<embed|<img/i).toBe(false);
    const css = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    expect(css.length).toBeGreaterThan(500);
    matches(css, /@import|url\(|@font-face/i).toBe(false);
    has(html, `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it('prints the title, the run time, the caps and the overall verdict', () => {
    has(html, '<title>switchyard validate: failed — 2026-11-02T09:30:00.000Z</title>');
    has(html, 'Started 2026-11-02T09:30:00.000Z · took 36.8 s · 2 subjects');
    for (const cap of [
      '<dt>Requests per subject</dt><dd>200</dd>',
      '<dt>Spend per subject</dt><dd>$0.50</dd>',
      '<dt>max_tokens per request</dt><dd>64</dd>',
      '<dt>Concurrency ramp up to</dt><dd>16</dd>',
      '<dt>Timeout per request</dt><dd>30 s</dd>',
      '<dt>Rate-limit burst at most</dt><dd>30 requests</dd>',
    ])
      has(html, cap);
    has(html, 'a required check failed on relay-b/deepseek-chat (the command exits 1).');
  });

  it('says the spend is not capped when no subject has prices', () => {
    const r = twoSubjectReport();
    const unpriced = renderHtml({
      ...r,
      subjects: r.subjects.map((s) => {
        const { prices: _prices, ...subject } = s.subject;
        return { ...s, subject };
      }),
    });
    has(
      unpriced,
      '<dt>Spend per subject</dt><dd>not priced (no --price): bounded by requests × max_tokens</dd>',
    );
  });

  it('gives each subject a verdict with the required checks that failed it', () => {
    const cards = html.match(/<article class="card (pass|fail)" data-subject="([^"]*)">/g) ?? [];
    expect(cards).toEqual([
      '<article class="card pass" data-subject="gpt-4o-mini">',
      '<article class="card fail" data-subject="relay-b/deepseek-chat">',
    ]);
    has(html, 'required checks failed: connectivity.stream, stability.ramp');
    has(html, 'cost: no prices configured');
    has(html, 'cost $0.012');
  });

  it('has one column per subject, labelled name/model or the model alone for `default`', () => {
    const head = /<thead>([\s\S]*?)<\/thead>/.exec(html)?.[1] ?? '';
    const cols = [...head.matchAll(/<th scope="col"[^>]*>(?:<span[^>]*><\/span>)?([^<]*)<\/th>/g)].map(
      (m) => m[1],
    );
    expect(cols).toEqual(['Check', 'gpt-4o-mini', 'relay-b/deepseek-chat']);
  });

  it('shows every check once, grouped by suite, a cell per subject with badge, summary and evidence', () => {
    const suites = [...html.matchAll(/<tbody class="suite" data-suite="(\w+)">/g)].map((m) => m[1]);
    expect(suites).toEqual(['connectivity', 'stability', 'exceptions', 'billing']);
    for (const id of CHECK_IDS) {
      expect(html.split(`<tr data-check="${id}">`).length - 1, id).toBe(1);
      const row = rowOf(html, id);
      expect(row.match(/<td class="cell/g)?.length, id).toBe(2);
      // The row sits in its own suite's group.
      const tbodyStart = html.lastIndexOf('<tbody class="suite" data-suite="', html.indexOf(row));
      expect(html.slice(tbodyStart, tbodyStart + 60)).toContain(`data-suite="${id.split('.')[0]}"`);
    }
    const stream = rowOf(html, 'connectivity.stream');
    has(stream, '<span class="badge pass">pass</span>');
    has(stream, '<td class="cell fail required-fail"><span class="badge fail">fail</span>');
    has(stream, '<span class="summary">14 chunks over 9 reads, TTFT 210 ms, max gap 80 ms</span>');
    has(stream, '<details><summary>evidence · 420 ms</summary><pre>{\n  &quot;status&quot;: 200,');
    has(rowOf(html, 'exceptions.balance'), '<span class="badge skipped">skipped</span>');
    has(rowOf(html, 'exceptions.balance'), 'no evidence recorded');
    // relay-b never ran billing.usage.
    has(rowOf(html, 'billing.usage'), '<td class="cell none"><span class="badge none">not run</span>');
  });

  it('marks the required checks', () => {
    for (const id of [
      'connectivity.plain',
      'connectivity.stream',
      'stability.ramp',
      'exceptions.invalid_key',
    ])
      has(rowOf(html, id), '<span class="req"');
    for (const id of [
      'connectivity.json_schema',
      'stability.consistency',
      'exceptions.balance',
      'billing.usage',
    ])
      hasNot(rowOf(html, id), '<span class="req"');
  });

  it('draws the latency and TTFT histograms with a bar series per subject, axes and a legend', () => {
    for (const kind of ['latency', 'ttft']) {
      const svg = svgOf(html, kind);
      expect(svg, kind).not.toBe('');
      const bars = [...svg.matchAll(/<rect class="mark bar" [^>]*height="([\d.]+)" fill="(#\w+)"/g)];
      expect(bars.length, kind).toBeGreaterThan(5);
      expect(bars.every((b) => Number(b[1]) > 0)).toBe(true);
      expect(new Set(bars.map((b) => b[2]))).toEqual(new Set(['#0072b2', '#d55e00']));
      expect(svg.match(/class="axis"/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
      has(svg, 'class="axis-title"');
      matches(svg, /<g class="legend-item">.*gpt-4o-mini <tspan class="legend-note">n=\d+ · p50 /).toBe(true);
      has(svg, 'relay-b/deepseek-chat <tspan');
    }
    // relay-b's two 30 s timeouts go to the overflow bar instead of squashing the rest.
    matches(svgOf(html, 'latency'), /relay-b\/deepseek-chat: 2 in &gt; [\d.]+ s/).toBe(true);
    has(html, 'The last bar counts the long tail');
  });

  it('draws the ramp: success rate and p50/p95 latency against concurrency, a line per subject', () => {
    const success = svgOf(html, 'ramp-success');
    expect(success.match(/<polyline class="mark line"/g)?.length).toBe(2);
    has(success, '>100%</text>');
    has(success, 'relay-b/deepseek-chat at 16: 62.5%');
    const latency = svgOf(html, 'ramp-latency');
    expect(latency.match(/<polyline class="mark line"/g)?.length).toBe(4);
    expect(latency.match(/stroke-dasharray="7 4" points=/g)?.length).toBe(2);
    for (const c of ['1', '4', '16']) has(latency, `text-anchor="middle">${c}</text>`);
    has(latency, '>concurrent requests</text>');
    has(html, '<table class="ramp">');
    expect(html.match(/<svg class="chart"/g)?.length).toBe(4);
  });

  it('says so when a chart has no data, and still draws the subjects that have some', () => {
    const empty = { latencyMs: [], ttftMs: [], ramp: [] };
    const none = renderHtml({
      ...report,
      subjects: [subjectReport('a', 'm1', [], empty), subjectReport('b', 'm2', [], empty)],
    });
    hasNot(none, '<svg');
    expect(none.match(/<p class="no-data">No data: /g)?.length).toBe(4);
    has(none, 'No data: no subject ran the concurrency ramp');

    const half = renderHtml({
      ...report,
      subjects: [report.subjects[0]!, subjectReport('b', 'm2', [], empty)],
    });
    expect(half.match(/<svg class="chart"/g)?.length).toBe(4);
    has(svgOf(half, 'latency'), 'b/m2 <tspan class="legend-note">— no samples</tspan>');
    has(svgOf(half, 'ramp-success'), 'b/m2 <tspan class="legend-note">— no ramp steps</tspan>');

    const nobody = renderHtml({ ...report, subjects: [], passed: true });
    has(nobody, 'No subject was run.');
    has(nobody, 'No data: no subject was run.');
  });

  it('draws one sample, equal samples and a one-step ramp without dividing by zero', () => {
    const out = renderHtml({
      ...report,
      subjects: [
        subjectReport('default', 'm', [], {
          latencyMs: [500, 500, 500],
          ttftMs: [0],
          ramp: [
            { concurrency: 1, requests: 0, ok: 0, latencyP50Ms: null, latencyP95Ms: null, ttftP50Ms: null },
          ],
        }),
      ],
    });
    matches(out, /NaN|Infinity/).toBe(false);
    has(svgOf(out, 'latency'), 'm: 3 in 500 ms');
    has(svgOf(out, 'ttft'), '<rect class="mark bar"');
    has(out, 'No data: no subject ran the concurrency ramp');
  });

  it('cuts huge evidence and survives evidence JSON cannot hold', () => {
    const big: CheckResult = {
      id: 'billing.usage',
      suite: 'billing',
      title: 'Usage',
      required: false,
      status: 'pass',
      summary: 'ok',
      evidence: { body: 'x'.repeat(50_000) },
      ms: 1,
    };
    const out = renderHtml({
      ...report,
      subjects: [subjectReport('default', 'm', [big], report.subjects[0]!.samples)],
    });
    matches(out, /… \(\d+ more characters cut\)/).toBe(true);
    expect(out.length).toBeLessThan(120_000);
    const cyclic: Record<string, unknown> = { n: 10n, err: new Error('boom') };
    cyclic.self = cyclic;
    expect(JSON.parse(prettyJson(cyclic))).toEqual({
      n: '10',
      err: { name: 'Error', message: 'boom' },
      self: '[circular]',
    });
  });
});
