/**
 * TensorFlow.js as the peer users would pick instead: the pure-JS `cpu` backend of
 * `@tensorflow/tfjs` and `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD, one thread in Node).
 * Both are devDependencies of the bench package only, loaded on first use.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { stepTiming, takeRows, type MlpData, type StepTiming } from './mlp.js';

export type TfBackend = 'cpu' | 'wasm';
export type Tf = typeof TF;

let tfModule: Promise<Tf> | null = null;
let wasmReady: Promise<void> | null = null;

/** The directory of the wasm binaries, as a file path with a trailing slash (what setWasmPaths wants in Node). */
export function wasmDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
}

/** tfjs with `backend` active. */
export async function loadTf(backend: TfBackend): Promise<Tf> {
  // Production mode is what a user who cares about speed sets: it skips tfjs's debug checks
  // (and its banner asking Node users to install tfjs-node, which is not the peer measured here).
  tfModule ??= (import('@tensorflow/tfjs') as Promise<Tf>).then((tf) => {
    tf.enableProdMode();
    return tf;
  });
  const tf = await tfModule;
  if (backend === 'wasm') {
    wasmReady ??= import('@tensorflow/tfjs-backend-wasm').then((wasm) => wasm.setWasmPaths(wasmDirectory()));
    await wasmReady;
  }
  if (tf.getBackend() !== backend || !tf.findBackend(backend)) {
    const ok = await tf.setBackend(backend);
    if (!ok) throw new Error(`tfjs: backend '${backend}' failed to initialise`);
  }
  await tf.ready();
  return tf;
}

/**
 * The tutorial MLP in tfjs: dense layers with relu, softmax output, Adam at Keras's defaults.
 * With `seed`, each layer's Glorot-uniform kernel is seeded (seed, seed + 1, …).
 */
export function buildTfMlp(tf: Tf, hidden: readonly number[], inputSize: number, classes: number, seed?: number): TF.Sequential {
  const model = tf.sequential();
  const init = (i: number) => (seed === undefined ? {} : { kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }) });
  hidden.forEach((units, i) => model.add(tf.layers.dense({ units, activation: 'relu', ...init(i), ...(i === 0 ? { inputShape: [inputSize] } : {}) })));
  model.add(tf.layers.dense({ units: classes, activation: 'softmax', ...init(hidden.length), ...(hidden.length === 0 ? { inputShape: [inputSize] } : {}) }));
  model.compile({ optimizer: tf.train.adam(0.001, 0.9, 0.999, 1e-7), loss: 'categoricalCrossentropy' });
  return model;
}

/**
 * Times `steps` tfjs `trainOnBatch` calls after `warmupSteps` untimed ones, on consecutive
 * batches of `data`. Each step uploads its batch from the Float32Arrays (as Loom's step gathers
 * its batch), and `trainOnBatch` resolves only once the loss has been read back, so a step is
 * complete when the clock stops.
 */
export async function timeTfjsSteps(
  backend: TfBackend,
  data: MlpData,
  o: { hidden: readonly number[]; batchSize: number; warmupSteps: number; steps: number },
): Promise<StepTiming & { backend: TfBackend }> {
  const tf = await loadTf(backend);
  const features = data.x.shape[1]!, classes = data.y.shape[1]!;
  const total = o.warmupSteps + o.steps;
  const x = takeRows(data.x, total * o.batchSize).data;
  const y = takeRows(data.y, total * o.batchSize).data;
  const model = buildTfMlp(tf, o.hidden, features, classes);
  const ends: number[] = [];
  try {
    for (let s = 0; s < total; s++) {
      if (s === o.warmupSteps) ends.push(performance.now());
      const r = s * o.batchSize;
      const xs = tf.tensor2d(x.subarray(r * features, (r + o.batchSize) * features), [o.batchSize, features]);
      const ys = tf.tensor2d(y.subarray(r * classes, (r + o.batchSize) * classes), [o.batchSize, classes]);
      await model.trainOnBatch(xs, ys);
      xs.dispose();
      ys.dispose();
      if (s >= o.warmupSteps) ends.push(performance.now());
    }
  } finally {
    model.optimizer.dispose();
    model.dispose();
  }
  return { ...stepTiming(ends, o.batchSize, 1, o.warmupSteps, 0), backend };
}

/**
 * Trains the tutorial MLP with tfjs's own `fit` (shuffling every epoch, as Keras does; its
 * shuffle draws from Math.random, so only the initial weights follow `seed`), with the test set
 * as `validationData`: the test accuracy and loss after every epoch, and the training time
 * (each epoch from its start to its last batch, so the evaluations are left out).
 */
export async function trainTfjsCurve(
  backend: TfBackend, data: MlpData, o: { hidden: readonly number[]; batchSize: number; epochs: number; samples: number; seed: number },
): Promise<{ accuracy: number[]; loss: number[]; seconds: number }> {
  const tf = await loadTf(backend);
  const features = data.x.shape[1]!, classes = data.y.shape[1]!;
  const tensors = [
    tf.tensor2d(takeRows(data.x, o.samples).data, [o.samples, features]), tf.tensor2d(takeRows(data.y, o.samples).data, [o.samples, classes]),
    tf.tensor2d(data.testX.data, [data.testX.shape[0]!, features]), tf.tensor2d(data.testY.data, [data.testY.shape[0]!, classes]),
  ] as const;
  const model = buildTfMlp(tf, o.hidden, features, classes, o.seed);
  model.compile({ optimizer: tf.train.adam(0.001, 0.9, 0.999, 1e-7), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  let epochStart = 0, lastBatch = 0, seconds = 0;
  try {
    const h = await model.fit(tensors[0], tensors[1], {
      batchSize: o.batchSize, epochs: o.epochs, shuffle: true, verbose: 0, validationData: [tensors[2], tensors[3]],
      callbacks: {
        onEpochBegin: async () => { epochStart = performance.now(); },
        onBatchEnd: async () => { lastBatch = performance.now(); },
        onEpochEnd: async () => { seconds += (lastBatch - epochStart) / 1000; },
      },
    });
    // tfjs names the metric 'acc' or 'accuracy' depending on how it was asked for.
    const accuracy = (h.history.val_acc ?? h.history.val_accuracy) as number[] | undefined;
    const loss = h.history.val_loss as number[] | undefined;
    if (!accuracy || !loss || accuracy.length !== o.epochs) throw new Error(`trainTfjsCurve: fit recorded ${accuracy?.length ?? 0} validation accuracies, expected ${o.epochs}`);
    return { accuracy, loss, seconds };
  } finally {
    model.optimizer.dispose();
    model.dispose();
    tensors.forEach((t) => t.dispose());
  }
}
