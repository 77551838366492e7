import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import type { InteropLayer, InteropModel, InteropWeight } from '../records.js';
import { toOnnx } from './index.js';
import { maxAbsDiff, randomInputs, randomWeight, rng } from './testing.js';

// The real consumer: onnxruntime-web's wasm backend in Node runs what toOnnx writes, and agrees
// with a float64 forward pass written here from Loom's definitions of each layer.

const TOL = 1e-5;
const ROWS = 256;

/** Every activation, a Dense without bias, Dense on a 2-D sample (its last axis), a Flatten, a Dropout and a Maxout. */
function everyActivationMlp(seed: number): InteropModel {
  const next = rng(seed);
  const layers: InteropLayer[] = [];
  const weights: InteropWeight[] = [];
  let inSize = 6;
  const dense = (name: string, units: number, activation: string, extra: Record<string, unknown> = {}) => {
    const useBias = extra['useBias'] !== false;
    layers.push({ className: 'Dense', config: { name, units, activation, useBias, kernelInitializer: 'glorot_uniform', ...extra } });
    const scale = Math.sqrt(6 / (inSize + units));
    weights.push(randomWeight(next, `${name}/kernel`, [inSize, units], scale));
    if (useBias) weights.push(randomWeight(next, `${name}/bias`, [units], 0.5));
    inSize = units;
  };
  dense('dense_1', 16, 'relu'); // meets the [4, 6] sample directly: Loom's Dense applies to its last axis
  dense('dense_2', 16, 'leaky_relu'); // [4, 16]
  layers.push({ className: 'Dropout', config: { name: 'dropout_1', rate: 0.3 } });
  dense('dense_3', 3, 'elu', { useBias: false }); // [4, 3]
  layers.push({ className: 'Maxout', config: { name: 'maxout_1', units: 10, pieces: 3 } }); // flattens its [4, 3] sample
  weights.push(randomWeight(next, 'maxout_1/kernel', [12, 30], Math.sqrt(6 / 42)), randomWeight(next, 'maxout_1/bias', [30], 0.5));
  inSize = 10;
  layers.push({ className: 'Flatten', config: { name: 'flatten_1' } });
  dense('dense_4', 10, 'sigmoid');
  dense('dense_5', 10, 'tanh');
  dense('dense_6', 10, 'linear');
  layers.push({ className: 'Activation', config: { name: 'activation_1', activation: 'leaky_relu', alpha: 0.2 } });
  dense('dense_7', 10, 'softmax');
  return { name: 'every_activation', inputShape: [4, 6], layers, weights };
}

async function run(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', x, dims) });
    return out['output']!;
  } finally {
    await session.release();
  }
}

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

describe('toOnnx in onnxruntime-web', () => {
  const model = everyActivationMlp(19);
  const x = randomInputs(7, ROWS, 24);

  it(`agrees with a float64 forward pass within ${TOL} on ${ROWS} rows (every activation, Maxout, Flatten)`, async () => {
    const out = await run(toOnnx(model), x, [ROWS, 4, 6]);
    expect(out.dims).toEqual([ROWS, 10]);
    expect(out.type).toBe('float32');
    expect(maxAbsDiff(out.data as Float32Array, model, x, ROWS, 24, 10)).toBeLessThan(TOL);
  });

  it('keeps the batch dimension dynamic: one model runs batches of 1, 3, 64 and 256', async () => {
    const session = await ort.InferenceSession.create(toOnnx(model));
    try {
      for (const rows of [1, 3, 64, 256]) {
        const part = x.subarray(0, rows * 24);
        const out = (await session.run({ input: new ort.Tensor('float32', part, [rows, 4, 6]) }))['output']!;
        expect(out.dims).toEqual([rows, 10]);
        expect(maxAbsDiff(out.data as Float32Array, model, part, rows, 24, 10)).toBeLessThan(TOL);
      }
    } finally {
      await session.release();
    }
  });

  it('gives the same outputs under every opset it writes (13 to 18)', async () => {
    const rows = 32, part = x.subarray(0, rows * 24);
    for (const opset of [13, 14, 15, 16, 17, 18]) {
      const out = await run(toOnnx(model, { opset }), part, [rows, 4, 6]);
      expect(maxAbsDiff(out.data as Float32Array, model, part, rows, 24, 10), `opset ${opset}`).toBeLessThan(TOL);
    }
  });

  it('takes softmax over the last axis of a multi-dimensional sample, as Loom does', async () => {
    const m: InteropModel = {
      name: 'softmax_3d', inputShape: [3, 5],
      layers: [{ className: 'Activation', config: { name: 'act', activation: 'softmax' } }, { className: 'Flatten', config: { name: 'flat' } }],
      weights: [],
    };
    const rows = 4, part = x.subarray(0, rows * 15);
    const out = await run(toOnnx(m), part, [rows, 3, 5]);
    expect(out.dims).toEqual([rows, 15]);
    const got = out.data as Float32Array;
    for (let r = 0; r < rows * 3; r++) {
      const z = Array.from(part.subarray(r * 5, r * 5 + 5));
      const e = z.map((v) => Math.exp(v - Math.max(...z)));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < 5; j++) expect(Math.abs(got[r * 5 + j]! - e[j]! / sum)).toBeLessThan(TOL);
    }
  });

  it('runs a Maxout whose pieces win in every position, so a wrong piece layout cannot pass', async () => {
    // Piece k of unit u is x·e_k·(u + 1) scaled so that which piece wins depends on the input.
    const units = 3, pieces = 4, inSize = 4;
    const kernel = new Float32Array(inSize * units * pieces);
    for (let i = 0; i < inSize; i++) for (let u = 0; u < units; u++) for (let k = 0; k < pieces; k++) {
      kernel[i * units * pieces + u * pieces + k] = i === k ? u + 1 : 0;
    }
    const m: InteropModel = {
      name: 'maxout', inputShape: [inSize],
      layers: [{ className: 'Maxout', config: { name: 'mx', units, pieces } }],
      weights: [{ name: 'mx/kernel', shape: [inSize, units * pieces], data: kernel },
        { name: 'mx/bias', shape: [units * pieces], data: new Float32Array(units * pieces) }],
    };
    const rowsIn = new Float32Array([5, 1, 2, 3, 1, 6, 2, 3, 1, 2, 7, 3, 1, 2, 3, 8]);
    const out = await run(toOnnx(m), rowsIn, [4, inSize]);
    expect(Array.from(out.data as Float32Array)).toEqual([5, 10, 15, 6, 12, 18, 7, 14, 21, 8, 16, 24]);
    expect(maxAbsDiff(out.data as Float32Array, m, rowsIn, 4, inSize, units)).toBe(0);
  });
});
