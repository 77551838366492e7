import { Sequential, getLoss, getMetric, type LossKernel, type MetricKernel, type SequentialConfig, type StepInfo } from '@loom/layers';
import { optimizerFromConfig, type Optimizer } from '@loom/optimizers';
import { allocFloat32, heapAllocator, withAllocator, type Allocator } from '@loom/tensor';
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

  /** Where each evaluation chunk is copied when its rows do not already live in `allocator`'s memory. */
  private readonly stageX: Float32Array;
  private readonly stageY: Float32Array;
  private readonly stageChunks: boolean;

  constructor(spec: ReplicaSpec, model?: Sequential, optimizer?: Optimizer, allocator: Allocator = heapAllocator) {
    this.model = model ?? Sequential.fromConfig(spec.model);
    if (!this.model.built) this.model.build(spec.inputShape, { initialize: false });
    this.loss = getLoss(spec.loss);
    this.optimizer = optimizer ?? optimizerFromConfig(spec.optimizer.name, spec.optimizer.config);
    this.inputSize = this.model.inputSize;
    this.metrics = spec.metrics.map((m) => getMetric(m, this.loss, this.model.outputSize));
    this.labelWidth = spec.labelWidth;
    // Size every buffer for the largest batch now, not in the first step, in the engine's memory.
    this.stageChunks = allocator !== heapAllocator;
    [this.stageX, this.stageY] = withAllocator(allocator, () => {
      this.model.allocateBuffers(spec.maxRows);
      return this.stageChunks
        ? [allocFloat32(spec.maxRows * this.inputSize), allocFloat32(spec.maxRows * spec.labelWidth)]
        : [new Float32Array(0), new Float32Array(0)];
    });
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
      const [xs, ys] = this.stage(x.subarray(s * this.inputSize, (s + n) * this.inputSize), y.subarray(s * this.labelWidth, (s + n) * this.labelWidth), n);
      this.model.evaluateStep(xs, ys, n, this.loss, this.metrics, info, stats);
    }
    return stats;
  }

  /**
   * Evaluation data usually lives outside the engine's memory: with the wasm backend each chunk
   * is copied into the replica's staging rows so the kernels still run in wasm (one copy per
   * chunk; training batches are written there directly and never copied).
   */
  private stage(x: Float32Array, y: Float32Array | null, n: number): [Float32Array, Float32Array] {
    // Without labels (predict) the second element is unused.
    if (!this.stageChunks || n > this.stageX.length / this.inputSize) return [x, y ?? this.stageY];
    this.stageX.set(x);
    if (y) this.stageY.set(y);
    return [this.stageX, this.stageY];
  }

  /** Model outputs for samples [from, to) of x, written into `out` at the same rows. */
  predictRange(x: Float32Array, out: Float32Array, from: number, to: number, batchSize: number): void {
    const info: StepInfo = { training: false, seed: 0, step: 0, rowOffset: 0 };
    const outSize = this.model.outputSize;
    for (let s = from; s < to; s += batchSize) {
      const n = Math.min(batchSize, to - s);
      const [xs] = this.stage(x.subarray(s * this.inputSize, (s + n) * this.inputSize), null, n);
      const y = this.model.forward(xs, n, info);
      out.set(y.subarray(0, n * outSize), s * outSize);
    }
  }
}
