export { COLORS, escapeXml, niceTicks, renderCharts, renderLineChart, tickLabel, type ChartSpec, type LayoutOptions, type Series } from './svg-chart.js';
