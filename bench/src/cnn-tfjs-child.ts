/**
 * One tfjs backend on the cnn suite's convnet, in its own process so that the suite can kill it
 * at a deadline (cnn-tfjs.ts). Argument: `{"backend": "cpu"|"wasm", "batchSize": 128, "steps": 1}`.
 * Trains `steps` consecutive batches of real MNIST images with `trainOnBatch` and prints one JSON
 * line per event: `ready`, then `start` and `end` (with its ms) for every step, or `error` with
 * the message of the first step that threw, then `done`.
 */
import { loadMnist, toCategorical } from '@loom/loom';
import { buildTfCnn, type TfjsChildEvent } from './cnn-tfjs.js';
import { loadTf, type TfBackend } from './tfjs.js';

const emit = (e: TfjsChildEvent) => process.stdout.write(JSON.stringify(e) + '\n');

const cfg = JSON.parse(process.argv[2] ?? '{}') as { backend: TfBackend; batchSize: number; steps: number };
const tf = await loadTf(cfg.backend);
const samples = cfg.batchSize * cfg.steps;
const { train } = await loadMnist({ shape: 'image', limit: samples, testLimit: 1 });
const y = toCategorical(train.y, 10);
const model = buildTfCnn(tf);
emit({ event: 'ready', backend: tf.getBackend() });
const rows = train.x.shape[0]!;
for (let s = 0; s < cfg.steps; s++) {
  // Consecutive batches, wrapping where there are fewer images than steps × batch.
  const r = (s * cfg.batchSize) % Math.max(1, rows - cfg.batchSize + 1);
  const n = Math.min(cfg.batchSize, rows - r);
  const xs = tf.tensor4d(train.x.data.subarray(r * 784, (r + n) * 784), [n, 28, 28, 1]);
  const ys = tf.tensor2d(y.data.subarray(r * 10, (r + n) * 10), [n, 10]);
  emit({ event: 'start', step: s });
  const t0 = performance.now();
  try {
    await model.trainOnBatch(xs, ys);
  } catch (e) {
    emit({ event: 'error', step: s, message: (e as Error).message });
    break;
  }
  emit({ event: 'end', step: s, ms: performance.now() - t0 });
  xs.dispose();
  ys.dispose();
}
emit({ event: 'done' });
