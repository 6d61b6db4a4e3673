/**
 * The validate report's charts as inline SVG, drawn here rather than by a chart library so the report stays
 * one file with nothing to fetch and reads without JavaScript: grouped histograms for the latency and TTFT
 * distributions, line charts for the concurrency ramp. Every string that reaches the markup goes through
 * {@link escapeHtml} — labels come from the command line and may be anything.
 */

import { escapeHtml } from '../../core/html.ts';

export { escapeHtml };

/** Okabe–Ito: told apart with the common colour-vision deficiencies, all dark enough on white. */
export const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000'] as const;
export const colorOf = (i: number): string => PALETTE[i % PALETTE.length] ?? '#000000';

/** Nearest-rank quantile of an ascending array (null when empty). */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? null;
}

const trim = (v: number, digits: number): string => String(Number(v.toFixed(digits)));

/** 812 ms, 1.41 s, 12.5 s. */
export function formatMs(v: number): string {
  if (Math.abs(v) < 1000) return `${trim(v, v < 10 ? 1 : 0)} ms`;
  return `${trim(v / 1000, Math.abs(v) < 10_000 ? 2 : 1)} s`;
}

/** 1, 2, 2.5, 5 or 10 × a power of ten, at least `raw`. */
function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const exp = 10 ** Math.floor(Math.log10(raw));
  const f = raw / exp;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * exp;
}

/** Ticks 0..top for a value axis that starts at zero; `integer` for counts. */
function valueTicks(max: number, integer: boolean): { top: number; ticks: number[] } {
  let step = niceStep(max / 5);
  if (integer) step = Math.max(1, Math.round(step));
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 1e6; v += step) ticks.push(Number(v.toPrecision(12)));
  return { top, ticks };
}

export interface LegendItem {
  readonly label: string;
  readonly color: string;
  /** A second, lighter line of the entry (sample count, percentiles). */
  readonly note?: string;
  /** Drawn as a line with this stroke-dasharray instead of a swatch. */
  readonly dash?: string;
  readonly line?: boolean;
}

const WIDTH = 960;
const M = { left: 70, right: 24, top: 14, bottom: 52 } as const;
const PLOT_H = 230;
const LEGEND_ROW = 20;

function legend(items: readonly LegendItem[], y0: number): string {
  return items
    .map((it, i) => {
      const y = y0 + i * LEGEND_ROW;
      const mark =
        it.line === true || it.dash !== undefined
          ? `<line x1="${M.left}" y1="${y + 7}" x2="${M.left + 22}" y2="${y + 7}" stroke="${it.color}" stroke-width="2.5"${it.dash === undefined ? '' : ` stroke-dasharray="${it.dash}"`}/>`
          : `<rect x="${M.left + 4}" y="${y + 1}" width="14" height="12" rx="2" fill="${it.color}"/>`;
      const note = it.note === undefined ? '' : ` <tspan class="legend-note">${escapeHtml(it.note)}</tspan>`;
      return `<g class="legend-item">${mark}<text x="${M.left + 30}" y="${y + 11.5}">${escapeHtml(it.label)}${note}</text></g>`;
    })
    .join('');
}

interface Frame {
  readonly svgOpen: string;
  readonly plotTop: number;
  readonly plotBottom: number;
  readonly plotLeft: number;
  readonly plotRight: number;
}

function frame(kind: string, title: string, items: readonly LegendItem[]): Frame {
  const legendH = items.length * LEGEND_ROW + 10;
  const plotTop = M.top + legendH;
  const height = plotTop + PLOT_H + M.bottom;
  return {
    svgOpen:
      `<svg class="chart" data-chart="${escapeHtml(kind)}" role="img" ` +
      `viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" aria-label="${escapeHtml(title)}">` +
      `<title>${escapeHtml(title)}</title>${legend(items, M.top)}`,
    plotTop,
    plotBottom: plotTop + PLOT_H,
    plotLeft: M.left,
    plotRight: WIDTH - M.right,
  };
}

/** Horizontal grid lines with their labels, the y axis and its title. */
function yAxis(f: Frame, ticks: readonly number[], top: number, label: string, fmt: (v: number) => string) {
  const y = (v: number) => f.plotBottom - (v / top) * (f.plotBottom - f.plotTop);
  const grid = ticks
    .map(
      (t) =>
        `<line class="grid" x1="${f.plotLeft}" x2="${f.plotRight}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/>` +
        `<text class="tick" x="${f.plotLeft - 8}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${escapeHtml(fmt(t))}</text>`,
    )
    .join('');
  const mid = (f.plotTop + f.plotBottom) / 2;
  return (
    `${grid}<line class="axis" x1="${f.plotLeft}" x2="${f.plotLeft}" y1="${f.plotTop}" y2="${f.plotBottom}"/>` +
    `<text class="axis-title" transform="translate(16 ${mid}) rotate(-90)" text-anchor="middle">${escapeHtml(label)}</text>`
  );
}

function xAxisLine(f: Frame, label: string): string {
  return (
    `<line class="axis" x1="${f.plotLeft}" x2="${f.plotRight}" y1="${f.plotBottom}" y2="${f.plotBottom}"/>` +
    `<text class="axis-title" x="${(f.plotLeft + f.plotRight) / 2}" y="${f.plotBottom + 42}" text-anchor="middle">${escapeHtml(label)}</text>`
  );
}

const xTick = (f: Frame, x: number, text: string): string =>
  `<line class="axis" x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${f.plotBottom}" y2="${f.plotBottom + 5}"/>` +
  `<text class="tick" x="${x.toFixed(1)}" y="${f.plotBottom + 19}" text-anchor="middle">${escapeHtml(text)}</text>`;

/** What a chart with nothing to draw shows instead: its title and why it is empty. */
export const noData = (kind: string, title: string, why: string): string =>
  `<figure class="chart-figure" data-chart="${escapeHtml(kind)}"><figcaption>${escapeHtml(title)}</figcaption>` +
  `<p class="no-data">No data: ${escapeHtml(why)}</p></figure>`;

const figure = (kind: string, title: string, svg: string, note?: string): string =>
  `<figure class="chart-figure" data-chart="${escapeHtml(kind)}"><figcaption>${escapeHtml(title)}</figcaption>` +
  `<div class="chart-wrap">${svg}</div>${note === undefined ? '' : `<p class="chart-note">${escapeHtml(note)}</p>`}</figure>`;

export interface HistogramSeries {
  readonly label: string;
  readonly color: string;
  readonly values: readonly number[];
}

/**
 * A histogram in milliseconds, the subjects' bars side by side in each bin (bins shared, so the columns
 * compare). A long tail — a timeout among sub-second answers — would squash every other bar into the first
 * bin, so values past 3× the p95 of all samples are counted in one overflow bar at the right.
 */
export function histogram(kind: string, title: string, xLabel: string, series: readonly HistogramSeries[]) {
  const clean = series.map((s) => ({
    ...s,
    values: s.values.filter((v) => Number.isFinite(v) && v >= 0).sort((a, b) => a - b),
  }));
  const all = clean.flatMap((s) => s.values).sort((a, b) => a - b);
  const min = all[0];
  const max = all.at(-1);
  if (min === undefined || max === undefined) return noData(kind, title, 'no subject recorded a sample.');
  const p95 = quantile(all, 0.95) ?? max;
  const cut = p95 > 0 && max > 3 * p95 ? p95 * 1.5 : max;
  const target = Math.min(20, Math.max(5, Math.round(Math.sqrt(all.length))));
  const step = niceStep(cut > min ? (cut - min) / target : Math.max(1, min * 0.1));
  const lo = Math.floor(min / step) * step;
  const bins = Math.max(1, Math.ceil((cut - lo) / step - 1e-9));
  const edge = lo + bins * step;
  const overflow = all.some((v) => v > edge);
  const slots = bins + (overflow ? 1.5 : 0);
  const counts = clean.map((s) => {
    const c = new Array<number>(bins + 1).fill(0);
    for (const v of s.values) {
      const i = v > edge ? bins : Math.min(bins - 1, Math.floor((v - lo) / step));
      c[i] = (c[i] ?? 0) + 1;
    }
    return c;
  });
  const { top, ticks } = valueTicks(Math.max(1, ...counts.flat()), true);
  const items: LegendItem[] = clean.map((s) => {
    const p50 = quantile(s.values, 0.5);
    const sp95 = quantile(s.values, 0.95);
    return {
      label: s.label,
      color: s.color,
      note:
        p50 === null || sp95 === null
          ? '— no samples'
          : `n=${s.values.length} · p50 ${formatMs(p50)} · p95 ${formatMs(sp95)} · max ${formatMs(s.values.at(-1) ?? 0)}`,
    };
  });
  const f = frame(kind, title, items);
  const slotW = (f.plotRight - f.plotLeft) / slots;
  const barW = (slotW * 0.86) / Math.max(1, clean.length);
  const y = (v: number) => f.plotBottom - (v / top) * (f.plotBottom - f.plotTop);
  const bars: string[] = [];
  counts.forEach((c, j) => {
    const s = clean[j];
    if (s === undefined) return;
    c.forEach((n, i) => {
      if (n === 0) return;
      const slotX = f.plotLeft + (i === bins ? bins + 0.5 : i) * slotW;
      const x = slotX + slotW * 0.07 + j * barW;
      const range =
        i === bins ? `> ${formatMs(edge)}` : `${formatMs(lo + i * step)}–${formatMs(lo + (i + 1) * step)}`;
      bars.push(
        `<rect class="mark bar" x="${x.toFixed(1)}" y="${y(n).toFixed(1)}" width="${Math.max(1, barW - 1).toFixed(1)}" ` +
          `height="${(f.plotBottom - y(n)).toFixed(1)}" fill="${s.color}"><title>${escapeHtml(`${s.label}: ${n} in ${range}`)}</title></rect>`,
      );
    });
  });
  const every = Math.ceil((bins + 1) / 11);
  const xt: string[] = [];
  for (let i = 0; i <= bins; i += 1)
    if (i % every === 0 || i === bins) xt.push(xTick(f, f.plotLeft + i * slotW, formatMs(lo + i * step)));
  if (overflow) xt.push(xTick(f, f.plotLeft + (bins + 1) * slotW, `> ${formatMs(edge)}`));
  const svg = `${f.svgOpen}${yAxis(f, ticks, top, 'samples', String)}${bars.join('')}${xAxisLine(f, xLabel)}${xt.join('')}</svg>`;
  return figure(
    kind,
    title,
    svg,
    overflow ? `The last bar counts the long tail: every sample above ${formatMs(edge)}.` : undefined,
  );
}

export interface LineSeries {
  readonly label: string;
  readonly color: string;
  readonly dash?: string;
  readonly points: readonly { readonly x: number; readonly y: number | null }[];
}

export interface LineChartSpec {
  readonly kind: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly LineSeries[];
  readonly legend: readonly LegendItem[];
  /** A fixed top of the y axis (100 for a percentage); else the data's, rounded up. */
  readonly yTop?: number;
  readonly yFormat: (v: number) => string;
  readonly empty: string;
}

/**
 * Lines over a log₂ x axis (the ramp doubles or quadruples its concurrency, so its steps fall evenly), a tick
 * at every x that has data; a null y breaks the line. Each point is a circle with its value as a tooltip.
 */
export function lineChart(spec: LineChartSpec): string {
  const xs = [...new Set(spec.series.flatMap((s) => s.points.filter((p) => p.y !== null).map((p) => p.x)))]
    .filter((x) => Number.isFinite(x) && x > 0)
    .sort((a, b) => a - b);
  const ys = spec.series.flatMap((s) => s.points.flatMap((p) => (p.y === null ? [] : [p.y])));
  const x0 = xs[0];
  const x1 = xs.at(-1);
  if (x0 === undefined || x1 === undefined || ys.length === 0)
    return noData(spec.kind, spec.title, spec.empty);
  const { top, ticks } =
    spec.yTop === undefined
      ? valueTicks(Math.max(1, ...ys), false)
      : { top: spec.yTop, ticks: [0, 0.25, 0.5, 0.75, 1].map((t) => t * (spec.yTop ?? 1)) };
  const f = frame(spec.kind, spec.title, spec.legend);
  const pad = 28;
  const span = Math.log2(x1) - Math.log2(x0);
  const px = (x: number) =>
    span === 0
      ? (f.plotLeft + f.plotRight) / 2
      : f.plotLeft + pad + ((Math.log2(x) - Math.log2(x0)) / span) * (f.plotRight - f.plotLeft - 2 * pad);
  const py = (v: number) => f.plotBottom - (Math.min(v, top) / top) * (f.plotBottom - f.plotTop);
  const marks: string[] = [];
  for (const s of spec.series) {
    const pts = s.points.filter((p) => p.x > 0).sort((a, b) => a.x - b.x);
    let run: string[] = [];
    const flush = () => {
      if (run.length >= 2)
        marks.push(
          `<polyline class="mark line" fill="none" stroke="${s.color}" stroke-width="2.5" stroke-linejoin="round"` +
            `${s.dash === undefined ? '' : ` stroke-dasharray="${s.dash}"`} points="${run.join(' ')}"/>`,
        );
      run = [];
    };
    for (const p of pts) {
      if (p.y === null) {
        flush();
        continue;
      }
      run.push(`${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`);
    }
    flush();
    for (const p of pts)
      if (p.y !== null)
        marks.push(
          `<circle class="point" cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${s.color}">` +
            `<title>${escapeHtml(`${s.label} at ${p.x}: ${spec.yFormat(p.y)}`)}</title></circle>`,
        );
  }
  const svg =
    `${f.svgOpen}${yAxis(f, ticks, top, spec.yLabel, spec.yFormat)}${marks.join('')}` +
    `${xAxisLine(f, spec.xLabel)}${xs.map((x) => xTick(f, px(x), String(x))).join('')}</svg>`;
  return figure(spec.kind, spec.title, svg);
}
