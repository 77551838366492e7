import * as ort from 'onnxruntime-web';
import { loadMnist } from '@loom/data';
import { beforeAll, describe, expect, it } from 'vitest';
import type { InteropLayer, InteropModel, InteropWeight } from '../records.js';
import { toOnnx } from './index.js';
import { maxAbsDiff, randomWeight, rng } from './testing.js';

// Real MNIST test images through an exported model in onnxruntime. @loom/data is a dev
// dependency of @loom/interop, for this test only: the package itself depends on no Loom model
// or data package. The weights are seeded random, not trained: the Loom-trained model's test
// lives in @loom/loom.

const ROWS = 256;

function mnistMlp(seed: number): InteropModel {
  const next = rng(seed);
  const layers: InteropLayer[] = [{ className: 'Flatten', config: { name: 'flatten_1' } }];
  const weights: InteropWeight[] = [];
  let inSize = 784;
  const add = (className: 'Dense' | 'Maxout', name: string, config: Record<string, unknown>, width: number, outSize: number) => {
    layers.push({ className, config: { name, ...config } });
    weights.push(randomWeight(next, `${name}/kernel`, [inSize, width], Math.sqrt(6 / (inSize + width))));
    weights.push(randomWeight(next, `${name}/bias`, [width], 0.1));
    inSize = outSize;
  };
  add('Dense', 'dense_1', { units: 64, activation: 'relu' }, 64, 64);
  add('Dense', 'dense_2', { units: 48, activation: 'leaky_relu' }, 48, 48);
  layers.push({ className: 'Dropout', config: { name: 'dropout_1', rate: 0.2 } });
  add('Maxout', 'maxout_1', { units: 32, pieces: 3 }, 96, 32);
  add('Dense', 'dense_3', { units: 32, activation: 'elu' }, 32, 32);
  add('Dense', 'dense_4', { units: 24, activation: 'tanh' }, 24, 24);
  add('Dense', 'dense_5', { units: 16, activation: 'sigmoid' }, 16, 16);
  add('Dense', 'dense_6', { units: 10, activation: 'softmax' }, 10, 10);
  return { name: 'mnist_mlp', inputShape: [28, 28, 1], layers, weights };
}

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

describe('toOnnx on real MNIST test images', () => {
  it(`agrees with the float64 reference within 1e-5 on ${ROWS} test images, [n, 28, 28, 1] in NHWC`, async () => {
    const { test } = await loadMnist({ limit: 1, testLimit: ROWS, shape: 'image' });
    expect(test.x.shape).toEqual([ROWS, 28, 28, 1]);
    const model = mnistMlp(3);
    const session = await ort.InferenceSession.create(toOnnx(model));
    try {
      const out = (await session.run({ input: new ort.Tensor('float32', test.x.data, [ROWS, 28, 28, 1]) }))['output']!;
      expect(out.dims).toEqual([ROWS, 10]);
      expect(maxAbsDiff(out.data as Float32Array, model, test.x.data, ROWS, 784, 10)).toBeLessThan(1e-5);
    } finally {
      await session.release();
    }
  });
});
