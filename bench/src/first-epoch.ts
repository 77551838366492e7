/**
 * first-epoch: how much slower a fresh process's first epoch is than its second (issue 15:
 * at most 1.1×). Each run is a new Node process that trains the MNIST MLP through `fit` for two
 * epochs on all cores (first-epoch-child.ts); the ratio of the two epoch times is taken in each
 * process, so load from elsewhere that lasts a run cancels out, and the median over runs is
 * reported.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { fmt, fmtRatio, type Table } from './format.js';
import { MNIST_HIDDEN, median } from './mlp.js';
import { startClock, type Row, type SuiteResult, suiteResult } from './report.js';

const run = promisify(execFile);

export interface FirstEpochConfig {
  quick: boolean;
  samples: number;
  hidden: number[];
  runs: number;
  log?: (line: string) => void;
}

export function firstEpochConfig(quick: boolean): FirstEpochConfig {
  return { quick, samples: quick ? 6_000 : 60_000, hidden: MNIST_HIDDEN, runs: quick ? 1 : 3 };
}

export async function runFirstEpoch(config: FirstEpochConfig): Promise<SuiteResult> {
  const clock = startClock();
  const log = config.log ?? (() => {});
  // The child runs built JavaScript; under tests (which import src/) it is in dist/.
  const here = new URL(import.meta.url);
  const child = new URL(here.pathname.endsWith('.ts') ? '../dist/first-epoch-child.js' : './first-epoch-child.js', here).pathname;
  const records: Row[] = [];
  for (let i = 0; i < config.runs; i++) {
    const { stdout } = await run(process.execPath, [child, String(config.samples), config.hidden.join(',')], { maxBuffer: 1 << 20 });
    const line = stdout.trim().split('\n').pop() ?? '';
    const parsed = JSON.parse(line) as { seconds: number[]; workers: number };
    const [first, second] = parsed.seconds as [number, number];
    records.push({ run: i + 1, workers: parsed.workers, firstS: first, secondS: second, ratio: first / second });
    log(`first-epoch: run ${i + 1}: ${fmt(first)} s then ${fmt(second)} s (${fmtRatio(first / second)})`);
  }
  const ratio = median(records.map((r) => r.ratio as number));
  const table: Table = {
    columns: ['run', 'workers', 'epoch 1 (s)', 'epoch 2 (s)', 'epoch 1 ÷ epoch 2'],
    rows: records.map((r) => [String(r.run), String(r.workers), fmt(r.firstS as number), fmt(r.secondS as number), fmtRatio(r.ratio as number)]),
  };
  return suiteResult(clock, config, {
    suite: 'first-epoch',
    title: "A fresh process's first epoch against its second",
    description: `Each run is a fresh Node process that trains the MNIST MLP (784-${config.hidden.join('-')}-10, Adam, batch 100) on ${config.samples.toLocaleString('en-US')} samples through \`fit\` for two epochs on all ${os.availableParallelism()} cores; the table has each epoch's time as a callback sees it.`,
    records,
    ratios: { 'first epoch / second epoch (median)': ratio },
    notes: [`Median over ${config.runs} fresh process(es): the first epoch takes ${fmtRatio(ratio)} the second (issue 15's target: ≤ 1.1×; printed, not asserted).`],
    table,
    chart: {
      title: 'Epoch time in a fresh process', xLabel: 'epoch', yLabel: 'seconds', yFromZero: true,
      series: records.map((r) => ({ name: `run ${r.run}`, points: [[1, r.firstS as number], [2, r.secondS as number]] as [number, number][] })),
    },
  });
}
