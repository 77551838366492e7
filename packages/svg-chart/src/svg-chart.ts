/**
 * Line charts as standalone SVG text: axes with "nice" ticks (linear or log scale on either axis),
 * one polyline with point markers per series, a legend under each plot, and several charts side
 * by side in one picture. Written by hand because `loom train --plot` and the benchmarks need
 * only this, the files diff cleanly, and a chart library (with a DOM or canvas underneath) would
 * be most of the CLI's install size.
 */

export interface Series {
  name: string;
  /** `[x, y]` pairs; points that cannot be drawn (not finite, or ≤ 0 on a log axis) are skipped. */
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
  /** A CSS colour; by default the series' place in COLORS. */
  color?: string;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  /** A linear y axis starts at 0 unless this is false (for data in a narrow band far from 0). */
  yFromZero?: boolean;
  series: Series[];
}

export interface LayoutOptions {
  /** A heading above all the charts. */
  title?: string;
  /** Size of each chart's plot and labels in pixels, legend excluded (default 640 × 400). */
  width?: number;
  height?: number;
}

export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const MARGIN = { left: 72, right: 24, top: 40, bottom: 56 };
const LEGEND_ROW = 18;
const HEADING = 32;

/** Escapes text for SVG element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]!};`);
}

/** Short tick label: 1.5k, 20, 0.25, 1M. */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a === 0) return '0';
  return `${+v.toPrecision(3)}`;
}

interface Axis {
  log: boolean;
  min: number;
  max: number;
  ticks: number[];
}

/**
 * About `count` ticks at 1, 2 or 5 × 10^k (whole numbers when `integer`) covering [lo, hi]; the
 * first and last enclose the data, so they are also the axis limits.
 */
export function niceTicks(lo: number, hi: number, count = 5, integer = false): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const pad = integer ? 1 : Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const pow = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  if (integer) step = Math.max(1, Math.round(step));
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  // Multiplying (not accumulating) keeps 0.1-steps free of 0.30000000000000004.
  for (let i = first; i <= last; i++) ticks.push(+(i * step).toPrecision(12));
  return ticks;
}

function linearAxis(lo: number, hi: number, integer: boolean): Axis {
  const ticks = niceTicks(lo, hi, 5, integer);
  return { log: false, min: ticks[0]!, max: ticks[ticks.length - 1]!, ticks };
}

/**
 * Log ticks: over a span of up to about two decades, at 1, 2 and 5 × 10^k with the bounds at the
 * nearest such values around the data; over a wider span, at powers of ten.
 */
function logAxis(lo: number, hi: number): Axis {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  if (Math.log10(hi / lo) > 2.5 || a === b) {
    const ticks: number[] = [];
    const top = a === b ? b + 1 : b;
    for (let e = a; e <= top; e++) ticks.push(+(10 ** e).toPrecision(12));
    return { log: true, min: ticks[0]!, max: ticks[ticks.length - 1]!, ticks };
  }
  const candidates: number[] = [];
  for (let e = a; e <= b; e++) for (const m of [1, 2, 5]) candidates.push(+(m * 10 ** e).toPrecision(12));
  const min = candidates.filter((t) => t <= lo * (1 + 1e-9)).pop() ?? candidates[0]!;
  const max = candidates.find((t) => t >= hi * (1 - 1e-9)) ?? candidates[candidates.length - 1]!;
  const ticks = candidates.filter((t) => t >= min && t <= max);
  if (ticks.length < 2) return { log: true, min: 10 ** a, max: 10 ** (a + 1), ticks: [10 ** a, 10 ** (a + 1)] };
  return { log: true, min, max, ticks };
}

function drawable(v: number, log: boolean): boolean {
  return Number.isFinite(v) && (!log || v > 0);
}

function axisFor(values: number[], log: boolean, fromZero: boolean): Axis {
  if (values.length === 0) return log ? logAxis(1, 10) : linearAxis(0, 1, false);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (log) return logAxis(lo, hi);
  if (fromZero && lo > 0) lo = 0;
  if (fromZero && hi < 0) hi = 0;
  // Whole-number data (epochs, worker counts, steps) gets whole-number ticks.
  return linearAxis(lo, hi, values.every((v) => Number.isInteger(v)));
}

function legendHeight(spec: ChartSpec): number {
  return LEGEND_ROW * Math.ceil(spec.series.length / 2) + 8;
}

/** One chart's elements, in a group placed at (ox, oy), `width` × `height` plus its legend. */
function renderPanel(spec: ChartSpec, ox: number, oy: number, width: number, height: number): string[] {
  const logX = spec.logX ?? false;
  const logY = spec.logY ?? false;
  const series = spec.series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => drawable(x, logX) && drawable(y, logY)) }));
  const xAxis = axisFor(series.flatMap((s) => s.points.map((p) => p[0])), logX, false);
  const yAxis = axisFor(series.flatMap((s) => s.points.map((p) => p[1])), logY, spec.yFromZero ?? true);

  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const scale = (axis: Axis, v: number, size: number) => {
    const t = axis.log
      ? (Math.log10(v) - Math.log10(axis.min)) / (Math.log10(axis.max) - Math.log10(axis.min))
      : (v - axis.min) / (axis.max - axis.min);
    return t * size;
  };
  const x0 = ox + MARGIN.left, x1 = x0 + plotW, y0 = oy + MARGIN.top, y1 = y0 + plotH;
  const px = (x: number) => +(x0 + scale(xAxis, x, plotW)).toFixed(2);
  const py = (y: number) => +(y1 - scale(yAxis, y, plotH)).toFixed(2);

  const out: string[] = ['<g class="panel">'];
  out.push(`<text x="${ox + width / 2}" y="${oy + 22}" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`);
  for (const t of yAxis.ticks) {
    const y = py(t);
    out.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  for (const t of xAxis.ticks) {
    const x = px(t);
    out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x}" y="${y1 + 18}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  out.push(`<rect x="${x0}" y="${y0}" width="${plotW}" height="${plotH}" fill="none" stroke="#333333"/>`);
  const xTitle = spec.xLabel + (logX ? ' (log scale)' : '');
  const yTitle = spec.yLabel + (logY ? ' (log scale)' : '');
  out.push(`<text x="${x0 + plotW / 2}" y="${y1 + 40}" text-anchor="middle">${escapeXml(xTitle)}</text>`);
  out.push(`<text x="${ox + 16}" y="${y0 + plotH / 2}" text-anchor="middle" transform="rotate(-90 ${ox + 16} ${y0 + plotH / 2})">${escapeXml(yTitle)}</text>`);

  series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length]!;
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.map(([x, y]) => `${px(x)},${py(y)}`).join(' ')}"><title>${escapeXml(s.name)}</title></polyline>`);
    for (const [x, y] of pts) out.push(`<circle cx="${px(x)}" cy="${py(y)}" r="3" fill="${color}"/>`);
  });

  series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length]!;
    const lx = x0 + (i % 2) * (plotW / 2);
    const ly = oy + height + LEGEND_ROW * Math.floor(i / 2) + 4;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push('</g>');
  return out;
}

/** Charts side by side, under an optional heading, as one standalone SVG document. */
export function renderCharts(charts: ChartSpec[], options: LayoutOptions = {}): string {
  const w = options.width ?? 640;
  const h = options.height ?? 400;
  const top = options.title ? HEADING : 0;
  const width = w * Math.max(1, charts.length);
  const height = top + h + Math.max(0, ...charts.map(legendHeight));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  if (options.title) out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`);
  charts.forEach((c, i) => out.push(...renderPanel(c, i * w, top, w, h)));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** One chart as a standalone SVG document. */
export function renderLineChart(spec: ChartSpec & { width?: number; height?: number }): string {
  return renderCharts([spec], { width: spec.width, height: spec.height });
}
