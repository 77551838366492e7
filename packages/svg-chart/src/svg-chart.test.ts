import { describe, expect, it } from 'vitest';
import { escapeXml, niceTicks, renderCharts, renderLineChart, tickLabel } from './index.js';

describe('niceTicks', () => {
  it('covers the data with steps of 1, 2 or 5 × 10^k', () => {
    expect(niceTicks(0.23, 0.91, 5)).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.07, 2.31, 5)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(niceTicks(1, 20, 6, true)).toEqual([0, 5, 10, 15, 20]);
    expect(niceTicks(0, 0.3, 3)).toEqual([0, 0.1, 0.2, 0.3]);
  });

  it('widens a flat range instead of dividing by zero', () => {
    const t = niceTicks(0.5, 0.5);
    expect(t[0]).toBeLessThan(0.5);
    expect(t[t.length - 1]).toBeGreaterThan(0.5);
    expect(niceTicks(NaN, 1)).toEqual([0, 1]);
  });
});

describe('renderLineChart', () => {
  it('draws one polyline and a legend entry per series', () => {
    const svg = renderLineChart({
      title: 'a < b & c', xLabel: 'batch size', yLabel: 's', logX: true, logY: true,
      series: [{ name: '1 worker', points: [[1, 166], [10, 17], [100, 3], [1000, 2]] }, { name: '2 workers', points: [[1, 90], [10, 9]], dashed: true }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('a &lt; b &amp; c');
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('(log scale)');
    expect(svg).toContain('>2 workers</text>');
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('skips points a log axis cannot draw, and draws an empty chart', () => {
    const one = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', logY: true, series: [{ name: 's', points: [[1, 0], [2, 5], [3, NaN]] }] });
    expect(one.match(/<circle /g)).toHaveLength(1);
    expect(one).not.toMatch(/NaN|Infinity/);
    const none = renderLineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] });
    expect(none.startsWith('<svg')).toBe(true);
    expect(none).not.toMatch(/NaN|Infinity/);
  });

  it('starts a linear y axis at 0 unless told not to', () => {
    const spec = { title: 't', xLabel: 'seed', yLabel: '%', series: [{ name: 'acc', points: [[1, 97.4], [2, 96.9], [3, 97.7]] as [number, number][] }] };
    const tickTexts = (svg: string) => [...svg.matchAll(/>(\d+(?:\.\d+)?)<\/text>/g)].map((m) => Number(m[1]));
    expect(tickTexts(renderLineChart(spec))).toContain(0);
    const narrow = tickTexts(renderLineChart({ ...spec, yFromZero: false }));
    expect(narrow).not.toContain(0);
    expect(Math.min(...narrow.filter((v) => v > 50))).toBeGreaterThanOrEqual(96);
  });

  it('labels ticks briefly', () => {
    expect(tickLabel(50_000)).toBe('50k');
    expect(tickLabel(2_000_000)).toBe('2M');
    expect(tickLabel(0.25)).toBe('0.25');
    expect(tickLabel(0)).toBe('0');
  });
});

describe('renderCharts', () => {
  it('puts charts side by side under one heading, every point inside the picture', () => {
    const line = (name: string, ys: number[], dashed = false) => ({ name, points: ys.map((y, i) => [i + 1, y] as [number, number]), dashed });
    const svg = renderCharts([
      { title: 'loss', xLabel: 'epoch', yLabel: 'loss', series: [line('train', [0.9, 0.5, 0.3]), line('validation', [0.8, 0.6, 0.5], true)] },
      { title: 'accuracy', xLabel: 'epoch', yLabel: 'accuracy', yFromZero: false, series: [line('train', [0.7, 0.85, 0.9]), line('validation', [0.75, 0.8, 0.82], true)] },
    ], { title: 'History', width: 480, height: 320 });
    const [, width, height] = /width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
    expect(width).toBe(960);
    expect(svg.match(/<g class="panel">/g)).toHaveLength(2);
    expect(svg.match(/<polyline [^>]*stroke-dasharray/g)).toHaveLength(2);
    expect(svg.indexOf('>loss</text>')).toBeLessThan(svg.indexOf('>accuracy</text>'));
    const lines = [...svg.matchAll(/points="([^"]*)"/g)].map((m) => m[1]!.split(' ').map((p) => p.split(',').map(Number)));
    expect(lines).toHaveLength(4);
    for (const pts of lines) {
      expect(pts).toHaveLength(3);
      for (const [x, y] of pts) {
        expect(x).toBeGreaterThan(0);
        expect(x).toBeLessThan(width!);
        expect(y).toBeGreaterThan(0);
        expect(y).toBeLessThan(height!);
      }
    }
    // The second chart's points lie in the right half.
    expect(Math.min(...lines[2]!.map(([x]) => x!))).toBeGreaterThan(480);
  });
});

describe('escapeXml', () => {
  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  });
});
