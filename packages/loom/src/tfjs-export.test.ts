/**
 * TensorFlow.js as the real consumer of Loom's export, and as the producer of models Loom
 * imports: `tf.loadLayersModel` reads what `model.save(dir, { format: 'tfjs' })` wrote, and
 * `loadModel` reads what tfjs's own `model.save` wrote, each predicting within 1e-5 of the other
 * on 256 real MNIST test images. tfjs runs on its pure-JS CPU backend, reading files through IO
 * handlers (no tfjs-node).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layers, setSeed, type Tensor } from './index.js';
import { loadModel } from './checkpointing.js';
import { Sequential } from './model.js';
import { maxAbsDiff, mnistSubset } from './test-helpers.js';

const N_TEST = 256;
let tmp: string;
let data: Awaited<ReturnType<typeof mnistSubset>>;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'loom-tfjs-'));
  data = await mnistSubset(2000, N_TEST);
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** tfjs's loader over a folder on disk: model.json and every shard it names, concatenated in order. */
function fileHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: tf.io.WeightsManifestConfig };
      const specs = json.weightsManifest.flatMap((g) => g.weights);
      const bufs = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
      const all = Buffer.concat(bufs);
      return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) };
    },
  };
}

/** tfjs's saver into a folder: model.json with one shard, as `tensorflowjs_converter` lays it out. */
function saveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (a) => {
      mkdirSync(dir, { recursive: true });
      const bytes = new Uint8Array(a.weightData as ArrayBuffer);
      writeFileSync(join(dir, 'group1-shard1of1.bin'), bytes);
      writeFileSync(join(dir, 'model.json'), JSON.stringify({
        format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy ?? null, modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }],
      }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  };
}

function testImages(): Float32Array {
  return data.testX.data.slice(0, N_TEST * 784);
}

async function tfPredict(model: tf.LayersModel, x: Float32Array): Promise<Float32Array> {
  const input = tf.tensor2d(x, [x.length / 784, 784]);
  const out = model.predict(input) as tf.Tensor;
  const values = (await out.data()) as Float32Array;
  input.dispose();
  out.dispose();
  return values;
}

describe('export: a Loom MLP with every activation, trained on MNIST, loaded by tf.loadLayersModel', () => {
  let loom: Sequential;
  let loomOut: Tensor;
  const dir = () => join(tmp, 'every-activation');

  it('trains, exports, and tfjs predicts within 1e-5 of Loom on 256 test images', async () => {
    setSeed(3);
    loom = new Sequential([
      layers.dense({ units: 48, activation: 'relu', inputShape: [784] }),
      layers.dense({ units: 32, activation: 'sigmoid' }),
      layers.dropout({ rate: 0.1 }),
      layers.dense({ units: 32, activation: 'tanh' }),
      layers.dense({ units: 32, activation: 'elu' }),
      layers.dense({ units: 32, activation: 'leaky_relu' }),
      layers.dense({ units: 32, activation: 'linear' }),
      layers.activation({ activation: 'leaky_relu', alpha: 0.2 }),
      layers.dense({ units: 10, activation: 'softmax' }),
    ], { name: 'every_activation' });
    loom.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    const h = await loom.fit(data.x, data.y, { epochs: 2, batchSize: 50, workers: 1, verbose: 0, seed: 1 });
    expect(Number.isFinite(h.history.loss![0])).toBe(true);
    await loom.save(dir(), { format: 'tfjs' });

    const x = testImages();
    loomOut = await loom.predict(x.slice(), { workers: 1 });
    const tfModel = await tf.loadLayersModel(fileHandler(dir()));
    expect(tfModel.layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dense', 'Dropout', 'Dense', 'Dense', 'Dense', 'LeakyReLU', 'Dense', 'LeakyReLU', 'Dense']);
    const tfOut = await tfPredict(tfModel, x);
    expect(tfOut.length).toBe(N_TEST * 10);
    const diff = maxAbsDiff(tfOut, loomOut.data);
    console.log(`every-activation MLP (train accuracy ${h.history.accuracy![1]!.toFixed(3)} in epoch 2): tfjs vs Loom max |Δ| = ${diff.toExponential(2)} on ${N_TEST} test images`);
    expect(diff).toBeLessThan(1e-5);
    // The models are not trivially agreeing: predictions spread over several classes.
    const classes = new Set(Array.from({ length: N_TEST }, (_, i) => { let b = 0; for (let j = 1; j < 10; j++) if (tfOut[i * 10 + j]! > tfOut[i * 10 + b]!) b = j; return b; }));
    expect(classes.size).toBeGreaterThan(3);
    tfModel.dispose();
  });

  it('loadModel reads the export back: the same layers, and predictions with the same bits; uncompiled', async () => {
    const again = await loadModel(join(dir(), 'model.json'));
    expect(again.compiled).toBe(false);
    expect(again.getConfig()).toEqual(loom.getConfig());
    const out = await again.predict(testImages(), { workers: 1 });
    expect(Buffer.from(out.data.buffer).equals(Buffer.from(loomOut.data.buffer))).toBe(true);
    const fromFolder = await loadModel(dir());
    expect(fromFolder.countParams()).toBe(loom.countParams());
  });

  it('refuses a Maxout model by name and writes nothing', async () => {
    const m = new Sequential([layers.maxout({ units: 4, pieces: 2, inputShape: [3], name: 'maxout_a' })]);
    m.build();
    await expect(m.save(join(tmp, 'maxout'), { format: 'tfjs' })).rejects.toThrow(/'maxout_a' \(Maxout\) has no TensorFlow\.js Layers equivalent/);
    await expect(m.save(join(tmp, 'x'), { format: 'onnx' as never })).rejects.toThrow(/format must be 'loom' or 'tfjs'/);
  });
});

describe('import: a model built, trained and saved by TensorFlow.js', () => {
  it('loads with loadModel, predicts within 1e-5 of tfjs, and trains on with fit', async () => {
    const tfModel = tf.sequential({
      layers: [
        tf.layers.dense({ units: 32, activation: 'relu', inputShape: [784] }),
        tf.layers.dropout({ rate: 0.2 }),
        tf.layers.dense({ units: 16, activation: 'tanh' }),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    tfModel.compile({ loss: 'categoricalCrossentropy', optimizer: tf.train.adam(1e-3) });
    const n = 512;
    const xs = tf.tensor2d(data.x.data.subarray(0, n * 784), [n, 784]);
    const ys = tf.tensor2d(data.y.data.subarray(0, n * 10), [n, 10]);
    await tfModel.fit(xs, ys, { epochs: 1, batchSize: 64, verbose: 0 });
    xs.dispose();
    ys.dispose();
    const dir = join(tmp, 'from-tfjs');
    await tfModel.save(saveHandler(dir));

    const model = await loadModel(join(dir, 'model.json'));
    expect(model.layers.map((l) => l.className)).toEqual(['Dense', 'Dropout', 'Dense', 'Dense']);
    expect(model.compiled).toBe(false);
    const x = testImages();
    const tfOut = await tfPredict(tfModel, x);
    const loomOut = await model.predict(x.slice(), { workers: 1 });
    const diff = maxAbsDiff(loomOut.data, tfOut);
    console.log(`tfjs-trained model: Loom vs tfjs max |Δ| = ${diff.toExponential(2)} on ${N_TEST} test images`);
    expect(diff).toBeLessThan(1e-5);
    tfModel.dispose();

    model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    const before = model.getWeights()[0]!.data.slice();
    const h = await model.fit(data.x, data.y, { epochs: 2, batchSize: 100, workers: 1, verbose: 0, seed: 2 });
    expect(h.history.loss).toHaveLength(2);
    expect(h.history.loss!.every(Number.isFinite)).toBe(true);
    expect(h.history.loss![1]!).toBeLessThan(h.history.loss![0]!);
    expect(maxAbsDiff(before, model.getWeights()[0]!.data)).toBeGreaterThan(0);
  });
});
