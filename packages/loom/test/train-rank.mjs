// One rank of a distributed fit for distributed.test.ts (or one process when WORLD_SIZE is unset):
// real MNIST, the built @loom/loom, a JSON report of what the test compares. Argument: JSON options.
import { writeFileSync } from 'node:fs';
import { Sequential, layers, loadMnist, setSeed, shutdown, toCategorical } from '@loom/loom';

const o = JSON.parse(process.argv[2]);
const { train } = await loadMnist({ limit: o.samples, testLimit: 1 });
setSeed(1);
const model = new Sequential();
o.hidden.forEach((units, i) => {
  // batchNorm: Dense, then BatchNormalization (whole-batch statistics across the ranks), then relu.
  if (o.batchNorm) {
    model.add(layers.dense({ units, ...(i === 0 ? { inputShape: [784] } : {}) }));
    model.add(layers.batchNormalization({ momentum: 0.9 }));
    model.add(layers.activation({ activation: 'relu' }));
  } else model.add(layers.dense({ units, activation: 'relu', ...(i === 0 ? { inputShape: [784] } : {}) }));
  if (o.dropout) model.add(layers.dropout({ rate: o.dropout }));
});
model.add(layers.dense({ units: 10, activation: 'softmax' }));
model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });

const toBase64 = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const losses = [];
let snapshot = null;
await model.fit(train.x, toCategorical(train.y, 10), {
  batchSize: o.batchSize, epochs: o.epochs, workers: o.workers, seed: 7, verbose: 0,
  callbacks: [{
    onBatchEnd: (b, logs) => {
      losses.push(logs.loss);
      if (losses.length === o.snapshotStep) snapshot = toBase64(model.params);
    },
  }],
});
writeFileSync(o.out, JSON.stringify({
  rank: Number(process.env.RANK ?? 0), params: toBase64(model.params), snapshot, losses, history: model.trainingHistory.history,
  iterations: model.optimizer.iterations,
}));
await shutdown();
