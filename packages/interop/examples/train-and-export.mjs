// Train in Loom, export for TensorFlow.js, and check the export with TensorFlow.js itself.
// Run from the repository root after `npm ci && npm run build`:
//   node packages/interop/examples/train-and-export.mjs
// Then serve the repository root (e.g. `python3 -m http.server 8000`) and open
//   http://localhost:8000/packages/interop/examples/browser.html
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Sequential, layers, loadMnist, setSeed, toCategorical, shutdown } from '@loom/loom';

const web = join(dirname(fileURLToPath(import.meta.url)), 'web');
setSeed(1);
const { train, test } = await loadMnist({ limit: 6000, testLimit: 256 });
const model = new Sequential([
  layers.dense({ units: 64, inputShape: [784], activation: 'relu' }),
  layers.dropout({ rate: 0.1 }),
  layers.dense({ units: 32, activation: 'leaky_relu' }),     // exported as Dense + LeakyReLU(alpha 0.1)
  layers.dense({ units: 10, activation: 'softmax' }),
]);
model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
await model.fit(train.x, toCategorical(train.y, 10), { epochs: 2, batchSize: 100, seed: 1, verbose: 0 });
await model.save(web, { format: 'tfjs' });                  // web/model.json + web/group1-shard1of1.bin

// What the browser page shows: 16 test digits and Loom's outputs for them.
const n = 16, loomOut = await model.predict(test.x);
writeFileSync(join(web, 'samples.json'), JSON.stringify({
  pixels: Array.from(test.x.data.subarray(0, n * 784)), labels: Array.from(test.y.subarray(0, n)),
  loom: Array.from(loomOut.data.subarray(0, n * 10)),
}));

// The same check in Node: tfjs reads the files through an IO handler (no tfjs-node needed).
await tf.setBackend('cpu');
const json = JSON.parse(readFileSync(join(web, 'model.json'), 'utf8'));
const bytes = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(web, p)))));
const tfModel = await tf.loadLayersModel({ load: async () => ({
  modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
  weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
}) });
const tfOut = await tfModel.predict(tf.tensor2d(test.x.data, [test.x.shape[0], 784])).data();
let diff = 0;
for (let i = 0; i < tfOut.length; i++) diff = Math.max(diff, Math.abs(tfOut[i] - loomOut.data[i]));
const acc = loomOut.data.length / 10;
let right = 0;
for (let i = 0; i < acc; i++) {
  let b = 0;
  for (let j = 1; j < 10; j++) if (tfOut[i * 10 + j] > tfOut[i * 10 + b]) b = j;
  if (b === test.y[i]) right++;
}
console.log(`wrote ${web}/model.json; tfjs layers: ${tfModel.layers.map((l) => l.getClassName()).join(', ')}`);
console.log(`tfjs vs Loom on ${acc} MNIST test images: max |difference| ${diff.toExponential(2)}, tfjs accuracy ${(100 * right / acc).toFixed(1)}%`);
await shutdown();
