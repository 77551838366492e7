/**
 * Mini-batch iteration over in-memory rows: rows are gathered into buffers allocated once per
 * iteration and reused for every batch, so the training loop allocates nothing per step.
 */
import { Buffer } from 'node:buffer';

/** One mini-batch. The object and its buffers are reused: copy what you need to keep. */
export class Batch {
  /** The batch's rows of features, `size × featureSize` floats (a view on the reused buffer). */
  x: Float32Array;
  /** The batch's rows of labels, `size × labelWidth` floats (a view on the reused buffer). */
  y: Float32Array;
  /** Rows in this batch: `batchSize`, or fewer in the last batch. */
  size = 0;
  /** Which batch of the epoch this is (0-based). */
  index = 0;
  /** Position of the batch's first row in `order`. */
  start = 0;
  /** The epoch's row order (a permutation when shuffled); this batch holds `order[start, start + size)`. */
  order: Uint32Array;

  constructor(x: Float32Array, y: Float32Array, order: Uint32Array) {
    this.x = x;
    this.y = y;
    this.order = order;
  }

  /** The dataset rows in this batch (a small view object, made on request). */
  get indices(): Uint32Array {
    return this.order.subarray(this.start, this.start + this.size);
  }
}

/** Rows at least this wide are copied with one native memcpy each; narrower ones by a JS loop. */
const NATIVE_COPY_MIN_WIDTH = 32;

// Byte views for Buffer#copy, made once per array (a Float32Array cannot be memcpy'd into
// another without a view per row: `set(src.subarray(...))` would allocate one for every row).
const byteViews = new WeakMap<Float32Array, Buffer>();

function bytesOf(a: Float32Array): Buffer {
  let b = byteViews.get(a);
  if (b === undefined) {
    b = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    byteViews.set(a, b);
  }
  return b;
}

/**
 * Copies rows `indices[from..to)` of `src` (rows of `rowWidth` floats) into `out`, one after the
 * other from element `outOffset`. Returns the number of rows copied. Allocates nothing once it
 * has seen `src` and `out`: wide rows go through a native copy on cached byte views (measured
 * 3.5x faster than a loop for MNIST's 784 floats), narrow rows through a plain loop (the call
 * costs more than the copy below ~32 floats).
 */
export function gatherRows(
  src: Float32Array,
  rowWidth: number,
  indices: ArrayLike<number>,
  from: number,
  to: number,
  out: Float32Array,
  outOffset = 0,
): number {
  const rows = rowWidth === 0 ? Infinity : src.length / rowWidth;
  const count = to - from;
  if (outOffset + count * rowWidth > out.length) {
    throw new RangeError(`gatherRows: out has ${out.length} floats, ${count} rows of ${rowWidth} from offset ${outOffset} need ${outOffset + count * rowWidth}`);
  }
  if (rowWidth >= NATIVE_COPY_MIN_WIDTH) {
    const sb = bytesOf(src);
    const ob = bytesOf(out);
    const rowBytes = rowWidth * 4;
    let o = outOffset * 4;
    for (let k = from; k < to; k++) {
      const r = indices[k]!;
      if (!(r >= 0 && r < rows)) throw new RangeError(`gatherRows: index ${r} at position ${k} is outside the ${rows} rows of src`);
      sb.copy(ob, o, r * rowBytes, r * rowBytes + rowBytes);
      o += rowBytes;
    }
    return count;
  }
  let o = outOffset;
  for (let k = from; k < to; k++) {
    const r = indices[k]!;
    if (!(r >= 0 && r < rows)) throw new RangeError(`gatherRows: index ${r} at position ${k} is outside the ${rows} rows of src`);
    let s = r * rowWidth;
    const end = s + rowWidth;
    while (s < end) out[o++] = src[s++]!;
  }
  return count;
}

/** What a batch iterator reads: the flat rows of a dataset. */
export interface BatchSource {
  readonly size: number;
  readonly features: Float32Array;
  readonly featureSize: number;
  readonly labels: Float32Array;
  readonly labelWidth: number;
}

/** Buffers for one batch: `batchSize × featureSize` and `batchSize × labelWidth` floats. */
export interface BatchBuffers {
  x: Float32Array;
  y: Float32Array;
}

/** Fills `batch` with batch `k` of `order`, into the full-size views `x` and `y`. */
function fillBatch(src: BatchSource, order: Uint32Array, batchSize: number, k: number, x: Float32Array, y: Float32Array, batch: Batch): void {
  const start = k * batchSize;
  const end = Math.min(start + batchSize, src.size);
  const size = end - start;
  gatherRows(src.features, src.featureSize, order, start, end, x);
  gatherRows(src.labels, src.labelWidth, order, start, end, y);
  // Full batches hand out the buffers themselves; only a short last batch needs (two) views.
  if (size * src.featureSize === x.length) {
    batch.x = x;
    batch.y = y;
  } else {
    batch.x = x.subarray(0, size * src.featureSize);
    batch.y = y.subarray(0, size * src.labelWidth);
  }
  batch.size = size;
  batch.index = k;
  batch.start = start;
}

/**
 * A synchronous iterator over the batches of one epoch. It reuses one `Batch` and one iterator
 * result object: each `next()` overwrites the previous batch.
 */
export class BatchIterator implements IterableIterator<Batch> {
  /** Number of batches in the epoch: `ceil(size / batchSize)`. */
  readonly count: number;
  private k = 0;
  private readonly batch: Batch;
  private readonly result: IteratorResult<Batch>;
  private readonly x: Float32Array;
  private readonly y: Float32Array;

  constructor(
    private readonly src: BatchSource,
    private readonly batchSize: number,
    private readonly order: Uint32Array,
    buffers: BatchBuffers,
  ) {
    this.count = Math.ceil(src.size / batchSize);
    const rows = Math.min(batchSize, src.size);
    this.x = buffers.x.subarray(0, rows * src.featureSize);
    this.y = buffers.y.subarray(0, rows * src.labelWidth);
    this.batch = new Batch(this.x, this.y, order);
    this.result = { done: false, value: this.batch };
  }

  next(): IteratorResult<Batch> {
    if (this.k >= this.count) return { done: true, value: undefined };
    fillBatch(this.src, this.order, this.batchSize, this.k++, this.x, this.y, this.batch);
    return this.result;
  }

  [Symbol.iterator](): this {
    return this;
  }
}

/**
 * An async iterator over the batches of one epoch, double-buffered: while the caller works on
 * batch k, batch k + 1 is gathered into the other buffer (on the next turn of the event loop,
 * so it overlaps whatever the caller awaits, such as workers computing a step). Asking for the
 * next batch releases the previous one, whose buffer then receives batch k + 2.
 * Call `next()` only after the previous call has resolved.
 */
export class PrefetchIterator implements AsyncIterableIterator<Batch> {
  readonly count: number;
  private k = 0;
  private pending: Promise<void> | undefined;
  private readonly slots: [Batch, Batch];
  private readonly xs: [Float32Array, Float32Array];
  private readonly ys: [Float32Array, Float32Array];

  constructor(
    private readonly src: BatchSource,
    private readonly batchSize: number,
    private readonly order: Uint32Array,
    buffers: [BatchBuffers, BatchBuffers],
  ) {
    this.count = Math.ceil(src.size / batchSize);
    const rows = Math.min(batchSize, src.size);
    this.xs = [buffers[0].x.subarray(0, rows * src.featureSize), buffers[1].x.subarray(0, rows * src.featureSize)];
    this.ys = [buffers[0].y.subarray(0, rows * src.labelWidth), buffers[1].y.subarray(0, rows * src.labelWidth)];
    this.slots = [new Batch(this.xs[0], this.ys[0], order), new Batch(this.xs[1], this.ys[1], order)];
  }

  private fill(k: number): void {
    const s = k & 1;
    fillBatch(this.src, this.order, this.batchSize, k, this.xs[s], this.ys[s], this.slots[s]);
  }

  async next(): Promise<IteratorResult<Batch>> {
    const k = this.k;
    if (k >= this.count) return { done: true, value: undefined };
    if (this.pending !== undefined) await this.pending;
    else this.fill(k);
    this.pending = undefined;
    this.k = k + 1;
    if (k + 1 < this.count) {
      const p = new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          try {
            this.fill(k + 1);
            resolve();
          } catch (err) {
            reject(err);
          }
        });
      });
      // The error surfaces on the next `next()`; if the caller stops first, it must not become
      // an unhandled rejection.
      p.catch(() => {});
      this.pending = p;
    }
    return { done: false, value: this.slots[k & 1] };
  }

  async return(): Promise<IteratorResult<Batch>> {
    this.k = this.count;
    if (this.pending !== undefined) await this.pending.catch(() => {});
    this.pending = undefined;
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
