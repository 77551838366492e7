/**
 * heap: what one training step allocates on the main thread's heap (issue 9: "a heap profile of
 * 100 steps shows no allocation growth per step"). An engine from `@loom/coordinator` with one
 * worker runs the step in the main thread, exactly as `fit` drives it (copy a batch into the
 * engine's input buffers, `await engine.trainStep`), for each backend. After a warm-up, the V8
 * heap's used size is read before and after a run of steps: with no GC in between, the
 * difference is what the steps allocated; after a forced GC, what they left behind.
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';
import { createEngine, type Engine } from '@loom/coordinator';
import { activeWasmBackend } from '@loom/tensor';
import { fmt, type Table } from './format.js';
import { forcedGc } from './gc.js';
import { MNIST_HIDDEN, buildMlp, loadMlpData, median, takeRows } from './mlp.js';
import { startClock, type Row, type SuiteResult, suiteResult } from './report.js';
import type { Series } from '@loom/svg-chart';

export type HeapBackend = 'js' | 'wasm';

export interface HeapConfig {
  quick: boolean;
  hidden: number[];
  batchSize: number;
  /** Training images the batches cycle through. */
  trainLimit: number;
  warmupSteps: number;
  /** Steps between the two readings. */
  steps: number;
  /** A GC inside the window spoils "allocated per step": the window is retried up to this many times. */
  attempts: number;
  backends: HeapBackend[];
  seed: number;
  log?: (line: string) => void;
}

export function heapConfig(quick: boolean): HeapConfig {
  return {
    quick,
    hidden: MNIST_HIDDEN,
    batchSize: 100,
    trainLimit: 1_000,
    warmupSteps: quick ? 10 : 20,
    steps: quick ? 30 : 100,
    attempts: quick ? 2 : 3,
    backends: ['js', 'wasm'],
    seed: 1,
  };
}

const usedHeap = () => v8.getHeapStatistics().used_heap_size;
const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 20));

/**
 * Two full collections with a turn of the event loop between: the first can leave what only
 * finalizers or pending callbacks (observer entries, timers) still held, and "retained" would
 * then come out negative.
 */
async function settle(gc: (() => void) | null): Promise<void> {
  if (!gc) return;
  gc();
  await tick();
  gc();
}

/** Counts V8 garbage collections by start time, so a window of steps can ask how many fell in it. */
class GcCounter {
  private readonly starts: number[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as PerformanceEntry[]) this.starts.push(e.startTime);
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** GCs that started in [t0, t1] (performance.now() times). Entries arrive asynchronously: await a tick first. */
  between(t0: number, t1: number): number {
    return this.starts.filter((t) => t >= t0 && t <= t1).length;
  }

  close(): void {
    this.observer.disconnect();
  }
}

interface HeapMeasurement {
  backend: HeapBackend;
  /** What the engine ran: 'wasm relaxed', 'wasm SIMD128' or 'js'. */
  kernels: string;
  attempts: number;
  gcsDuringSteps: number;
  usedBefore: number;
  usedAfter: number;
  /** (after − before) / steps, from a window with no GC; null when every attempt had one. */
  allocatedPerStep: number | null;
  /** After a forced GC, minus the reading after the forced GC before the window; null without a forced GC. */
  retainedPerStep: number | null;
  msPerStep: number;
  /** From the trace: the median increase of the heap over one step, less the median cost of one reading (robust to a GC in the trace). */
  tracedPerStep: number;
  /** Heap used after each step of a separate traced run, relative to its first reading. */
  trace: number[];
  /** The same readings with no steps in between: what reading the heap costs. */
  sampling: number[];
}

async function measureBackend(config: HeapConfig, backend: HeapBackend, gcs: GcCounter): Promise<HeapMeasurement> {
  const { gc } = forcedGc();
  const data = await loadMlpData(config.trainLimit, 100);
  const batches = Math.max(1, Math.floor(config.trainLimit / config.batchSize));
  const x = takeRows(data.x, batches * config.batchSize), y = takeRows(data.y, batches * config.batchSize);
  const fw = x.shape[1]!, lw = y.shape[1]!;
  // The batches as views made up front: a subarray per step would itself be an allocation.
  const xs = Array.from({ length: batches }, (_, b) => x.data.subarray(b * config.batchSize * fw, (b + 1) * config.batchSize * fw));
  const ys = Array.from({ length: batches }, (_, b) => y.data.subarray(b * config.batchSize * lw, (b + 1) * config.batchSize * lw));
  const model = buildMlp(config.hidden, config.seed, fw, lw);
  model.build();

  const saved = process.env.LOOM_BACKEND;
  process.env.LOOM_BACKEND = backend;
  let engine: Engine;
  try {
    engine = await createEngine({
      model, optimizer: model.optimizer!, loss: model.loss!, metrics: model.metricNames, workers: 1, maxRows: config.batchSize, labelWidth: lw,
    });
  } finally {
    if (saved === undefined) delete process.env.LOOM_BACKEND;
    else process.env.LOOM_BACKEND = saved;
  }
  const kernels = engine.backend === 'wasm' ? `wasm ${activeWasmBackend()?.relaxed ? 'relaxed' : 'SIMD128'}` : 'js';
  let step = 0;
  const run = async (n: number) => {
    for (let i = 0; i < n; i++, step++) {
      engine.x.set(xs[step % batches]!);
      engine.y.set(ys[step % batches]!);
      await engine.trainStep(config.batchSize, config.seed, step);
    }
  };
  try {
    await run(config.warmupSteps);
    let attempts = 0, gcsDuring = 0, before = 0, after = 0, retained: number | null = null, ms = 0;
    let allocated: number | null = null;
    while (attempts < config.attempts) {
      attempts++;
      await settle(gc);
      before = usedHeap();
      const t0 = performance.now();
      await run(config.steps);
      const t1 = performance.now();
      after = usedHeap();
      ms = (t1 - t0) / config.steps;
      await settle(gc);
      retained = gc ? (usedHeap() - before) / config.steps : null;
      await tick();
      gcsDuring = gcs.between(t0, t1);
      config.log?.(`heap: ${backend}, attempt ${attempts}: ${fmt(after - before)} bytes over ${config.steps} steps, ${gcsDuring} GC(s) during them`);
      if (gcsDuring === 0) {
        allocated = (after - before) / config.steps;
        break;
      }
    }
    // The trace: the heap after every step, and the same number of readings with nothing between.
    const trace = new Float64Array(config.steps + 1), sampling = new Float64Array(config.steps + 1);
    // Twice, keeping the second: the first pass also pays for compiling the loop.
    for (let pass = 0; pass < 2; pass++) {
      await settle(gc);
      for (let i = 0; i <= config.steps; i++) sampling[i] = usedHeap();
    }
    await settle(gc);
    trace[0] = usedHeap();
    for (let i = 1; i <= config.steps; i++) {
      await run(1);
      trace[i] = usedHeap();
    }
    const rel = (a: Float64Array) => Array.from(a, (v) => v - a[0]!);
    const deltas = (a: Float64Array) => Array.from(a.subarray(1), (v, i) => v - a[i]!);
    return {
      backend, kernels, attempts, gcsDuringSteps: gcsDuring, usedBefore: before, usedAfter: after,
      allocatedPerStep: allocated, retainedPerStep: retained, msPerStep: ms,
      tracedPerStep: median(deltas(trace)) - median(deltas(sampling)),
      trace: rel(trace), sampling: rel(sampling),
    };
  } finally {
    await engine.close();
  }
}

/** Runs the heap suite. */
export async function runHeap(config: HeapConfig): Promise<SuiteResult> {
  const clock = startClock();
  const { gc, source } = forcedGc();
  const gcs = new GcCounter();
  const results: HeapMeasurement[] = [];
  const skipped: string[] = [];
  try {
    for (const backend of config.backends) {
      try {
        results.push(await measureBackend(config, backend, gcs));
      } catch (e) {
        // The wasm kernels not built (LOOM_BACKEND=wasm then refuses): say so, measure the rest.
        if (backend !== 'wasm' || !/not built/.test((e as Error).message)) throw e;
        skipped.push(`${backend}: ${(e as Error).message}`);
      }
    }
  } finally {
    gcs.close();
  }
  if (results.length === 0) throw new Error(`heap: no backend could be measured (${skipped.join('; ')})`);
  const records: Row[] = results.map((r) => ({
    backend: r.backend, kernels: r.kernels, warmupSteps: config.warmupSteps, steps: config.steps, attempts: r.attempts,
    gcsDuringSteps: r.gcsDuringSteps, usedHeapBefore: r.usedBefore, usedHeapAfter: r.usedAfter,
    allocatedBytesPerStep: r.allocatedPerStep, retainedBytesPerStep: r.retainedPerStep, tracedBytesPerStep: r.tracedPerStep, msPerStep: r.msPerStep,
  }));
  const table: Table = {
    columns: ['backend', 'kernels', 'steps', 'GCs during steps', 'allocated (bytes/step)', 'retained after GC (bytes/step)', 'traced median (bytes/step)', 'heap used before (MiB)', 'ms/step'],
    rows: results.map((r) => [
      r.backend, r.kernels, String(config.steps), String(r.gcsDuringSteps),
      r.allocatedPerStep === null ? `– (GC in all ${r.attempts} tries)` : fmt(r.allocatedPerStep), fmt(r.retainedPerStep), fmt(r.tracedPerStep),
      fmt(r.usedBefore / 2 ** 20), fmt(r.msPerStep),
    ]),
  };
  const ratios: Record<string, number | null> = {};
  for (const r of results) {
    ratios[`${r.backend} allocated bytes per step`] = r.allocatedPerStep;
    ratios[`${r.backend} retained bytes per step`] = r.retainedPerStep;
    ratios[`${r.backend} traced median bytes per step`] = r.tracedPerStep;
  }
  const samplingCost = results.length ? results[0]!.sampling[config.steps]! / config.steps : 0;
  const notes = [
    `Main thread, one worker (the engine runs the step in-thread, as fit with workers: 1 does), batch ${config.batchSize}, 784-${config.hidden.join('-')}-10 with Adam; ${config.warmupSteps} warm-up steps, then ${config.steps} steps between two readings of v8.getHeapStatistics().used_heap_size. "Allocated" is their difference per step when no GC ran in between (GCs are counted with a PerformanceObserver on 'gc' entries; a window with a GC is retried, up to ${config.attempts} times).`,
    gc
      ? `"Retained" is the heap after a forced full GC minus the heap after the forced GC just before the steps, per step: what the steps left alive (GC: ${source}).`
      : '"Retained" needs a forced GC, and none was available (run with node --expose-gc).',
    `It includes the step as fit drives it: trainStep is async, so each call allocates at least its promise. The chart reads the heap after every step of another ${config.steps}; one reading itself allocates ≈${fmt(samplingCost)} bytes (the dashed line: the same readings with no step between). "Traced median" is the median rise of the heap over one step of that run less the median cost of a reading: a per-step figure that a GC in the run does not spoil.`,
    'Issue 9: "a heap profile of 100 steps shows no allocation growth per step"; printed, not asserted.',
    ...skipped.map((s) => `Not measured: ${s}.`),
  ];
  const series: Series[] = results.map((r) => ({ name: `${r.backend} (${r.kernels})`, points: r.trace.map((v, i): [number, number] => [i, v / 1024]) }));
  if (results.length) series.push({ name: 'heap readings alone', dashed: true, points: results[0]!.sampling.map((v, i): [number, number] => [i, v / 1024]) });
  return suiteResult(clock, config, {
    suite: 'heap',
    title: 'Heap: main-thread allocation per training step',
    description: `Bytes the training step allocates on the main thread's V8 heap, per backend (LOOM_BACKEND=${config.backends.join('|')} when the engine is created), measured from v8.getHeapStatistics() before and after ${config.steps} steps with no GC in between, and what remains after a forced GC.`,
    config: { gc: source },
    records,
    ratios,
    notes,
    table,
    chart: { title: 'Heap used during training steps', xLabel: 'step', yLabel: 'KiB above the first reading', series },
  });
}
