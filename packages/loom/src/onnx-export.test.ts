/**
 * onnxruntime as the real consumer of Loom's ONNX export: a Loom MLP with every activation and a
 * Maxout, trained on real MNIST, written by `interop.writeOnnxFile` from `toInteropModel`, run by
 * onnxruntime-web's wasm backend in Node; predictions within 1e-5 of Loom's on 256 test images.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOnnxFile } from '@loom/interop';
import { layers, setSeed, toInteropModel } from './index.js';
import { Sequential } from './model.js';
import { mnistSubset } from './test-helpers.js';

const N_TEST = 256;
let tmp: string;
let data: Awaited<ReturnType<typeof mnistSubset>>;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'loom-onnx-'));
  data = await mnistSubset(2000, N_TEST);
  ort.env.wasm.numThreads = 1;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ONNX export of a trained Loom model, run by onnxruntime', () => {
  it('every activation, a Maxout and dropout: onnxruntime predicts within 1e-5 of Loom, for a dynamic batch', async () => {
    setSeed(5);
    const model = new Sequential([
      layers.dense({ units: 48, activation: 'relu', inputShape: [784] }),
      layers.dense({ units: 40, activation: 'sigmoid' }),
      layers.dropout({ rate: 0.2 }),
      layers.dense({ units: 32, activation: 'tanh' }),
      layers.dense({ units: 32, activation: 'elu' }),
      layers.maxout({ units: 24, pieces: 3 }),
      layers.dense({ units: 24, activation: 'leaky_relu' }),
      layers.dense({ units: 16, activation: 'linear' }),
      layers.dense({ units: 10, activation: 'softmax' }),
    ]);
    model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    await model.fit(data.x, data.y, { batchSize: 100, epochs: 1, seed: 1, verbose: 0, workers: 1 });
    const path = join(tmp, 'mlp.onnx');
    await writeOnnxFile(path, toInteropModel(model));

    const x = data.testX.data.slice(0, N_TEST * 784);
    const want = (await model.predict(x, { workers: 1 })).data;
    const session = await ort.InferenceSession.create(readFileSync(path));
    try {
      for (const rows of [N_TEST, 7]) {
        const out = (await session.run({ input: new ort.Tensor('float32', x.subarray(0, rows * 784), [rows, 784]) }))['output']!;
        expect(out.dims).toEqual([rows, 10]);
        const got = out.data as Float32Array;
        let diff = 0;
        for (let i = 0; i < rows * 10; i++) diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
        expect(diff).toBeLessThan(1e-5);
      }
    } finally {
      await session.release();
    }
  }, 60_000);
});
