import { loadMnist, toCategorical } from '@loom/data';
import { setSeed, type Tensor } from '@loom/tensor';
import { layers } from '@loom/layers';
import { Sequential } from './model.js';

/** Shared by the loom tests: a small real-MNIST subset, loaded once per file. */
export async function mnistSubset(n: number, testN = 1000): Promise<{ x: Tensor; y: Tensor; testX: Tensor; testY: Tensor; labels: Uint8Array }> {
  const { train, test } = await loadMnist({ limit: n, testLimit: testN });
  return { x: train.x, y: toCategorical(train.y, 10), testX: test.x, testY: toCategorical(test.y, 10), labels: train.y as Uint8Array };
}

/** The tutorial's MLP (optionally narrower, with dropout), seeded so weights start equal. */
export function mlp(options: { hidden?: number[]; dropout?: number; seed?: number } = {}): Sequential {
  const { hidden = [500, 500], dropout = 0, seed = 1 } = options;
  setSeed(seed);
  const model = new Sequential();
  hidden.forEach((units, i) => {
    model.add(layers.dense({ units, activation: 'relu', ...(i === 0 ? { inputShape: [784] } : {}) }));
    if (dropout > 0) model.add(layers.dropout({ rate: dropout }));
  });
  model.add(layers.dense({ units: 10, activation: 'softmax' }));
  return model;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}
