/** @loom/cli: the `loom` command (bin: bin/loom.js, which loads dist/main.js), and its pieces for reuse. */
export { createProgram, run } from './cli.js';
export { EXIT, UsageError } from './errors.js';
export { historyChart } from './history-chart.js';
