import { COLORS, renderCharts, type ChartSpec, type Series } from '@loom/svg-chart';

/**
 * The `--plot` chart of a training History: one chart per quantity (loss, then accuracy, then
 * any other metric), each with its training line and, when present, the dashed validation line.
 * `epochs` are History's 0-based epoch numbers; the chart counts from 1, as the progress bar does.
 */
export function historyChart(history: Readonly<Record<string, readonly number[]>>, epochs: readonly number[], title = 'Training history'): string {
  const names = Object.keys(history).filter((k) => !k.startsWith('val_'));
  names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const points = (values: readonly number[]) => values.map((v, i) => [epochs[i]! + 1, v] as const);
  const charts: ChartSpec[] = names.map((name) => {
    const series: Series[] = [{ name: `train ${name}`, points: points(history[name]!), color: COLORS[0] }];
    const val = history[`val_${name}`];
    if (val) series.push({ name: `validation ${name}`, points: points(val), color: COLORS[1], dashed: true });
    // Curves that settle far from 0 (accuracy near 1) keep their detail.
    return { title: name, xLabel: 'epoch', yLabel: name, yFromZero: false, series };
  });
  return renderCharts(charts, { title, width: 480, height: 320 });
}

function rank(name: string): number {
  return name === 'loss' ? 0 : name === 'accuracy' ? 1 : 2;
}
