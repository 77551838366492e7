/**
 * scaling: samples per second against the number of workers (1..cores) for the MNIST MLP, with
 * the speedup over one worker. Worker counts are measured interleaved (1, 2, …, 1, 2, …) and the
 * best of the repeats is kept, so a burst of load from another process hurts one repeat, not one
 * worker count.
 */
import os from 'node:os';
import { fmt, fmtPercent, fmtRatio, type Table } from './format.js';
import { MNIST_HIDDEN, loadMlpData, timeInterleaved, type StepTiming, type TimingPlan } from './mlp.js';
import { startClock, type Row, type SuiteResult, suiteResult } from './report.js';
import { COLORS, type Series } from '@loom/svg-chart';

export interface ScalingConfig {
  quick: boolean;
  batchSizes: number[];
  workers: number[];
  hidden: number[];
  trainLimit: number;
  /** Timed samples per measurement (at least `minSteps` steps). */
  timedSamples: number;
  minSteps: number;
  /**
   * Samples trained before timing starts (at least one step). Fresh worker threads run their
   * first ~50 steps 10–40% slower (every phase of the step, for a reason not pinned down; not
   * wasm tier-up: --no-liftoff changes nothing), and a 600-step epoch is dominated by the
   * steady state, which is what this suite measures.
   */
  warmupSamples: number;
  repeats: number;
  seed: number;
  log?: (line: string) => void;
}

export function scalingConfig(quick: boolean): ScalingConfig {
  const cores = os.availableParallelism();
  return {
    quick,
    batchSizes: [100, 1000],
    workers: Array.from({ length: cores }, (_, i) => i + 1),
    hidden: MNIST_HIDDEN,
    trainLimit: quick ? 3_000 : 10_000,
    timedSamples: quick ? 1_000 : 3_000,
    minSteps: quick ? 2 : 3,
    warmupSamples: quick ? 1_000 : 5_000,
    repeats: quick ? 1 : 3,
    seed: 1,
  };
}

/** Runs the scaling suite. */
export async function runScaling(config: ScalingConfig): Promise<SuiteResult> {
  const clock = startClock();
  const log = config.log ?? (() => {});
  const data = await loadMlpData(config.trainLimit, 100);
  const plans: TimingPlan[] = config.batchSizes.flatMap((batchSize) => config.workers.map((workers) => ({
    batchSize, workers,
    steps: Math.max(config.minSteps, Math.ceil(config.timedSamples / batchSize)),
    warmupSteps: Math.max(1, Math.ceil(config.warmupSamples / batchSize)),
  })));
  const timings = await timeInterleaved(data, plans, config, (t, { batchSize, workers }, rep) =>
    log(`scaling: batch ${batchSize}, ${workers} worker(s), repeat ${rep + 1}: ${fmt(t.samplesPerSec)} samples/s`));
  const runs = new Map<string, StepTiming[]>();
  const key = (bs: number, w: number) => `${bs}/${w}`;
  plans.forEach((p, i) => runs.set(key(p.batchSize, p.workers), timings[i]!));

  const records: Row[] = [];
  const ratios: Record<string, number | null> = {};
  for (const batchSize of config.batchSizes) {
    const best = (w: number) => Math.max(...runs.get(key(batchSize, w))!.map((t) => t.samplesPerSec));
    const first = config.workers[0]!;
    const base = best(first);
    for (const workers of config.workers) {
      const ts = runs.get(key(batchSize, workers))!;
      const sps = best(workers);
      const speedup = sps / base;
      const threads = ts[0]!.workers;
      records.push({
        batchSize, workers, threads,
        samplesPerSec: sps,
        msPerStep: (batchSize * 1000) / sps,
        speedup,
        // Per thread that ran, against the first count's rate per thread.
        efficiency: (sps / threads) / (base / runs.get(key(batchSize, first))![0]!.workers),
        repeats: ts.length,
        samplesPerSecRuns: ts.map((t) => +t.samplesPerSec.toFixed(2)),
        timedSteps: ts[0]!.steps,
      });
      if (workers !== first) ratios[`batch ${batchSize}: ${workers} workers vs ${first}`] = speedup;
    }
  }
  const table: Table = {
    columns: ['batch', 'workers', 'threads', 'samples/s', 'ms/step', 'speedup', 'efficiency'],
    rows: records.map((r) => [String(r.batchSize), String(r.workers), String(r.threads), fmt(r.samplesPerSec as number), fmt(r.msPerStep as number), fmtRatio(r.speedup as number), fmtPercent(r.efficiency as number)]),
  };
  const notes: string[] = [];
  const two = ratios[`batch 100: 2 workers vs 1`], twoLarge = ratios[`batch 1000: 2 workers vs 1`];
  if (two !== undefined) {
    notes.push(`2 workers over 1: ${fmtRatio(two)} at batch 100${twoLarge !== undefined ? `, ${fmtRatio(twoLarge)} at batch 1000` : ''} (issue 15's targets on 2 cores: ≥ 1.8× and ≥ 1.9×; printed, not asserted).`);
  }
  if (records.some((r) => r.threads !== r.workers)) notes.push('threads: the workers fit ran, where a batch keeps fewer busy than asked (the coordinator\'s usefulWorkers gives each at least 8M parameters × rows of work).');
  notes.push(`Speedup is over the first worker count in the same run; best of ${config.repeats} interleaved repeat(s), each timing ≈${config.timedSamples.toLocaleString('en-US')} samples after ≈${config.warmupSamples.toLocaleString('en-US')} warm-up samples (at least one step; thread start-up excluded).`);
  const cores = os.availableParallelism();
  if (config.workers.some((w) => w > cores)) notes.push(`More workers than the ${cores} available cores are oversubscribed: expect a slowdown there.`);

  const chartSeries: Series[] = config.batchSizes.map((bs) => ({
    name: `batch ${bs}`,
    points: records.filter((r) => r.batchSize === bs).map((r): [number, number] => [r.workers as number, r.samplesPerSec as number]),
  }));
  config.batchSizes.forEach((bs, i) => {
    const r1 = records.find((r) => r.batchSize === bs);
    if (!r1) return;
    const per = (r1.samplesPerSec as number) / (r1.workers as number);
    chartSeries[i]!.color = COLORS[i % COLORS.length];
    chartSeries.push({ name: `linear scaling, batch ${bs}`, points: config.workers.map((w): [number, number] => [w, per * w]), dashed: true, color: COLORS[i % COLORS.length] });
  });
  return suiteResult(clock, config, {
    suite: 'scaling',
    title: 'Scaling: samples per second vs workers',
    description: `The MNIST MLP (784-${config.hidden.join('-')}-10, Adam) trained with 1..${Math.max(...config.workers)} workers: every mini-batch is split across the workers, gradients are all-reduced in shared memory, and each worker applies Adam to its chunk of the parameters.`,
    records,
    ratios,
    notes,
    table,
    chart: { title: 'Training throughput vs workers', xLabel: 'workers', yLabel: 'samples per second', series: chartSeries },
  });
}
