import { Sequential, getLoss, getMetric, type LossKernel, type MetricKernel, type SequentialConfig, type StepInfo } from '@loom/layers';
import { optimizerFromConfig, type Optimizer } from '@loom/optimizers';
import { partBounds } from './all-reduce.js';

/** Everything a thread needs to rebuild the model, loss, metrics and optimizer (structured-cloneable). */
export interface ReplicaSpec {
  model: SequentialConfig;
  inputShape: number[];
  loss: string;
  metrics: string[];
  optimizer: { name: string; config: Record<string, unknown> };
  /** Largest batch a step will see. */
  maxRows: number;
  /** Label values per sample (classes for one-hot labels, 1 for sparse). */
  labelWidth: number;
}

/**
 * One replica of the model: the per-thread half of a step. Both engines use it (the local one
 * in the main thread, the threaded one in each worker), so there is one implementation of
 * shard bounds, gradient scaling and stats.
 */
export class Replica {
  readonly model: Sequential;
  readonly loss: LossKernel;
  readonly metrics: MetricKernel[];
  readonly optimizer: Optimizer;
  readonly inputSize: number;
  readonly labelWidth: number;
  readonly info: StepInfo = { training: true, seed: 0, step: 0, rowOffset: 0 };
  /** Cached shard views by batch size: a step allocates nothing once each size has been seen. */
  private readonly shardViews = new Map<number, { x: Float32Array; y: Float32Array; from: number; rows: number }>();

  constructor(spec: ReplicaSpec, model?: Sequential, optimizer?: Optimizer) {
    this.model = model ?? Sequential.fromConfig(spec.model);
    if (!this.model.built) this.model.build(spec.inputShape, { initialize: false });
    this.loss = getLoss(spec.loss);
    this.optimizer = optimizer ?? optimizerFromConfig(spec.optimizer.name, spec.optimizer.config);
    this.inputSize = this.model.inputSize;
    this.metrics = spec.metrics.map((m) => getMetric(m, this.loss, this.model.outputSize));
    this.labelWidth = spec.labelWidth;
    // Size every buffer for the largest batch now, not in the first step.
    for (const l of this.model.layers) l.ensureCapacity(spec.maxRows);
  }

  get statsWidth(): number {
    return 1 + this.metrics.length;
  }

  /**
   * Forward and backward on this worker's contiguous shard of a `rows`-row batch held in
   * (x, y); writes the gradient of (shard loss sum)/rows into the model's gradient buffer and
   * the loss and metric sums into stats at `statsOffset`.
   */
  trainShard(
    x: Float32Array, y: Float32Array, rows: number, worker: number, active: number,
    seed: number, step: number, stats: Float64Array, statsOffset: number,
  ): void {
    const key = rows * 1024 + worker * 32 + active;
    let v = this.shardViews.get(key);
    if (!v) {
      const [from, to] = partBounds(rows, active, worker);
      v = { x: x.subarray(from * this.inputSize, to * this.inputSize), y: y.subarray(from * this.labelWidth, to * this.labelWidth), from, rows: to - from };
      this.shardViews.set(key, v);
    }
    for (let i = 0; i < this.statsWidth; i++) stats[statsOffset + i] = 0;
    const info = this.info;
    info.training = true;
    info.seed = seed;
    info.step = step;
    info.rowOffset = v.from;
    this.model.trainStep(v.x, v.y, v.rows, this.loss, this.metrics, 1 / rows, info, stats, statsOffset);
  }

  /** Loss and metric sums over samples [from, to) of (x, y), in chunks of `batchSize`, inference mode. */
  evaluateRange(x: Float32Array, y: Float32Array, from: number, to: number, batchSize: number): Float64Array {
    const stats = new Float64Array(this.statsWidth);
    const info: StepInfo = { training: false, seed: 0, step: 0, rowOffset: 0 };
    for (let s = from; s < to; s += batchSize) {
      const n = Math.min(batchSize, to - s);
      this.model.evaluateStep(
        x.subarray(s * this.inputSize, (s + n) * this.inputSize), y.subarray(s * this.labelWidth, (s + n) * this.labelWidth),
        n, this.loss, this.metrics, info, stats,
      );
    }
    return stats;
  }

  /** Model outputs for samples [from, to) of x, written into `out` at the same rows. */
  predictRange(x: Float32Array, out: Float32Array, from: number, to: number, batchSize: number): void {
    const info: StepInfo = { training: false, seed: 0, step: 0, rowOffset: 0 };
    const outSize = this.model.outputSize;
    for (let s = from; s < to; s += batchSize) {
      const n = Math.min(batchSize, to - s);
      const y = this.model.forward(x.subarray(s * this.inputSize, (s + n) * this.inputSize), n, info);
      out.set(y.subarray(0, n * outSize), s * outSize);
    }
  }
}
