/**
 * The workload every training benchmark shares: the Keras tutorial's MNIST MLP
 * (784-500-500-10, relu/softmax, Adam, categorical cross-entropy), and how Loom is timed on it.
 */
import { Sequential, Tensor, layers, loadMnist, setSeed, toCategorical } from '@loom/loom';
import { compileWasmKernels, requestedBackend } from '@loom/tensor';

export const MNIST_HIDDEN = [500, 500];

/**
 * The kernels `fit` will use, as the engines choose them: LOOM_BACKEND=js forces JS; otherwise
 * wasm where the kernels load (relaxed SIMD where the runtime has it), else JS.
 */
export function loomKernelsLabel(): string {
  const choice = requestedBackend();
  if (choice === 'js') return 'JS kernels';
  const compiled = compileWasmKernels();
  if (!compiled) return 'JS kernels';
  return compiled.relaxed ? 'wasm relaxed-SIMD kernels' : 'wasm SIMD128 kernels';
}

/** MNIST as the benchmarks use it: pixels (flat rows, or `[n, 28, 28, 1]` images), one-hot labels. */
export interface MlpData {
  x: Tensor;
  y: Tensor;
  testX: Tensor;
  testY: Tensor;
}

const dataCache = new Map<string, Promise<MlpData>>();

/**
 * The first `trainLimit` training and `testLimit` test images of MNIST, loaded once per process
 * and shape: flat rows for the MLP suites, images for the convnet (`loadMnist`'s `shape`).
 */
export function loadMlpData(trainLimit: number, testLimit: number, shape: 'flat' | 'image' = 'flat'): Promise<MlpData> {
  const key = `${trainLimit}/${testLimit}/${shape}`;
  let p = dataCache.get(key);
  if (!p) {
    p = loadMnist({ shape, limit: trainLimit, testLimit }).then(({ train, test }) => ({
      x: train.x,
      y: toCategorical(train.y, 10),
      testX: test.x,
      testY: toCategorical(test.y, 10),
    }));
    dataCache.set(key, p);
  }
  return p;
}

/** The MLP with the given hidden widths, seeded weights, compiled with Adam. */
export function buildMlp(hidden: readonly number[], seed = 1, inputSize = 784, classes = 10): Sequential {
  setSeed(seed);
  const model = new Sequential();
  hidden.forEach((units, i) => model.add(layers.dense({ units, activation: 'relu', ...(i === 0 ? { inputShape: [inputSize] } : {}) })));
  model.add(layers.dense({ units: classes, activation: 'softmax', ...(hidden.length === 0 ? { inputShape: [inputSize] } : {}) }));
  model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
  return model;
}

/**
 * The first `n` rows of `t`: a view when there are enough, else the rows repeated (so a tiny test
 * dataset can still feed a timing run of many steps).
 */
export function takeRows(t: Tensor, n: number): Tensor {
  const rows = t.shape[0]!;
  const width = t.data.length / rows;
  if (n <= rows) return new Tensor(t.data.subarray(0, n * width), [n, ...t.shape.slice(1)]);
  const out = new Float32Array(n * width);
  for (let r = 0; r < n; r += rows) out.set(t.data.subarray(0, Math.min(rows, n - r) * width), r * width);
  return new Tensor(out, [n, ...t.shape.slice(1)]);
}

/** How long training steps took, after a warm-up. */
export interface StepTiming {
  batchSize: number;
  /** Workers that ran (fit may use fewer than asked: the coordinator's usefulWorkers). */
  workers: number;
  warmupSteps: number;
  steps: number;
  /** Mean over the timed steps: what an epoch costs per step. */
  msPerStep: number;
  medianMsPerStep: number;
  samplesPerSec: number;
  /** From the `fit` call to its first batch: starting threads and checking the data. Not in msPerStep. */
  startupMs: number;
  /** Each timed step, in order. */
  stepMs: number[];
}

export interface LoomTimingOptions {
  hidden: readonly number[];
  batchSize: number;
  workers: number;
  warmupSteps: number;
  steps: number;
  seed?: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Summarises step end times (ms) into a timing; `ends[0]` is the start of the first timed step. */
export function stepTiming(ends: readonly number[], batchSize: number, workers: number, warmupSteps: number, startupMs: number): StepTiming {
  const stepMs: number[] = [];
  for (let i = 1; i < ends.length; i++) stepMs.push(+(ends[i]! - ends[i - 1]!).toFixed(4));
  const steps = stepMs.length;
  const msPerStep = (ends[ends.length - 1]! - ends[0]!) / steps;
  return {
    batchSize, workers, warmupSteps, steps, msPerStep, medianMsPerStep: median(stepMs),
    samplesPerSec: (batchSize * 1000) / msPerStep, startupMs, stepMs,
  };
}

/**
 * Times `steps` Loom training steps after `warmupSteps` untimed ones (JIT, caches, thread
 * start-up), on the first (warm-up + steps) × batch samples of `data`, with a fresh model.
 * The clock runs from the end of the last warm-up step to the end of the last timed step, so
 * the threads' start-up per `fit` is excluded (it is reported apart as `startupMs`).
 */
export async function timeLoomSteps(data: MlpData, o: LoomTimingOptions): Promise<StepTiming> {
  return timeModelSteps(buildMlp(o.hidden, o.seed ?? 1, data.x.shape[1], data.y.shape[1]), data, o);
}

/**
 * `timeLoomSteps` for any compiled model (the cnn suite's convnet too): `fit` on the first
 * (warm-up + steps) batches of `data`, stopped after the last timed step.
 */
export async function timeModelSteps(
  model: Sequential, data: { x: Tensor; y: Tensor }, o: { batchSize: number; workers: number; warmupSteps: number; steps: number; seed?: number },
): Promise<StepTiming> {
  const total = o.warmupSteps + o.steps;
  const x = takeRows(data.x, total * o.batchSize);
  const y = takeRows(data.y, total * o.batchSize);
  const ends: number[] = [];
  let trainBegin = 0;
  const called = performance.now();
  await model.fit(x, y, {
    batchSize: o.batchSize, epochs: 1, workers: o.workers, seed: o.seed ?? 1, verbose: 0,
    callbacks: [{
      onTrainBegin() {
        trainBegin = performance.now();
        if (o.warmupSteps === 0) ends.push(trainBegin);
      },
      onBatchEnd(b: number) {
        if (b >= o.warmupSteps - 1) ends.push(performance.now());
        if (b >= total - 1) model.stopTraining = true;
      },
    }],
  });
  if (ends.length < 2) throw new Error(`timing: fit ran ${ends.length} timed steps, expected ${o.steps}`);
  return stepTiming(ends, o.batchSize, model.trainingHistory.params.workers, o.warmupSteps, trainBegin - called);
}

/** One configuration to time: its batch size, worker count, and steps before and during timing. */
export interface TimingPlan {
  batchSize: number;
  workers: number;
  warmupSteps: number;
  steps: number;
}

/**
 * Times every plan `repeats` times, round-robin over the plans, so a burst of load from another
 * process spoils one repeat of one plan rather than every repeat of it. Returns each plan's
 * timings in run order (the same order as `plans`); `onTiming` sees each as it comes.
 */
export async function timeInterleaved(
  data: MlpData, plans: readonly TimingPlan[], o: { hidden: readonly number[]; seed: number; repeats: number },
  onTiming: (t: StepTiming, plan: TimingPlan, repeat: number) => void = () => {},
): Promise<StepTiming[][]> {
  const runs: StepTiming[][] = plans.map(() => []);
  for (let rep = 0; rep < o.repeats; rep++) {
    for (const [i, plan] of plans.entries()) {
      const t = await timeLoomSteps(data, { ...plan, hidden: o.hidden, seed: o.seed });
      onTiming(t, plan, rep);
      runs[i]!.push(t);
    }
  }
  return runs;
}

/** The fastest of a plan's repeats. */
export function fastest(timings: readonly StepTiming[]): StepTiming {
  return timings.reduce((a, b) => (b.msPerStep < a.msPerStep ? b : a));
}

/** Loss and accuracy on the test set. */
export async function testAccuracy(model: Sequential, data: MlpData): Promise<{ loss: number; accuracy: number }> {
  const [loss, accuracy] = await model.evaluate(data.testX, data.testY, { batchSize: 1000 });
  return { loss: loss!, accuracy: accuracy! };
}

export interface TrainOutcome {
  steps: number;
  samples: number;
  seconds: number;
  loss: number;
  accuracy: number;
}

/**
 * Trains a fresh model on `data.x` until `budgetS` seconds have passed (from the first step, so
 * thread start-up is not charged), then measures test accuracy.
 */
export async function trainForBudget(data: MlpData, o: { hidden: readonly number[]; batchSize: number; workers: number; budgetS: number; seed?: number }): Promise<TrainOutcome> {
  const model = buildMlp(o.hidden, o.seed ?? 1, data.x.shape[1], data.y.shape[1]);
  const rows = data.x.shape[0]!;
  let t0 = 0, t1 = 0, steps = 0, samples = 0;
  await model.fit(data.x, data.y, {
    batchSize: o.batchSize, epochs: 1_000_000, workers: o.workers, seed: o.seed ?? 1, verbose: 0,
    callbacks: [{
      onTrainBegin() {
        t0 = performance.now();
      },
      onBatchEnd(b: number) {
        steps++;
        samples += Math.min(o.batchSize, rows - b * o.batchSize);
        t1 = performance.now();
        if (t1 - t0 >= o.budgetS * 1000) model.stopTraining = true;
      },
    }],
  });
  return { steps, samples, seconds: (t1 - t0) / 1000, ...(await testAccuracy(model, data)) };
}

/** Trains a fresh model for `epochs` epochs on the first `samples` training images, then measures test accuracy. */
export async function trainEpochs(data: MlpData, o: { hidden: readonly number[]; batchSize: number; workers: number; epochs: number; samples: number; seed?: number }): Promise<TrainOutcome> {
  const model = buildMlp(o.hidden, o.seed ?? 1, data.x.shape[1], data.y.shape[1]);
  const x = takeRows(data.x, o.samples);
  const y = takeRows(data.y, o.samples);
  let t0 = 0, t1 = 0, steps = 0;
  await model.fit(x, y, {
    batchSize: o.batchSize, epochs: o.epochs, workers: o.workers, seed: o.seed ?? 1, verbose: 0,
    callbacks: [{
      onTrainBegin() {
        t0 = performance.now();
      },
      onBatchEnd() {
        steps++;
        t1 = performance.now();
      },
    }],
  });
  return { steps, samples: o.samples * o.epochs, seconds: (t1 - t0) / 1000, ...(await testAccuracy(model, data)) };
}

/** Test accuracy and loss after every epoch of one training run, and its training time. */
export interface TrainCurve {
  accuracy: number[];
  loss: number[];
  /** Training only: each epoch from its start to its last step, the test evaluations left out. */
  seconds: number;
}

/**
 * Trains a fresh model for `epochs` epochs on the first `samples` training images with the test
 * set as `validationData`, as a Keras user follows the tutorial's curve: `val_accuracy` and
 * `val_loss` after every epoch are the test accuracy and loss.
 */
export async function trainCurve(data: MlpData, o: { hidden: readonly number[]; batchSize: number; workers: number; epochs: number; samples: number; seed: number }): Promise<TrainCurve> {
  const model = buildMlp(o.hidden, o.seed, data.x.shape[1], data.y.shape[1]);
  let epochStart = 0, lastStep = 0, seconds = 0;
  const history = await model.fit(takeRows(data.x, o.samples), takeRows(data.y, o.samples), {
    batchSize: o.batchSize, epochs: o.epochs, workers: o.workers, seed: o.seed, verbose: 0,
    validationData: [data.testX, data.testY],
    callbacks: [{
      onEpochBegin() {
        epochStart = performance.now();
      },
      onBatchEnd() {
        lastStep = performance.now();
      },
      onEpochEnd() {
        seconds += (lastStep - epochStart) / 1000;
      },
    }],
  });
  const accuracy = history.history.val_accuracy, loss = history.history.val_loss;
  if (!accuracy || !loss || accuracy.length !== o.epochs) throw new Error(`trainCurve: fit recorded ${accuracy?.length ?? 0} val_accuracy values, expected ${o.epochs}`);
  return { accuracy, loss, seconds };
}
