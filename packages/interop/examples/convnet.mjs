// Train a convnet in Loom, export it for TensorFlow.js and for ONNX, and check both exports
// with the real consumers in Node. Run from the repository root after `npm ci && npm run build`:
//   node packages/interop/examples/convnet.mjs
// Then serve the repository root (e.g. `python3 -m http.server 8000`) and open
//   http://localhost:8000/packages/interop/examples/browser.html   (it shows this model)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';
import { writeOnnxFile } from '@loom/interop';
import { Sequential, layers, loadMnist, setSeed, toCategorical, toInteropModel, shutdown } from '@loom/loom';

const web = join(dirname(fileURLToPath(import.meta.url)), 'web');
setSeed(1);
const { train, test } = await loadMnist({ shape: 'image', limit: 6000, testLimit: 256 });   // [n, 28, 28, 1]
const model = new Sequential([
  layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
  layers.batchNormalization(),
  layers.maxPooling2d({ poolSize: 2 }),
  layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
  layers.averagePooling2d({ poolSize: 2, padding: 'same' }),
  layers.flatten(),
  layers.dropout({ rate: 0.25 }),
  layers.dense({ units: 10, activation: 'softmax' }),
]);
model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
await model.fit(train.x, toCategorical(train.y, 10), { epochs: 1, batchSize: 64, seed: 1, verbose: 0 });
await model.save(web, { format: 'tfjs' });                          // web/model.json + shards
await writeOnnxFile(join(web, 'convnet.onnx'), toInteropModel(model)); // or: loom export ckpt.loom --format onnx

const n = test.x.shape[0], loomOut = (await model.predict(test.x)).data;
writeFileSync(join(web, 'samples.json'), JSON.stringify({
  pixels: Array.from(test.x.data.subarray(0, 16 * 784)), labels: Array.from(test.y.subarray(0, 16)),
  loom: Array.from(loomOut.subarray(0, 16 * 10)),
}));

const maxDiff = (a) => a.reduce((d, v, i) => Math.max(d, Math.abs(v - loomOut[i])), 0);
const accuracy = (p) => {
  let right = 0;
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let j = 1; j < 10; j++) if (p[i * 10 + j] > p[i * 10 + b]) b = j;
    if (b === test.y[i]) right++;
  }
  return `${(100 * right / n).toFixed(1)}%`;
};

// TensorFlow.js reads the folder through an IO handler (no tfjs-node needed).
await tf.setBackend('cpu');
const json = JSON.parse(readFileSync(join(web, 'model.json'), 'utf8'));
const bytes = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(web, p)))));
const tfModel = await tf.loadLayersModel({ load: async () => ({
  modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
  weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
}) });
const tfOut = await tfModel.predict(tf.tensor4d(test.x.data, [n, 28, 28, 1])).data();
console.log(`tfjs layers: ${tfModel.layers.map((l) => l.getClassName()).join(', ')}`);
console.log(`tfjs vs Loom on ${n} MNIST test images: max |difference| ${maxDiff(tfOut).toExponential(2)}, accuracy ${accuracy(tfOut)}`);

// onnxruntime takes the same NHWC images; the graph transposes to NCHW inside.
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(readFileSync(join(web, 'convnet.onnx')));
const { output } = await session.run({ input: new ort.Tensor('float32', test.x.data, [n, 28, 28, 1]) });
console.log(`onnxruntime vs Loom on ${n} MNIST test images: max |difference| ${maxDiff(output.data).toExponential(2)}, accuracy ${accuracy(output.data)}`);
await session.release();
await shutdown();
