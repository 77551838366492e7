/**
 * Line charts as standalone SVG text: axes, "nice" ticks, grid, one polyline per series, point
 * markers and a legend. Written by hand because `loom train --plot` needs only this, and a chart
 * library (with a DOM or canvas underneath) would be most of the CLI's install size.
 */

/** One line: y values at x positions (default 1, 2, 3, …). Non-finite values leave a gap. */
export interface Series {
  name: string;
  values: readonly number[];
  x?: readonly number[];
  color?: string;
  dashed?: boolean;
}

/** One plot area with its own axes. */
export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

export interface ChartOptions {
  /** Heading above the panels. */
  title?: string;
  /** Width of each panel in pixels (default 480). */
  panelWidth?: number;
  /** Height of each panel in pixels (default 320). */
  panelHeight?: number;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
const MARGIN = { left: 64, right: 16, top: 36, bottom: 48 };
const HEADING = 32;

/**
 * About `count` round tick values (steps of 1, 2 or 5 × 10^k) covering [min, max]. The first and
 * last ticks enclose the data, so they also serve as the axis limits.
 */
export function niceTicks(min: number, max: number, count = 5, integer = false): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    const pad = integer ? 1 : Math.abs(min) * 0.1 || 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  if (integer) step = Math.max(1, Math.round(step));
  const first = Math.floor(min / step + 1e-9) * step;
  const last = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  // Multiplying (not accumulating) keeps 0.1-steps free of 0.30000000000000004.
  for (let i = 0; first + i * step <= last + step * 1e-9; i++) ticks.push(roundTo(first + i * step, step));
  return ticks;
}

function roundTo(v: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(20, decimals)));
}

function formatTick(v: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(Math.min(20, decimals));
}

/** Escapes text for SVG element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]!};`);
}

const num = (v: number): string => String(Math.round(v * 100) / 100);

/** Renders panels side by side as one SVG document (a string starting with `<svg`). */
export function renderChart(panels: Panel[], options: ChartOptions = {}): string {
  const pw = options.panelWidth ?? 480;
  const ph = options.panelHeight ?? 320;
  const top = options.title ? HEADING : 0;
  const width = pw * Math.max(1, panels.length);
  const height = ph + top;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  if (options.title) out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`);
  panels.forEach((p, i) => out.push(...renderPanel(p, i * pw, top, pw, ph)));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function renderPanel(panel: Panel, ox: number, oy: number, w: number, h: number): string[] {
  const x0 = ox + MARGIN.left, x1 = ox + w - MARGIN.right;
  const y0 = oy + h - MARGIN.bottom, y1 = oy + MARGIN.top;
  const points = panel.series.map((s) => s.values.map((v, i) => [s.x?.[i] ?? i + 1, v] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const all = points.flat();
  const [xMin, xMax, xs] = xAxis(all.map((p) => p[0]));
  const ys = all.length ? niceTicks(Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1])), 5) : [0, 1];
  const [yMin, yMax] = [ys[0]!, ys[ys.length - 1]!];
  const sx = (x: number) => x0 + ((x - xMin) / (xMax - xMin)) * (x1 - x0);
  const sy = (y: number) => y0 - ((y - yMin) / (yMax - yMin)) * (y0 - y1);
  const yStep = ys.length > 1 ? ys[1]! - ys[0]! : 1;

  const out: string[] = [`<g class="panel">`];
  out.push(`<text x="${num((x0 + x1) / 2)}" y="${num(oy + 20)}" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(panel.title)}</text>`);
  for (const t of ys) {
    const y = num(sy(t));
    out.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${x0 - 5}" y1="${y}" x2="${x0}" y2="${y}" stroke="#333"/>`);
    out.push(`<text x="${x0 - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatTick(t, yStep)}</text>`);
  }
  for (const t of xs) {
    const x = num(sx(t));
    out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + 5}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${y0 + 18}" text-anchor="middle">${formatTick(t, 1)}</text>`);
  }
  out.push(`<line class="axis" x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#333"/>`);
  out.push(`<line class="axis" x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#333"/>`);
  out.push(`<text x="${num((x0 + x1) / 2)}" y="${y0 + 38}" text-anchor="middle">${escapeXml(panel.xLabel)}</text>`);
  out.push(`<text transform="translate(${ox + 16} ${num((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(panel.yLabel)}</text>`);

  const pixels = points.map((ps) => ps.map(([x, y]) => [sx(x), sy(y)] as const));
  const legendW = 24 + 6 + 7 * Math.max(0, ...panel.series.map((s) => s.name.length)) + 8;
  const legendH = 18 * panel.series.length + 6;
  const [lx, ly] = legendCorner(pixels, { x0, x1, y0, y1 }, legendW, legendH);
  panel.series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const coords = pixels[k]!.map(([x, y]) => `${num(x)},${num(y)}`);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${coords.join(' ')}"><title>${escapeXml(s.name)}</title></polyline>`);
    for (const [x, y] of pixels[k]!) out.push(`<circle cx="${num(x)}" cy="${num(y)}" r="3" fill="${color}"/>`);
    const ry = ly + 12 + k * 18;
    out.push(`<line x1="${lx + 4}" y1="${ry}" x2="${lx + 28}" y2="${ry}" stroke="${color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 34}" y="${ry}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  out.push('</g>');
  return out;
}

/** Epochs are whole numbers: the axis spans the data exactly, with ticks at round epochs (and the first, if no round one is near it). */
function xAxis(xs: number[]): [number, number, number[]] {
  let lo = xs.length ? Math.min(...xs) : 1, hi = xs.length ? Math.max(...xs) : 1;
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const nice = niceTicks(lo, hi, 6, true);
  const d = nice.length > 1 ? nice[1]! - nice[0]! : 1;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / d - 1e-9); k * d <= hi + 1e-9; k++) ticks.push(k * d);
  if (ticks.length === 0 || ticks[0]! - lo > d / 2) ticks.unshift(lo);
  return [lo, hi, ticks];
}

/** The plot corner (top right, bottom right, top left, bottom left) whose legend box covers the fewest line pixels. */
function legendCorner(lines: (readonly (readonly [number, number])[])[], area: { x0: number; x1: number; y0: number; y1: number }, w: number, h: number): [number, number] {
  const pad = 6;
  const corners: [number, number][] = [
    [area.x1 - w - pad, area.y1 + pad], [area.x1 - w - pad, area.y0 - h - pad],
    [area.x0 + pad, area.y1 + pad], [area.x0 + pad, area.y0 - h - pad],
  ];
  // Sample each segment, so a line crossing the box between two points still counts.
  const samples: [number, number][] = [];
  for (const ps of lines) {
    for (let i = 0; i < ps.length; i++) {
      const [ax, ay] = ps[i]!, [bx, by] = ps[i + 1] ?? ps[i]!;
      for (let t = 0; t < 1; t += 0.05) samples.push([ax + (bx - ax) * t, ay + (by - ay) * t]);
    }
  }
  let best = corners[0]!, fewest = Infinity;
  for (const c of corners) {
    const n = samples.filter(([x, y]) => x >= c[0] && x <= c[0] + w && y >= c[1] && y <= c[1] + h).length;
    if (n < fewest) [best, fewest] = [c, n];
  }
  return best;
}

/**
 * The `--plot` chart of a training History: one panel per quantity (loss, then accuracy, then
 * any other metric), each with its training line and, when present, the dashed validation line.
 * `epochs` are History's 0-based epoch numbers; the chart counts from 1, as the progress bar does.
 */
export function historyChart(history: Readonly<Record<string, readonly number[]>>, epochs: readonly number[], title = 'Training history'): string {
  const names = Object.keys(history).filter((k) => !k.startsWith('val_'));
  names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const x = epochs.map((e) => e + 1);
  const panels: Panel[] = names.map((name) => {
    const series: Series[] = [{ name: `train ${name}`, values: history[name]!, x, color: PALETTE[0] }];
    const val = history[`val_${name}`];
    if (val) series.push({ name: `validation ${name}`, values: val, x, color: PALETTE[1], dashed: true });
    return { title: name, xLabel: 'epoch', yLabel: name, series };
  });
  return renderChart(panels, { title });
}

function rank(name: string): number {
  return name === 'loss' ? 0 : name === 'accuracy' ? 1 : 2;
}
