import { Sequential, getLoss, getMetric, type BatchStatsBuffer, type LossKernel, type MetricKernel, type SequentialConfig, type StepInfo } from '@loom/layers';
import { optimizerFromConfig, type Optimizer } from '@loom/optimizers';
import { allocFloat32, heapAllocator, partStart, withAllocator, type Allocator } from '@loom/tensor';
import type { EngineOptions } from './engine.js';
import { EVAL_BLOCK } from './plan.js';

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

export function specOf(options: EngineOptions): ReplicaSpec {
  return {
    model: options.model.getConfig(),
    inputShape: options.model.inputShape,
    loss: options.loss,
    metrics: options.metrics,
    optimizer: { name: options.optimizer.name, config: options.optimizer.getConfig() },
    maxRows: options.maxRows,
    labelWidth: options.labelWidth,
  };
}

/**
 * One replica of the model: the per-thread half of a step. Both engines use it (the local one
 * in the main thread as shard 0 of 1, the threaded one in each worker), so the two run the
 * same code and give the same bits.
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
  /** Cached [from, to) parameter ranges of each part (`Sequential.weightChunks`). */
  private readonly chunkRanges = new Map<number, number[]>();

  /** Where each evaluation block is copied when its rows do not already live in `allocator`'s memory. */
  private readonly stageX: Float32Array;
  private readonly stageY: Float32Array;
  private readonly stageBlocks: boolean;

  /**
   * `model`/`optimizer` given: the main thread's own (already placed by the engine). Otherwise
   * rebuilt from `spec`; the caller binds parameters and step buffers to the shared ones.
   */
  constructor(spec: ReplicaSpec, model?: Sequential, optimizer?: Optimizer, allocator: Allocator = heapAllocator) {
    this.model = model ?? Sequential.fromConfig(spec.model);
    if (!this.model.built) this.model.build(spec.inputShape, { initialize: false });
    this.loss = getLoss(spec.loss);
    this.optimizer = optimizer ?? optimizerFromConfig(spec.optimizer.name, spec.optimizer.config);
    this.inputSize = this.model.inputSize;
    this.metrics = spec.metrics.map((m) => getMetric(m, this.loss, this.model.outputSize));
    this.labelWidth = spec.labelWidth;
    this.stageBlocks = allocator !== heapAllocator;
    const stageRows = Math.max(spec.maxRows, EVAL_BLOCK);
    [this.stageX, this.stageY] = withAllocator(allocator, () => this.stageBlocks
      ? [allocFloat32(stageRows * this.inputSize), allocFloat32(stageRows * spec.labelWidth)]
      : [new Float32Array(0), new Float32Array(0)]);
  }

  get statsWidth(): number {
    return 1 + this.metrics.length;
  }

  /**
   * The row stage on shard `shard` of `shards` of a `rows`-row batch held in (x, y) from row 0:
   * forward and backward to every layer's output gradient, in this shard's window of the step
   * buffers. The loss is scaled by the batch size, not the shard's. Across processes `rows` is
   * this rank's share, `batchRows` the whole global batch and `firstRow` the share's first row
   * in it: the scale and the dropout keys are the global batch's, as in one process. Returns
   * false when it stopped at a batch sync (`resumeRows` once every worker is there), true when done.
   */
  trainRows(
    x: Float32Array, y: Float32Array, rows: number, shard: number, shards: number, seed: number, step: number,
    batchRows = rows, firstRow = 0,
  ): boolean {
    // Room for any shard count (a key of rows·1024 + shard·32 + shards collided from 32 workers on).
    const key = (rows * 4096 + shard) * 4096 + shards;
    let v = this.shardViews.get(key);
    if (!v) {
      // A worker past the active ones has an empty shard at the batch's end: it still stops at
      // every batch sync and combines the whole batch's statistics for its chunk of the weights.
      const from = shard < shards ? partStart(rows, shards, shard) : rows, to = shard < shards ? partStart(rows, shards, shard + 1) : rows;
      v = { x: x.subarray(from * this.inputSize, to * this.inputSize), y: y.subarray(from * this.labelWidth, to * this.labelWidth), from, rows: to - from };
      this.shardViews.set(key, v);
    }
    const info = this.info;
    info.training = true;
    info.seed = seed;
    info.step = step;
    info.rowOffset = firstRow + v.from;
    // Batch statistics are the global batch's; this process's rows are its share of it.
    info.batchRows = batchRows;
    info.shareFrom = firstRow;
    info.shareRows = rows;
    this.model.setWindow(v.from);
    return this.model.beginRows(v.x, v.y, v.rows, this.loss, 1 / batchRows, info);
  }

  /** At a batch sync: the statistics buffer the waiting layer gathered (`Sequential.pendingBatchStats`). */
  pendingBatchStats(): BatchStatsBuffer {
    return this.model.pendingBatchStats();
  }

  /** Goes on with the row stage after every worker reached the batch sync it stopped at; true when done. */
  resumeRows(): boolean {
    return this.model.resumeRows();
  }

  /** The number of batch syncs in the row stage: what a worker of a threaded step waits at, besides its end. */
  get batchSyncs(): number {
    return this.model.batchSyncs;
  }

  /**
   * The chunk stage, part `part` of `parts`: this part of every weight gradient over all rows of
   * the batch whose input is `x`, then the optimizer's step t on exactly those ranges. Measured
   * and not kept (2 workers at batch 100, five interleaved runs each): slicing the part to update
   * each slice while its gradient is in cache (4.24 ms/step in 4 slices against 4.09), and
   * staggering the workers' layer order so that one updates while the other multiplies (medians
   * 4.00 against 4.03, within the noise).
   */
  trainChunk(x: Float32Array, rows: number, part: number, parts: number, t: number): void {
    this.chunkGradients(x, rows, part, parts);
    this.chunkUpdate(part, parts, t);
  }

  /** The chunk stage's first half: part `part` of every weight gradient over all rows of the batch. */
  chunkGradients(x: Float32Array, rows: number, part: number, parts: number): void {
    this.model.weightGradients(x, rows, part, parts);
  }

  /**
   * The chunk stage's second half: the optimizer's step t on part `part` of the parameters.
   * Across processes the gradient was all-reduced between the halves.
   */
  chunkUpdate(part: number, parts: number, t: number): void {
    const model = this.model, opt = this.optimizer;
    const key = part * 65536 + parts;
    let ranges = this.chunkRanges.get(key);
    if (!ranges) this.chunkRanges.set(key, (ranges = model.weightChunks(part, parts)));
    const params = model.params, grads = model.grads, slots = opt.slots[0]!;
    for (let i = 0; i < ranges.length; i += 2) opt.updateRange(params, grads, slots, ranges[i]!, ranges[i + 1]!, t);
    model.updateState(part, parts);
  }

  /** The whole batch's [loss sum, metric sums…] into `stats` (overwritten), from the last step's outputs. */
  batchStats(x: Float32Array, y: Float32Array, rows: number, stats: Float64Array): void {
    stats.fill(0);
    this.model.batchStats(x, y, rows, this.loss, this.metrics, stats, 0);
  }

  /**
   * Loss and metric sums of samples [from, to) of (x, y), inference mode, one row of sums per
   * block of `block` samples (in order): the caller adds the blocks of every worker in order,
   * so the totals do not depend on how the samples were split. `window` is the first row of
   * the step buffers this thread may use.
   */
  evaluateBlocks(x: Float32Array, y: Float32Array, from: number, to: number, block: number, window = 0): Float64Array {
    const width = this.statsWidth;
    const sums = new Float64Array(Math.ceil((to - from) / block) * width);
    const info: StepInfo = { training: false, seed: 0, step: 0, rowOffset: 0 };
    this.model.setWindow(window);
    for (let s = from, o = 0; s < to; s += block, o += width) {
      const n = Math.min(block, to - s);
      const [xs, ys] = this.stage(x.subarray(s * this.inputSize, (s + n) * this.inputSize), y.subarray(s * this.labelWidth, (s + n) * this.labelWidth), n);
      this.model.evaluateStep(xs, ys, n, this.loss, this.metrics, info, sums, o);
    }
    return sums;
  }

  /** Model outputs for samples [from, to) of x, written into `out` at the same rows. */
  predictRange(x: Float32Array, out: Float32Array, from: number, to: number, block: number, window = 0): void {
    const info: StepInfo = { training: false, seed: 0, step: 0, rowOffset: 0 };
    const outSize = this.model.outputSize;
    this.model.setWindow(window);
    for (let s = from; s < to; s += block) {
      const n = Math.min(block, to - s);
      const [xs] = this.stage(x.subarray(s * this.inputSize, (s + n) * this.inputSize), null, n);
      const y = this.model.forward(xs, n, info);
      out.set(y.subarray(0, n * outSize), s * outSize);
    }
  }

  /**
   * Evaluation data usually lives outside the engine's memory: with the wasm backend each block
   * is copied into the replica's staging rows so the kernels still run in wasm (one copy per
   * block; training batches are written there directly and never copied).
   */
  private stage(x: Float32Array, y: Float32Array | null, n: number): [Float32Array, Float32Array] {
    // Without labels (predict) the second element is unused.
    if (!this.stageBlocks || n > this.stageX.length / this.inputSize) return [x, y ?? this.stageY];
    this.stageX.set(x);
    if (y) this.stageY.set(y);
    return [this.stageX, this.stageY];
  }
}
