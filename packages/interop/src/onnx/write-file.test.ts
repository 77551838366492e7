import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { InteropModel } from '../records.js';
import { toOnnx, writeOnnxFile } from './index.js';

const model: InteropModel = {
  name: 'm', inputShape: [2],
  layers: [{ className: 'Dense', config: { name: 'd', units: 2, activation: 'relu' } }],
  weights: [
    { name: 'd/kernel', shape: [2, 2], data: new Float32Array([1, -1, 2, 0.5]) },
    { name: 'd/bias', shape: [2], data: new Float32Array([0.25, 0]) },
  ],
};

let dir = '';
beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loom-onnx-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeOnnxFile', () => {
  it('writes the bytes toOnnx returns, which onnxruntime loads from the file, and leaves no temp file', async () => {
    const path = join(dir, 'model.onnx');
    await writeOnnxFile(path, model, { opset: 15 });
    const bytes = await readFile(path);
    expect(bytes.equals(Buffer.from(toOnnx(model, { opset: 15 })))).toBe(true);
    expect(await readdir(dir)).toEqual(['model.onnx']);
    const session = await ort.InferenceSession.create(new Uint8Array(bytes));
    const out = (await session.run({ input: new ort.Tensor('float32', new Float32Array([1, 2]), [1, 2]) }))['output']!;
    expect(Array.from(out.data as Float32Array)).toEqual([5.25, 0]);
    await session.release();
  });

  it('leaves an existing file untouched when the model is refused', async () => {
    const path = join(dir, 'model.onnx');
    await writeFile(path, 'previous');
    const bad = { ...model, layers: [{ className: 'LSTM', config: { name: 'lstm' } }] };
    await expect(writeOnnxFile(path, bad)).rejects.toThrow(`layer 'lstm' (model.layers[0]) is a "LSTM" layer`);
    expect(await readFile(path, 'utf8')).toBe('previous');
    expect(await readdir(dir)).toEqual(['model.onnx']);
  });

  it('removes its temp file when the rename fails', async () => {
    // The target is a non-empty directory, so the rename over it fails after the temp file is written.
    const path = join(dir, 'taken');
    await mkdir(path);
    await writeFile(join(path, 'inside'), 'x');
    await expect(writeOnnxFile(path, model)).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['taken']);
  });
});
