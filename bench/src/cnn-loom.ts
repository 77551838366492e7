/**
 * Loom on the cnn suite's convnet (Keras's MNIST example) with the image layers of DESIGN.md
 * ("Image layers"): `layers.conv2d`, `layers.maxPooling2d`, `layers.flatten`, `layers.dropout`,
 * `layers.dense`. Timed as mlp.ts times the MLP (a fresh model, the clock from the end of the
 * last warm-up step to the end of the last timed step), and trained for the accuracy curve with
 * the test set as `validationData`.
 */
import { Adam, Sequential, layers, setSeed } from '@loom/loom';
import { loadMlpData, takeRows, timeModelSteps, type MlpData, type StepTiming } from './mlp.js';
import type { CnnCurve } from './cnn-torch.js';

/** MNIST as images: `[n, 28, 28, 1]` pixels, one-hot labels. */
export type CnnData = MlpData;

/** The first `trainLimit` training and `testLimit` test images, `loadMnist({ shape: 'image' })`, loaded once per process. */
export function loadCnnData(trainLimit: number, testLimit: number): Promise<CnnData> {
  return loadMlpData(trainLimit, testLimit, 'image');
}

/** Keras's MNIST convnet in Loom, seeded, compiled with Adam (1e-3, 0.9, 0.999, 1e-7) and categorical cross-entropy. */
export function buildLoomCnn(seed = 1): Sequential {
  setSeed(seed);
  const model = new Sequential();
  model.add(layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }));
  model.add(layers.maxPooling2d({ poolSize: 2 }));
  model.add(layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
  model.add(layers.maxPooling2d({ poolSize: 2 }));
  model.add(layers.flatten());
  model.add(layers.dropout({ rate: 0.5 }));
  model.add(layers.dense({ units: 10, activation: 'softmax' }));
  model.compile({
    loss: 'categorical_crossentropy',
    optimizer: new Adam({ learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }),
    metrics: ['accuracy'],
  });
  return model;
}

/** Times `steps` Loom steps of the convnet after `warmupSteps`, on `workers` workers. */
export async function timeLoomCnnSteps(data: CnnData, o: { batchSize: number; workers: number; warmupSteps: number; steps: number; seed?: number }): Promise<StepTiming> {
  return timeModelSteps(buildLoomCnn(o.seed ?? 1), data, o);
}

/**
 * Trains the convnet for `epochs` epochs on the first `samples` images with the test set as
 * `validationData` (a Keras user's `val_accuracy`), timing each epoch's training (its start to
 * its last step, so the evaluation is left out).
 */
export async function trainLoomCnn(data: CnnData, o: { batchSize: number; workers: number; epochs: number; samples: number; seed: number; onEpoch?: (epoch: number, accuracy: number, seconds: number) => void }): Promise<CnnCurve & { workers: number }> {
  const model = buildLoomCnn(o.seed);
  let epochStart = 0, lastStep = 0;
  const epochSeconds: number[] = [];
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
      onEpochEnd(epoch: number, logs?: Record<string, number>) {
        epochSeconds.push((lastStep - epochStart) / 1000);
        o.onEpoch?.(epoch + 1, logs?.val_accuracy ?? NaN, epochSeconds[epochSeconds.length - 1]!);
      },
    }],
  });
  const accuracy = history.history.val_accuracy, loss = history.history.val_loss;
  if (!accuracy || !loss || accuracy.length !== o.epochs) throw new Error(`trainLoomCnn: fit recorded ${accuracy?.length ?? 0} val_accuracy values, expected ${o.epochs}`);
  return { accuracy, loss, epochSeconds, workers: history.params.workers };
}
