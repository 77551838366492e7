import { beforeEach, describe, expect, it } from 'vitest';
import { Random, setSeed, window2d, type Padding } from '@loom/tensor';
import { getLoss } from './losses.js';
import { layers, deserializeLayer, serializeLayer } from './registry.js';
import { Sequential } from './sequential.js';
import { checkModelGradient } from './testing.js';
import type { Layer, StepInfo } from './layer.js';

const infer: StepInfo = { training: false, seed: 0, step: 0, rowOffset: 0 };

// Initial weights come from the global generator: seeded, every test sees the same ones in any order.
beforeEach(() => setSeed(1));

function random(n: number, rng: Random): Float32Array {
  return new Float32Array(n).map(() => rng.uniform() * 2 - 1);
}

/** A direct convolution in float64, channels last, TensorFlow's padding: the reference. */
function naiveConv(
  x: Float32Array, rows: number, [h, w, c]: number[], kernel: Float32Array, bias: Float32Array, [kh, kw]: number[], f: number,
  [sh, sw]: number[], padding: Padding,
): Float64Array {
  const g = window2d(h!, w!, c!, kh!, kw!, sh!, sw!, padding);
  const out = new Float64Array(rows * g.outH * g.outW * f);
  for (let r = 0; r < rows; r++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let o = 0; o < f; o++) {
          let s = bias[o]!;
          for (let ky = 0; ky < kh!; ky++) {
            for (let kx = 0; kx < kw!; kx++) {
              const iy = oy * sh! - g.padTop + ky, ix = ox * sw! - g.padLeft + kx;
              if (iy < 0 || iy >= h! || ix < 0 || ix >= w!) continue;
              for (let ch = 0; ch < c!; ch++) s += x[((r * h! + iy) * w! + ix) * c! + ch]! * kernel[((ky * kw! + kx) * c! + ch) * f + o]!;
            }
          }
          out[((r * g.outH + oy) * g.outW + ox) * f + o] = s;
        }
      }
    }
  }
  return out;
}

/** Direct pooling in float64 (padding never counts). */
function naivePool(kind: 'max' | 'average', x: Float32Array, rows: number, [h, w, c]: number[], [ph, pw]: number[], [sh, sw]: number[], padding: Padding): Float64Array {
  const g = window2d(h!, w!, c!, ph!, pw!, sh!, sw!, padding);
  const out = new Float64Array(rows * g.outH * g.outW * c!);
  for (let r = 0; r < rows; r++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let ch = 0; ch < c!; ch++) {
          let best = -Infinity, sum = 0, n = 0;
          for (let ky = 0; ky < ph!; ky++) {
            for (let kx = 0; kx < pw!; kx++) {
              const iy = oy * sh! - g.padTop + ky, ix = ox * sw! - g.padLeft + kx;
              if (iy < 0 || iy >= h! || ix < 0 || ix >= w!) continue;
              const v = x[((r * h! + iy) * w! + ix) * c! + ch]!;
              best = Math.max(best, v);
              sum += v;
              n++;
            }
          }
          out[((r * g.outH + oy) * g.outW + ox) * c! + ch] = kind === 'max' ? best : sum / n;
        }
      }
    }
  }
  return out;
}

function run(layer: Layer, inputShape: number[], x: Float32Array, rows: number): Float32Array {
  const model = new Sequential([layer]);
  model.build(inputShape);
  return model.forward(x, rows, infer).slice(0, rows * layer.outputSize);
}

function expectClose(got: Float32Array, want: Float64Array, tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  expect(worst).toBeLessThan(tol);
}

describe('conv2d', () => {
  const cases: { shape: number[]; k: number[]; s: number[]; padding: Padding; f: number }[] = [
    { shape: [5, 6, 3], k: [3, 3], s: [1, 1], padding: 'valid', f: 4 },
    { shape: [5, 6, 3], k: [3, 3], s: [1, 1], padding: 'same', f: 4 },
    { shape: [7, 6, 2], k: [3, 2], s: [2, 2], padding: 'same', f: 3 },
    { shape: [7, 8, 2], k: [3, 2], s: [2, 1], padding: 'valid', f: 5 },
    { shape: [4, 4, 1], k: [4, 4], s: [1, 1], padding: 'same', f: 2 },
  ];

  it('matches a direct convolution (both paddings, strides 1 and 2, a non-square kernel, several channels)', () => {
    const rng = new Random(3);
    for (const { shape, k, s, padding, f } of cases) {
      const rows = 3;
      const layer = layers.conv2d({ filters: f, kernelSize: k as [number, number], strides: s as [number, number], padding });
      const x = random(rows * shape.reduce((p, d) => p * d, 1), rng);
      const model = new Sequential([layer]);
      model.build(shape);
      model.params.set(random(model.params.length, rng));
      const [kernel, bias] = model.getWeights();
      expect(kernel!.shape).toEqual([k[0], k[1], shape[2], f]);
      const got = model.forward(x, rows, infer).slice(0, rows * layer.outputSize);
      expectClose(got, naiveConv(x, rows, shape, kernel!.data, bias!.data, k, f, s, padding));
    }
  });

  it('has the gradient of finite differences (both paddings, strides 1 and 2, 3×2 kernels, several channels)', () => {
    const rng = new Random(5);
    for (const { shape, k, s, padding, f } of cases) {
      const rows = 2;
      const model = new Sequential([
        layers.conv2d({ filters: f, kernelSize: k as [number, number], strides: s as [number, number], padding, activation: 'tanh', inputShape: shape }),
        layers.conv2d({ filters: 2, kernelSize: 2, padding: 'same', activation: 'elu' }),
        layers.flatten(),
        layers.dense({ units: 3 }),
      ]);
      model.build();
      const x = random(rows * model.inputSize, rng);
      const loss = getLoss('mse');
      const { checked } = checkModelGradient(model, x, random(rows * 3, rng), rows, loss, { epsilon: 1e-2, maxChecks: 150 });
      expect(checked).toBeGreaterThan(20);
    }
  });

  it('reports Keras output shapes and parameter counts for the MNIST convnet', () => {
    const model = new Sequential([
      layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
      layers.maxPooling2d({ poolSize: 2 }),
      layers.conv2d({ filters: 64, kernelSize: [3, 3], activation: 'relu' }),
      layers.maxPooling2d({ poolSize: [2, 2] }),
      layers.flatten(),
      layers.dropout({ rate: 0.5 }),
      layers.dense({ units: 10, activation: 'softmax' }),
    ]);
    model.build();
    expect(model.layers.map((l) => l.outputShape)).toEqual([[26, 26, 32], [13, 13, 32], [11, 11, 64], [5, 5, 64], [1600], [1600], [10]]);
    expect(model.layers.map((l) => l.paramCount)).toEqual([320, 0, 18496, 0, 0, 0, 16010]);
    const summary = model.summary();
    expect(summary).toContain('(None, 26, 26, 32)');
    expect(summary).toContain('Total params: 34,826');
    expect(summary).toContain('Non-trainable params: 0');
  });
});

describe('pooling', () => {
  const cases: { shape: number[]; p: number[]; s: number[]; padding: Padding }[] = [
    { shape: [6, 6, 3], p: [2, 2], s: [2, 2], padding: 'valid' },
    { shape: [5, 7, 2], p: [2, 2], s: [2, 2], padding: 'same' },
    { shape: [5, 5, 4], p: [3, 3], s: [1, 1], padding: 'same' },
    { shape: [7, 6, 1], p: [3, 2], s: [2, 1], padding: 'valid' },
  ];

  it('matches direct max and average pooling (padding never counts)', () => {
    const rng = new Random(7);
    for (const { shape, p, s, padding } of cases) {
      const rows = 2, x = random(rows * shape.reduce((a, d) => a * d, 1), rng);
      for (const kind of ['max', 'average'] as const) {
        const config = { poolSize: p as [number, number], strides: s as [number, number], padding };
        const layer = kind === 'max' ? layers.maxPooling2d(config) : layers.averagePooling2d(config);
        expectClose(run(layer, shape, x, rows), naivePool(kind, x, rows, shape, p, s, padding), 1e-6);
      }
    }
  });

  it('global average pooling matches each channel\'s mean over the image', () => {
    const rng = new Random(9), rows = 3, shape = [4, 5, 3];
    const x = random(rows * 60, rng);
    const want = new Float64Array(rows * 3);
    for (let r = 0; r < rows; r++) for (let i = 0; i < 20; i++) for (let ch = 0; ch < 3; ch++) want[r * 3 + ch] += x[r * 60 + i * 3 + ch]! / 20;
    expectClose(run(layers.globalAveragePooling2d(), shape, x, rows), want, 1e-6);
  });

  it('have the gradient of finite differences, and so does global average pooling', () => {
    const rng = new Random(11);
    for (const { shape, p, s, padding } of cases) {
      for (const pool of [
        layers.maxPooling2d({ poolSize: p as [number, number], strides: s as [number, number], padding }),
        layers.averagePooling2d({ poolSize: p as [number, number], strides: s as [number, number], padding }),
        layers.globalAveragePooling2d(),
      ]) {
        const rows = 2;
        const model = new Sequential([
          layers.conv2d({ filters: 3, kernelSize: 2, padding: 'same', inputShape: shape }),
          pool,
          layers.flatten(),
          layers.dense({ units: 2 }),
        ]);
        model.build();
        const x = random(rows * model.inputSize, rng);
        let result;
        try {
          result = checkModelGradient(model, x, random(rows * 2, rng), rows, getLoss('mse'), { epsilon: 1e-3, maxChecks: 100 });
        } catch (e) {
          throw new Error(`${pool.className} ${JSON.stringify({ shape, p, s, padding })}: ${String(e)}`);
        }
        expect(result.checked).toBeGreaterThan(10);
      }
    }
  });
});

describe('batchNormalization', () => {
  it('normalizes with the batch statistics in training and the moving ones at inference', () => {
    const rng = new Random(13);
    const model = new Sequential([layers.batchNormalization({ inputShape: [2, 3, 4], momentum: 0.9, epsilon: 1e-3 })]);
    model.build();
    const rows = 5, n = 2 * 3 * 4, x = random(rows * n, rng).map((v, i) => v * 3 + (i % 4));
    const train: StepInfo = { training: true, seed: 0, step: 0, rowOffset: 0 };
    const y = model.forward(x, rows, train).slice(0, rows * n);
    for (let ch = 0; ch < 4; ch++) {
      let sum = 0, sq = 0, cnt = 0;
      for (let i = ch; i < rows * n; i += 4) {
        sum += x[i]!;
        sq += x[i]! * x[i]!;
        cnt++;
      }
      const mean = sum / cnt, variance = sq / cnt - mean * mean;
      for (let i = ch; i < rows * n; i += 4) expect(y[i]).toBeCloseTo((x[i]! - mean) / Math.sqrt(variance + 1e-3), 4);
    }
    // Inference uses moving_mean 0 and moving_variance 1 until training moves them.
    const inf = model.forward(x, rows, infer).slice(0, rows * n);
    for (let i = 0; i < inf.length; i++) expect(inf[i]).toBeCloseTo(x[i]! / Math.sqrt(1 + 1e-3), 5);
    expect(model.getWeights().map((w) => w.shape)).toEqual([[4], [4], [4], [4]]);
    expect(model.slots.map((s) => s.name.split('/')[1])).toEqual(['gamma', 'beta', 'moving_mean', 'moving_variance']);
    expect(model.summary()).toContain('Trainable params: 8');
    expect(model.summary()).toContain('Non-trainable params: 8');
    // The optimizer's ranges never include the moving statistics.
    expect(model.weightChunks(0, 1)).toEqual([0, 4, 4, 8]);
  });

  it('has the gradient of finite differences through the batch statistics (images and vectors)', () => {
    const rng = new Random(17);
    for (const shape of [[4, 3, 2], [5]]) {
      const rows = 4;
      const model = new Sequential([
        layers.dense({ units: 3, inputShape: shape }),
        layers.batchNormalization({ gammaInitializer: 'random_uniform' as never, betaInitializer: 'random_uniform' as never }),
        layers.activation({ activation: 'tanh' }),
        layers.flatten(),
        layers.dense({ units: 2 }),
      ]);
      model.build();
      const x = random(rows * model.inputSize, rng);
      const { checked } = checkModelGradient(model, x, random(rows * 2, rng), rows, getLoss('mse'), { training: true, epsilon: 1e-2, maxChecks: 200 });
      expect(checked).toBeGreaterThan(10);
    }
  });
});

describe('dense on images', () => {
  it('applies to the last axis of a rank-3 input, as Keras does, with the gradient of finite differences', () => {
    const rng = new Random(19);
    const dense = layers.dense({ units: 5, activation: 'tanh', inputShape: [3, 4, 2] });
    const model = new Sequential([dense, layers.flatten(), layers.dense({ units: 2 })]);
    model.build();
    expect(dense.outputShape).toEqual([3, 4, 5]);
    expect(model.getWeights()[0]!.shape).toEqual([2, 5]);
    const rows = 3, x = random(rows * model.inputSize, rng);
    checkModelGradient(model, x, random(rows * 2, rng), rows, getLoss('mse'));
  });
});

describe('image layers: configs and bad input', () => {
  it('round-trip their configs', () => {
    for (const layer of [
      layers.conv2d({ filters: 4, kernelSize: [3, 2], strides: 2, padding: 'same', activation: 'relu', useBias: false }),
      layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' }),
      layers.averagePooling2d(),
      layers.globalAveragePooling2d(),
      layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, center: false }),
    ]) {
      const again = deserializeLayer(JSON.parse(JSON.stringify(serializeLayer(layer))));
      expect(again.getConfig()).toEqual(layer.getConfig());
      expect(again.className).toBe(layer.className);
    }
  });

  it('name the layer, the option and the shapes', () => {
    const build = (l: Layer, shape: number[]) => new Sequential([l]).build(shape);
    expect(() => build(layers.conv2d({ filters: 8, kernelSize: 3, name: 'c1' }), [784])).toThrow(
      /c1: expects images \[height, width, channels\] per sample, got \[784\].*loadMnist\(\{ shape: 'image' \}\)/,
    );
    expect(() => build(layers.conv2d({ filters: 8, kernelSize: 5, name: 'c2' }), [4, 4, 1])).toThrow(/conv2d c2: a 5×5 window is larger than its 4×4 input under padding 'valid'/);
    expect(() => build(layers.maxPooling2d({ poolSize: 3, name: 'p1' }), [2, 2, 1])).toThrow(/p1: a 3×3 window is larger than its 2×2 input/);
    expect(() => build(layers.maxPooling2d({ name: 'p2' }), [6, 6])).toThrow(/p2: expects images \[height, width, channels\] per sample, got \[6, 6\]/);
    expect(() => build(layers.globalAveragePooling2d({ name: 'g' }), [6])).toThrow(/g: expects images/);
    expect(() => layers.conv2d({ filters: 0, kernelSize: 3 })).toThrow(/filters must be a positive integer, got 0/);
    expect(() => layers.conv2d({ filters: 2.5, kernelSize: 3 })).toThrow(/filters must be a positive integer, got 2.5/);
    expect(() => layers.conv2d({ filters: 2, kernelSize: -1 })).toThrow(/kernelSize must be a positive integer/);
    expect(() => layers.conv2d({ filters: 2, kernelSize: [3, 0] })).toThrow(/kernelSize must be a positive integer/);
    expect(() => layers.conv2d({ filters: 2, kernelSize: 3, strides: 0 })).toThrow(/strides must be a positive integer, got 0/);
    expect(() => layers.conv2d({ filters: 2, kernelSize: 3, padding: 'full' as never })).toThrow(/padding must be 'valid' or 'same', got "full"/);
    expect(() => layers.maxPooling2d({ poolSize: 0 })).toThrow(/poolSize must be a positive integer, got 0/);
    expect(() => layers.averagePooling2d({ poolSize: [2, 1.5] })).toThrow(/poolSize must be a positive integer, got 1.5/);
    expect(() => layers.maxPooling2d({ padding: 'causal' as never })).toThrow(/padding must be 'valid' or 'same'/);
    expect(() => layers.batchNormalization({ momentum: 2 })).toThrow(/momentum must be a number in \[0, 1\]/);
    expect(() => layers.batchNormalization({ axis: 1 })).toThrow(/axis must be -1/);
  });
});
