/** In-memory datasets: features and labels as flat float32 rows, shuffled per epoch, batched. */
import { allocFloat32, hash3, permutation, Random, Tensor } from '@loom/tensor';
import { BatchIterator, PrefetchIterator, type BatchBuffers } from './batching.js';
import { assertBatchSize, assertFraction, assertInteger } from './validate.js';

/** Mixed into the shuffle seed so shuffling never shares a stream with other users of `seed`. */
const SHUFFLE_SALT = 0x5eed;

export interface BatchesOptions {
  /** Visit rows in a seeded random order (default false: in order). */
  shuffle?: boolean;
  /** Seed of the shuffle (default 0). */
  seed?: number;
  /** Epoch number; each epoch has its own order (default 0). */
  epoch?: number;
  /**
   * Where to write batches (e.g. shared memory): at least `batchSize × featureSize` and
   * `batchSize × labelWidth` floats. Default: allocated once per call from `allocFloat32`.
   */
  buffers?: BatchBuffers;
}

/**
 * Features `x` (`[n, ...featureShape]`) and optional labels `y` (`[n]` for one value per sample,
 * or `[n, ...labelShape]`, e.g. one-hot), held in memory as float32. Slices share memory.
 */
export class Dataset {
  readonly x: Tensor;
  readonly y: Tensor | undefined;
  /** Number of samples. */
  readonly size: number;
  readonly featureShape: readonly number[];
  /** Floats per sample of `x`. */
  readonly featureSize: number;
  readonly labelShape: readonly number[];
  /** Floats per sample of `y` (1 for sparse labels, the number of classes for one-hot, 0 without labels). */
  readonly labelWidth: number;
  private readonly emptyLabels: Float32Array | undefined;

  constructor(x: Tensor, y?: Tensor) {
    if (!(x instanceof Tensor)) throw new TypeError('Dataset: x must be a Tensor');
    if (x.rank < 1) throw new RangeError('Dataset: x must have a sample dimension, got a scalar');
    const n = x.shape[0]!;
    if (y !== undefined) {
      if (!(y instanceof Tensor)) throw new TypeError('Dataset: y must be a Tensor');
      if (y.rank < 1 || y.shape[0] !== n) {
        throw new RangeError(`Dataset: x has ${n} samples (shape [${x.shape.join(', ')}]) but y has shape [${y.shape.join(', ')}]`);
      }
    }
    this.x = x;
    this.y = y;
    this.size = n;
    this.featureShape = x.shape.slice(1);
    this.featureSize = n === 0 ? this.featureShape.reduce((a, b) => a * b, 1) : x.size / n;
    this.labelShape = y === undefined ? [] : y.shape.slice(1);
    this.labelWidth = y === undefined ? 0 : this.labelShape.reduce((a, b) => a * b, 1);
    this.emptyLabels = y === undefined ? new Float32Array(0) : undefined;
  }

  /** A dataset over `x` and `y` (no copy). */
  static fromTensors(x: Tensor, y?: Tensor): Dataset {
    return new Dataset(x, y);
  }

  /**
   * A dataset from flat arrays: `x` holds `n × prod(featureShape)` floats (not copied), `y` one
   * label per sample or `labelWidth` per sample (copied into float32 unless it is a Float32Array).
   */
  static fromArrays(x: Float32Array, featureShape: readonly number[], y?: ArrayLike<number>, labelWidth = 1): Dataset {
    const width = featureShape.reduce((a, b) => a * b, 1);
    if (width === 0 || x.length % width !== 0) {
      throw new RangeError(`Dataset.fromArrays: x has ${x.length} floats, not a whole number of samples of shape [${featureShape.join(', ')}]`);
    }
    const n = x.length / width;
    const xt = new Tensor(x, [n, ...featureShape]);
    if (y === undefined) return new Dataset(xt);
    if (!Number.isInteger(labelWidth) || labelWidth <= 0) {
      throw new RangeError(`Dataset.fromArrays: labelWidth must be a positive integer, got ${labelWidth}`);
    }
    let yd: Float32Array;
    if (y instanceof Float32Array) yd = y;
    else {
      yd = allocFloat32(y.length);
      for (let i = 0; i < y.length; i++) yd[i] = y[i]!;
    }
    if (yd.length !== n * labelWidth) {
      throw new RangeError(`Dataset.fromArrays: y has ${yd.length} values, expected ${n} samples × labelWidth ${labelWidth}`);
    }
    return new Dataset(xt, new Tensor(yd, labelWidth === 1 ? [n] : [n, labelWidth]));
  }

  /** The features as flat rows. */
  get features(): Float32Array {
    return this.x.data;
  }

  /** The labels as flat rows (empty without labels). */
  get labels(): Float32Array {
    return this.y?.data ?? this.emptyLabels!;
  }

  /**
   * The order of the samples in epoch `epoch`: a permutation of 0..size-1 that is a pure
   * function of `(seed, epoch)` (and `size`), so a resumed run sees the same batches.
   * Writes into `out` when given (length `size`).
   */
  shuffle(seed: number, epoch: number, out?: Uint32Array): Uint32Array {
    assertInteger(seed, 'seed', 'shuffle');
    assertInteger(epoch, 'epoch', 'shuffle');
    if (out !== undefined && out.length !== this.size) {
      throw new RangeError(`shuffle: out has length ${out.length}, expected ${this.size}`);
    }
    return permutation(this.size, new Random(hash3(seed, epoch, SHUFFLE_SALT)), out ?? new Uint32Array(this.size));
  }

  /** Samples `[from, to)` as a dataset sharing this one's memory. */
  slice(from: number, to: number = this.size): Dataset {
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > this.size || from > to) {
      throw new RangeError(`slice: need integers 0 <= from <= to <= ${this.size}, got from ${from}, to ${to}`);
    }
    const x = new Tensor(this.x.data.subarray(from * this.featureSize, to * this.featureSize), [to - from, ...this.featureShape]);
    const y = this.y === undefined
      ? undefined
      : new Tensor(this.y.data.subarray(from * this.labelWidth, to * this.labelWidth), [to - from, ...this.labelShape]);
    return new Dataset(x, y);
  }

  /**
   * Splits into `[train, validation]` where validation is the LAST `fraction` of the samples,
   * taken before any shuffling, as Keras's `validationSplit` does (split at
   * `floor(size * (1 - fraction))`). Both parts share this dataset's memory.
   */
  split(fraction: number): [Dataset, Dataset] {
    assertFraction(fraction, 'fraction', 'split');
    const at = Math.floor(this.size * (1 - fraction));
    if (at === 0 || at === this.size) {
      throw new RangeError(`split: fraction ${fraction} of ${this.size} samples leaves one part empty (split at ${at})`);
    }
    return [this.slice(0, at), this.slice(at)];
  }

  /** Number of batches of `batchSize` in one epoch (the last may be smaller). */
  batchCount(batchSize: number): number {
    assertBatchSize(batchSize, 'batchCount');
    return Math.ceil(this.size / batchSize);
  }

  private order(options: BatchesOptions, where: string): Uint32Array {
    if (options.shuffle) return this.shuffle(options.seed ?? 0, options.epoch ?? 0);
    for (const key of ['seed', 'epoch'] as const) {
      const v = options[key];
      if (v !== undefined) assertInteger(v, key, where);
    }
    const order = new Uint32Array(this.size);
    for (let i = 0; i < order.length; i++) order[i] = i;
    return order;
  }

  private allocBuffers(batchSize: number): BatchBuffers {
    const rows = Math.min(batchSize, this.size);
    return { x: allocFloat32(rows * this.featureSize), y: allocFloat32(rows * this.labelWidth) };
  }

  /**
   * The batches of one epoch, each written into the same two buffers (no allocation per
   * batch): iterate with `for (const b of ds.batches(32, { shuffle: true, seed, epoch }))`.
   * The `Batch` object and its buffers are overwritten by the next batch.
   */
  batches(batchSize: number, options: BatchesOptions = {}): BatchIterator {
    assertBatchSize(batchSize, 'batches');
    let buffers = options.buffers;
    if (buffers === undefined) buffers = this.allocBuffers(batchSize);
    else {
      const rows = Math.min(batchSize, this.size);
      if (buffers.x.length < rows * this.featureSize || buffers.y.length < rows * this.labelWidth) {
        throw new RangeError(
          `batches: buffers too small: need ${rows * this.featureSize} and ${rows * this.labelWidth} floats, got ${buffers.x.length} and ${buffers.y.length}`,
        );
      }
    }
    return new BatchIterator(this, batchSize, this.order(options, 'batches'), buffers);
  }

  /**
   * The batches of one epoch as an async iterator that gathers the next batch into a second
   * buffer while the current one is in use (double buffering):
   * `for await (const b of ds.prefetch(32, { shuffle: true, seed, epoch }))`.
   */
  prefetch(batchSize: number, options: Omit<BatchesOptions, 'buffers'> = {}): PrefetchIterator {
    assertBatchSize(batchSize, 'prefetch');
    const order = this.order(options, 'prefetch');
    return new PrefetchIterator(this, batchSize, order, [this.allocBuffers(batchSize), this.allocBuffers(batchSize)]);
  }
}
