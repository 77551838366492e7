// Benchmarks of @loom/data, run against the build: `npx tsc -b && node bench/data-bench.mjs`.
// Speeds are printed as ratios against a baseline measured in the same run (shared machines).
import Benchmark from 'benchmark';
import { loadMnist, Dataset } from '../dist/index.js';

const t0 = performance.now();
const { train } = await loadMnist();
console.log(`loadMnist(): ${(performance.now() - t0).toFixed(0)} ms (60,000 + 10,000 images, first call)`);
const t1 = performance.now();
await loadMnist({ limit: 1000, testLimit: 1000 });
console.log(`loadMnist({ limit: 1000, testLimit: 1000 }): ${(performance.now() - t1).toFixed(0)} ms`);

const ds = Dataset.fromArrays(train.x.data, [784], train.y);
const batchSize = 128;
const n = ds.size;
const base = new Float32Array(batchSize * 784);
let epoch = 0;

const suite = new Benchmark.Suite();
suite
  // Baseline: the same bytes copied contiguously with one `set` per batch (memcpy speed).
  .add('contiguous copy (baseline)', () => {
    for (let s = 0; s + batchSize <= n; s += batchSize) base.set(train.x.data.subarray(s * 784, (s + batchSize) * 784));
  })
  .add('batches(128, shuffled), one epoch', () => {
    for (const b of ds.batches(batchSize, { shuffle: true, seed: 1, epoch: epoch++ })) if (b.size === 0) throw new Error();
  })
  .add('prefetch(128, shuffled), one epoch', {
    defer: true,
    fn: async (deferred) => {
      for await (const b of ds.prefetch(batchSize, { shuffle: true, seed: 1, epoch: epoch++ })) if (b.size === 0) throw new Error();
      deferred.resolve();
    },
  })
  .on('complete', function () {
    const baseline = this[0].stats.mean;
    for (let i = 0; i < this.length; i++) {
      const b = this[i];
      const epochMs = b.stats.mean * 1000;
      console.log(`${b.name}: ${epochMs.toFixed(1)} ms/epoch, ${(n / b.stats.mean / 1e6).toFixed(2)} M samples/s, ${(b.stats.mean / baseline).toFixed(2)}x baseline (±${b.stats.rme.toFixed(1)}%)`);
    }
  })
  .run({ async: true });
