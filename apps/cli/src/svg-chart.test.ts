import { describe, expect, it } from 'vitest';
import { escapeXml, historyChart, niceTicks, renderChart } from './svg-chart.js';

describe('niceTicks', () => {
  it('covers the data with steps of 1, 2 or 5 × 10^k', () => {
    expect(niceTicks(0.23, 0.91, 5)).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.07, 2.31, 5)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(niceTicks(1, 20, 6, true)).toEqual([0, 5, 10, 15, 20]);
  });

  it('widens a flat range instead of dividing by zero', () => {
    const t = niceTicks(0.5, 0.5);
    expect(t[0]).toBeLessThan(0.5);
    expect(t[t.length - 1]).toBeGreaterThan(0.5);
  });
});

describe('historyChart', () => {
  const history = { loss: [0.9, 0.5, 0.3], accuracy: [0.7, 0.85, 0.9], val_loss: [0.8, 0.6, 0.5], val_accuracy: [0.75, 0.8, 0.82] };

  it('draws a loss panel and an accuracy panel, each with train and dashed validation lines', () => {
    const svg = historyChart(history, [0, 1, 2], 'a <b> & c');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<g class="panel">/g)).toHaveLength(2);
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg.match(/<polyline [^>]*stroke-dasharray/g)).toHaveLength(2);
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg.indexOf('>loss</text>')).toBeLessThan(svg.indexOf('>accuracy</text>'));
    // Three epochs, three points per line, all inside the 960 × 352 picture.
    const points = [...svg.matchAll(/points="([^"]*)"/g)].map((m) => m[1]!.split(' ').map((p) => p.split(',').map(Number)));
    for (const line of points) {
      expect(line).toHaveLength(3);
      for (const [x, y] of line) {
        expect(x).toBeGreaterThan(0);
        expect(x).toBeLessThan(960);
        expect(y).toBeGreaterThan(0);
        expect(y).toBeLessThan(352);
      }
    }
  });

  it('leaves out non-finite values and draws a single epoch as a point', () => {
    const svg = renderChart([{ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', values: [NaN, 1, Infinity] }] }]);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(svg.match(/<circle /g)).toHaveLength(1);
  });
});

describe('escapeXml', () => {
  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  });
});
