/**
 * One fresh process of the first-epoch suite: trains the MNIST MLP through `fit` for two
 * epochs on all cores and prints one JSON line with each epoch's seconds, as a user's first
 * run would see them. Arguments: the number of training samples, the hidden widths (`500,500`).
 */
import os from 'node:os';
import { Callback, shutdown } from '@loom/loom';
import { MNIST_HIDDEN, buildMlp, loadMlpData, takeRows } from './mlp.js';

class EpochClock extends Callback {
  readonly seconds: number[] = [];
  private t0 = 0;
  override onEpochBegin(): void {
    this.t0 = performance.now();
  }
  override onEpochEnd(): void {
    this.seconds.push((performance.now() - this.t0) / 1000);
  }
}

const samples = Number(process.argv[2] ?? 60_000);
const hidden = process.argv[3] ? process.argv[3].split(',').map(Number) : MNIST_HIDDEN;
const data = await loadMlpData(samples, 100);
const model = buildMlp(hidden, 1);
const clock = new EpochClock();
const h = await model.fit(takeRows(data.x, samples), takeRows(data.y, samples), {
  batchSize: 100, epochs: 2, workers: os.availableParallelism(), seed: 1, verbose: 0, callbacks: [clock],
});
console.log(JSON.stringify({ seconds: clock.seconds, workers: h.params.workers }));
await shutdown();
