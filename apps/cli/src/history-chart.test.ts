import { describe, expect, it } from 'vitest';
import { historyChart } from './history-chart.js';

describe('historyChart', () => {
  const history = { loss: [0.9, 0.5, 0.3], accuracy: [0.7, 0.85, 0.9], val_loss: [0.8, 0.6, 0.5], val_accuracy: [0.75, 0.8, 0.82] };

  it('draws a loss chart and an accuracy chart, each with train and dashed validation lines', () => {
    const svg = historyChart(history, [0, 1, 2], 'a <b> & c');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<g class="panel">/g)).toHaveLength(2);
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg.match(/<polyline [^>]*stroke-dasharray/g)).toHaveLength(2);
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg.indexOf('>loss</text>')).toBeLessThan(svg.indexOf('>accuracy</text>'));
    expect(svg).toContain('>validation accuracy</text>');
    // Epochs count from 1: the x ticks are 1, 2 and 3.
    expect(svg).toMatch(/>1<\/text>[\s\S]*>2<\/text>[\s\S]*>3<\/text>/);
  });

  it('leaves out non-finite values and draws a single epoch as a point', () => {
    const svg = historyChart({ loss: [NaN, 0.5, Infinity] }, [0, 1, 2]);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(svg.match(/<circle /g)).toHaveLength(1);
  });
});
