/**
 * Convnets through the real consumers: Loom-trained models with every image layer exported to
 * TensorFlow.js (`tf.loadLayersModel`) and ONNX (onnxruntime-web), each predicting within 1e-5
 * of Loom on 256 real MNIST test images; and a convnet built, trained and saved by tfjs itself,
 * read by `loadModel`, predicting within 1e-5 of tfjs and training on with `fit`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InteropError, writeOnnxFile } from '@loom/interop';
import { loadMnist, toCategorical } from '@loom/data';
import { Tensor as TensorClass } from '@loom/tensor';
import { layers, setSeed, toInteropModel, type Tensor } from './index.js';
import { loadModel } from './checkpointing.js';
import { Sequential } from './model.js';
import { maxAbsDiff } from './test-helpers.js';

const N_TEST = 256;
const PIXELS = 28 * 28;
let tmp: string;
let data: { x: Tensor; y: Tensor; testX: Float32Array };

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'loom-conv-export-'));
  const { train, test } = await loadMnist({ shape: 'image', limit: 512, testLimit: N_TEST });
  data = { x: train.x, y: toCategorical(train.y, 10), testX: test.x.data.slice(0, N_TEST * PIXELS) };
  await tf.setBackend('cpu');
  ort.env.wasm.numThreads = 1;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** tfjs's loader over a folder on disk: model.json and every shard it names, concatenated in order. */
function fileHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: tf.io.WeightsManifestConfig };
      const all = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p)))));
      return { modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) };
    },
  };
}

/** tfjs's saver into a folder: model.json with one shard, as `tensorflowjs_converter` lays it out. */
function saveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (a) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'group1-shard1of1.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      writeFileSync(join(dir, 'model.json'), JSON.stringify({
        format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy ?? null, modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }],
      }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  };
}

async function tfPredict(model: tf.LayersModel, x: Float32Array): Promise<Float32Array> {
  const input = tf.tensor4d(x, [x.length / PIXELS, 28, 28, 1]);
  const out = model.predict(input) as tf.Tensor;
  const values = (await out.data()) as Float32Array;
  input.dispose();
  out.dispose();
  return values;
}

async function ortPredict(path: string, x: Float32Array, rows: number): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(readFileSync(path));
  try {
    return (await session.run({ input: new ort.Tensor('float32', x.subarray(0, rows * PIXELS), [rows, 28, 28, 1]) }))['output']!;
  } finally {
    await session.release();
  }
}

/** Loom takes the test images as [n, 28, 28, 1]. */
function images(x: Float32Array): Tensor {
  return new TensorClass(x.slice(), [x.length / PIXELS, 28, 28, 1]);
}

function classesPredicted(p: Float32Array): number {
  const rows = p.length / 10;
  return new Set(Array.from({ length: rows }, (_, i) => { let b = 0; for (let j = 1; j < 10; j++) if (p[i * 10 + j]! > p[i * 10 + b]!) b = j; return b; })).size;
}

/**
 * Keras-style: Conv2D valid and same (stride 2, so 'same' pads an odd row and column at the
 * bottom/right), BatchNormalization, MaxPooling2D, AveragePooling2D 'same' (a padded window
 * whose padding must not count), a leaky_relu (a LeakyReLU layer in tfjs), Flatten, Dropout, Dense.
 */
function convnet(): Sequential {
  setSeed(11);
  return new Sequential([
    layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }), // 26×26×8
    layers.batchNormalization({ momentum: 0.8 }),
    layers.maxPooling2d({ poolSize: 2 }), // 13×13×8
    layers.conv2d({ filters: 12, kernelSize: 3, strides: 2, padding: 'same', activation: 'leaky_relu' }), // 7×7×12
    layers.averagePooling2d({ poolSize: 2, padding: 'same' }), // 4×4×12
    layers.flatten(),
    layers.dropout({ rate: 0.25 }),
    layers.dense({ units: 10, activation: 'softmax' }),
  ], { name: 'convnet' });
}

/** The second model: GlobalAveragePooling2D, a BatchNormalization without scale, a non-square kernel, tanh. */
function gapNet(): Sequential {
  setSeed(12);
  return new Sequential([
    layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', inputShape: [28, 28, 1] }), // 14×14×8
    layers.batchNormalization({ momentum: 0.8, scale: false }),
    layers.conv2d({ filters: 16, kernelSize: [3, 2], activation: 'tanh' }), // 12×13×16
    layers.globalAveragePooling2d(),
    layers.dense({ units: 10, activation: 'softmax' }),
  ], { name: 'gap_net' });
}

describe.each([
  ['convnet', convnet, ['Conv2D', 'BatchNormalization', 'MaxPooling2D', 'Conv2D', 'LeakyReLU', 'AveragePooling2D', 'Flatten', 'Dropout', 'Dense']],
  ['gap_net', gapNet, ['Conv2D', 'BatchNormalization', 'Conv2D', 'GlobalAveragePooling2D', 'Dense']],
] as const)('a Loom-trained %s exported to TensorFlow.js and ONNX', (name, build, tfClasses) => {
  let model: Sequential;
  let want: Float32Array;

  beforeAll(async () => {
    model = build();
    model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    await model.fit(data.x, data.y, { epochs: 1, batchSize: 64, workers: 1, verbose: 0, seed: 1 });
    want = (await model.predict(images(data.testX), { workers: 1 })).data;
  }, 120_000);

  it('has trained, non-trivial moving statistics in its BatchNormalization', () => {
    const bn = model.slots.filter((s) => /moving_(mean|variance)$/.test(s.name));
    expect(bn).toHaveLength(2);
    const mean = model.params.subarray(bn[0]!.offset, bn[0]!.offset + bn[0]!.size);
    const variance = model.params.subarray(bn[1]!.offset, bn[1]!.offset + bn[1]!.size);
    expect(Math.max(...Array.from(mean, Math.abs))).toBeGreaterThan(0.01);
    expect(Array.from(variance).some((v) => Math.abs(v - 1) > 0.01)).toBe(true);
    expect(classesPredicted(want)).toBeGreaterThan(3);
  });

  it(`tf.loadLayersModel builds the same model and predicts within 1e-5 on ${N_TEST} test images`, async () => {
    const dir = join(tmp, `${name}-tfjs`);
    await model.save(dir, { format: 'tfjs' });
    const tfModel = await tf.loadLayersModel(fileHandler(dir));
    try {
      expect(tfModel.layers.map((l) => l.getClassName())).toEqual(tfClasses);
      const got = await tfPredict(tfModel, data.testX);
      const diff = maxAbsDiff(got, want);
      console.log(`${name}: tfjs vs Loom max |Δ| = ${diff.toExponential(2)} on ${N_TEST} test images`);
      expect(diff).toBeLessThan(1e-5);
    } finally {
      tfModel.dispose();
    }
    // And back: loadModel reads Loom's own export into the same layers, predicting the same bits.
    const again = await loadModel(join(dir, 'model.json'));
    expect(again.getConfig()).toEqual(model.getConfig());
    const out = await again.predict(images(data.testX), { workers: 1 });
    expect(Buffer.from(out.data.buffer).equals(Buffer.from(want.buffer))).toBe(true);
  }, 60_000);

  it(`onnxruntime predicts within 1e-5 on ${N_TEST} test images, for a dynamic batch`, async () => {
    const path = join(tmp, `${name}.onnx`);
    await writeOnnxFile(path, toInteropModel(model));
    for (const rows of [N_TEST, 5]) {
      const out = await ortPredict(path, data.testX, rows);
      expect(out.dims).toEqual([rows, 10]);
      const diff = maxAbsDiff(out.data as Float32Array, want.subarray(0, rows * 10));
      if (rows === N_TEST) console.log(`${name}: onnxruntime vs Loom max |Δ| = ${diff.toExponential(2)} on ${N_TEST} test images`);
      expect(diff).toBeLessThan(1e-5);
    }
  }, 60_000);
});

describe('import: a convnet built, trained and saved by TensorFlow.js', () => {
  const dir = () => join(tmp, 'from-tfjs-convnet');
  let tfOut: Float32Array;

  beforeAll(async () => {
    const tfModel = tf.sequential({
      layers: [
        tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
        tf.layers.batchNormalization({ momentum: 0.5 }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'elu' }),
        tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' }),
        tf.layers.flatten(),
        tf.layers.dropout({ rate: 0.2 }),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    tfModel.compile({ loss: 'categoricalCrossentropy', optimizer: tf.train.adam(3e-3) });
    const n = 256;
    const xs = tf.tensor4d(data.x.data.subarray(0, n * PIXELS), [n, 28, 28, 1]);
    const ys = tf.tensor2d(data.y.data.subarray(0, n * 10), [n, 10]);
    await tfModel.fit(xs, ys, { epochs: 1, batchSize: 32, verbose: 0 });
    xs.dispose();
    ys.dispose();
    await tfModel.save(saveHandler(dir()));
    tfOut = await tfPredict(tfModel, data.testX);
    tfModel.dispose();
  }, 120_000);

  it('loads with loadModel, predicts within 1e-5 of tfjs, and trains on with fit', async () => {
    const model = await loadModel(join(dir(), 'model.json'));
    expect(model.layers.map((l) => l.className)).toEqual(['Conv2D', 'BatchNormalization', 'MaxPooling2D', 'Conv2D', 'AveragePooling2D', 'Flatten', 'Dropout', 'Dense']);
    expect(model.compiled).toBe(false);
    const loomOut = await model.predict(images(data.testX), { workers: 1 });
    const diff = maxAbsDiff(loomOut.data, tfOut);
    console.log(`tfjs-trained convnet: Loom vs tfjs max |Δ| = ${diff.toExponential(2)} on ${N_TEST} test images`);
    expect(diff).toBeLessThan(1e-5);
    expect(classesPredicted(tfOut)).toBeGreaterThan(3);

    model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    const before = model.getWeights()[0]!.data.slice();
    const h = await model.fit(data.x, data.y, { epochs: 2, batchSize: 64, workers: 1, verbose: 0, seed: 2 });
    expect(h.history.loss).toHaveLength(2);
    expect(h.history.loss!.every(Number.isFinite)).toBe(true);
    expect(h.history.loss![1]!).toBeLessThan(h.history.loss![0]!);
    expect(maxAbsDiff(before, model.getWeights()[0]!.data)).toBeGreaterThan(0);
  }, 120_000);

  it('refuses a conv kernel whose shape in model.json does not fit its layer, naming the weight', async () => {
    const json = JSON.parse(readFileSync(join(dir(), 'model.json'), 'utf8')) as { weightsManifest: { weights: { name: string; shape: number[] }[] }[] };
    const kernel = json.weightsManifest[0]!.weights.find((w) => /conv2d.*\/kernel$/.test(w.name) && w.shape[3] === 8)!;
    expect(kernel.shape).toEqual([3, 3, 6, 8]);
    kernel.shape = [3, 3, 8, 6]; // as many values, in the wrong layout
    const bad = join(tmp, 'bad-kernel');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'model.json'), JSON.stringify(json));
    writeFileSync(join(bad, 'group1-shard1of1.bin'), readFileSync(join(dir(), 'group1-shard1of1.bin')));
    const e = await loadModel(join(bad, 'model.json')).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(InteropError);
    expect((e as InteropError).kind).toBe('shape-mismatch');
    expect((e as Error).message).toContain(`weight '${kernel.name}' has shape [3, 3, 8, 6], but its layer needs [3, 3, 6, 8]`);
  });
});
