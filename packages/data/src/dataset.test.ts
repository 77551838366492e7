import { Tensor, tensor, withAllocator, sharedAllocator } from '@loom/tensor';
import { describe, expect, it } from 'vitest';
import { Dataset, gatherRows, assertBatchSize, assertFraction } from './index.js';

/** n samples of 3 features (sample i holds 10i, 10i+1, 10i+2) and one label i. */
function numbered(n: number): Dataset {
  const x = new Float32Array(n * 3);
  for (let i = 0; i < x.length; i++) x[i] = 10 * Math.floor(i / 3) + (i % 3);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = i;
  return Dataset.fromTensors(tensor(x, [n, 3]), tensor(y, [n]));
}

function isPermutation(p: Uint32Array, n: number): boolean {
  if (p.length !== n) return false;
  const seen = new Uint8Array(n);
  for (const v of p) {
    if (v >= n || seen[v]) return false;
    seen[v] = 1;
  }
  return true;
}

describe('Dataset', () => {
  it('describes its tensors', () => {
    const ds = Dataset.fromTensors(tensor(new Float32Array(2 * 4 * 4 * 1), [2, 4, 4, 1]), tensor([[0, 1], [1, 0]]));
    expect(ds.size).toBe(2);
    expect(ds.featureShape).toEqual([4, 4, 1]);
    expect(ds.featureSize).toBe(16);
    expect(ds.labelWidth).toBe(2);
    expect(Dataset.fromTensors(tensor(new Float32Array(6), [3, 2])).labelWidth).toBe(0);
    expect(() => Dataset.fromTensors(tensor(new Float32Array(6), [3, 2]), tensor([1, 2]))).toThrow(
      'Dataset: x has 3 samples (shape [3, 2]) but y has shape [2]',
    );
  });

  it('fromArrays takes flat features and any array of labels', () => {
    const ds = Dataset.fromArrays(new Float32Array(8), [2, 2], Uint8Array.from([3, 7]));
    expect(ds.size).toBe(2);
    expect(ds.y!.shape).toEqual([2]);
    expect(Array.from(ds.labels)).toEqual([3, 7]);
    expect(() => Dataset.fromArrays(new Float32Array(7), [2, 2])).toThrow(/not a whole number of samples/);
    expect(() => Dataset.fromArrays(new Float32Array(8), [2, 2], [1, 2, 3], 2)).toThrow(/y has 3 values, expected 2 samples × labelWidth 2/);
  });

  it('shuffle is a permutation, a pure function of (seed, epoch), different across epochs and seeds', () => {
    const ds = numbered(1000);
    const a = ds.shuffle(42, 0);
    expect(isPermutation(a, 1000)).toBe(true);
    expect(ds.shuffle(42, 0)).toEqual(a);
    expect(numbered(1000).shuffle(42, 0)).toEqual(a);
    const b = ds.shuffle(42, 1);
    expect(isPermutation(b, 1000)).toBe(true);
    expect(b).not.toEqual(a);
    expect(ds.shuffle(43, 0)).not.toEqual(a);
    // Not the identity.
    expect(a.some((v, i) => v !== i)).toBe(true);
    // Written into a caller's buffer.
    const out = new Uint32Array(1000);
    expect(ds.shuffle(42, 1, out)).toBe(out);
    expect(out).toEqual(b);
    expect(() => ds.shuffle(1.5, 0)).toThrow('shuffle: seed must be an integer, got 1.5');
  });

  it('batches cover every sample exactly once, with a short last batch', () => {
    const ds = numbered(103);
    const seen = new Uint32Array(103);
    const sizes: number[] = [];
    const it = ds.batches(10, { shuffle: true, seed: 7, epoch: 3 });
    expect(it.count).toBe(11);
    const order = ds.shuffle(7, 3);
    for (const b of it) {
      sizes.push(b.size);
      expect(b.x.length).toBe(b.size * 3);
      expect(b.y.length).toBe(b.size);
      expect(Array.from(b.indices)).toEqual(Array.from(order.subarray(b.index * 10, b.index * 10 + b.size)));
      for (let r = 0; r < b.size; r++) {
        const i = b.y[r]!;
        seen[i]!++;
        expect(b.indices[r]).toBe(i);
        expect([b.x[3 * r], b.x[3 * r + 1], b.x[3 * r + 2]]).toEqual([10 * i, 10 * i + 1, 10 * i + 2]);
      }
    }
    expect(sizes).toEqual([...new Array<number>(10).fill(10), 3]);
    expect(seen.every((c) => c === 1)).toBe(true);
  });

  it('batches in order without shuffle; one batch when batchSize exceeds the size', () => {
    const ds = numbered(5);
    const labels: number[] = [];
    for (const b of ds.batches(2)) labels.push(...b.y);
    expect(labels).toEqual([0, 1, 2, 3, 4]);
    const all = [...ds.batches(100)].map((b) => b.size);
    expect(all).toEqual([5]);
    expect(ds.batchCount(2)).toBe(3);
  });

  it('reuses the same two buffers for every batch', () => {
    const ds = numbered(50);
    const xs = new Set<ArrayBufferLike>();
    const ys = new Set<ArrayBufferLike>();
    const batchObjects = new Set<unknown>();
    for (const b of ds.batches(8, { shuffle: true, seed: 1 })) {
      xs.add(b.x.buffer);
      ys.add(b.y.buffer);
      batchObjects.add(b);
      expect(b.x.byteOffset).toBe(0);
    }
    expect(xs.size).toBe(1);
    expect(ys.size).toBe(1);
    expect(batchObjects.size).toBe(1);
  });

  it('writes into caller buffers (e.g. shared memory) and into the current allocator', () => {
    const ds = numbered(20);
    const buffers = { x: new Float32Array(new SharedArrayBuffer(4 * 8 * 3)), y: new Float32Array(new SharedArrayBuffer(4 * 8)) };
    for (const b of ds.batches(8, { buffers })) {
      expect(b.x.buffer).toBe(buffers.x.buffer);
      expect(b.y.buffer).toBe(buffers.y.buffer);
    }
    const viaAllocator = withAllocator(sharedAllocator, () => ds.batches(4).next());
    expect(viaAllocator.done).toBe(false);
    expect(viaAllocator.value!.x.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(() => ds.batches(8, { buffers: { x: new Float32Array(3), y: new Float32Array(8) } })).toThrow(/buffers too small/);
  });

  it('prefetch yields the same batches as batches, double-buffered', async () => {
    const ds = numbered(103);
    const expected: number[][] = [];
    for (const b of ds.batches(10, { shuffle: true, seed: 5, epoch: 2 })) expected.push([...b.y]);
    const got: number[][] = [];
    const buffers: ArrayBufferLike[] = [];
    const it = ds.prefetch(10, { shuffle: true, seed: 5, epoch: 2 });
    expect(it.count).toBe(11);
    for await (const b of it) {
      got.push([...b.y]);
      buffers.push(b.x.buffer);
      // While this batch is in use the next one is gathered into the other buffer; this
      // batch's contents must not change under the caller meanwhile.
      const before = [...b.x];
      await new Promise((resolve) => setImmediate(resolve));
      expect([...b.x]).toEqual(before);
    }
    expect(got).toEqual(expected);
    expect(new Set(buffers).size).toBe(2);
    expect(buffers[0]).toBe(buffers[2]);
    expect(buffers[0]).not.toBe(buffers[1]);
  });

  it('prefetch can be abandoned midway', async () => {
    const ds = numbered(30);
    let n = 0;
    for await (const b of ds.prefetch(4)) {
      n += b.size;
      if (n >= 8) break;
    }
    expect(n).toBe(8);
  });

  it('split keeps the LAST fraction as validation, as Keras validationSplit', () => {
    const ds = numbered(10);
    const [train, val] = ds.split(0.3);
    expect(train.size).toBe(7);
    expect(val.size).toBe(3);
    expect(Array.from(train.labels)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(Array.from(val.labels)).toEqual([7, 8, 9]);
    expect(Array.from(val.features)).toEqual([70, 71, 72, 80, 81, 82, 90, 91, 92]);
    // Views, not copies.
    expect(val.features.buffer).toBe(ds.features.buffer);
    // Keras: split_at = floor(n * (1 - fraction)).
    const [t2, v2] = numbered(60000).split(0.1);
    expect([t2.size, v2.size]).toEqual([54000, 6000]);
    expect(() => ds.split(0)).toThrow('split: fraction must be a number strictly between 0 and 1, got 0');
    expect(() => ds.split(1)).toThrow(/strictly between 0 and 1, got 1/);
    expect(() => ds.split(-0.5)).toThrow(/got -0.5/);
    expect(() => ds.split(NaN)).toThrow(/got NaN/);
    expect(() => numbered(3).split(0.9)).toThrow(/split: fraction 0.9 of 3 samples leaves one part empty \(split at 0\)/);
  });

  it('rejects a batch size that is not a positive integer, naming batchSize', () => {
    const ds = numbered(4);
    for (const bad of [0, -1, 2.5, NaN, Infinity]) {
      expect(() => ds.batches(bad)).toThrow(`batches: batchSize must be a positive integer, got ${bad}`);
      expect(() => ds.prefetch(bad)).toThrow(/prefetch: batchSize must be a positive integer/);
    }
    expect(() => ds.batches('8' as unknown as number)).toThrow(/batchSize must be a positive integer, got 8/);
    expect(() => assertBatchSize(0, 'fit')).toThrow('fit: batchSize must be a positive integer, got 0');
    expect(() => assertFraction(1.5, 'validationSplit', 'fit')).toThrow('fit: validationSplit must be a number strictly between 0 and 1, got 1.5');
  });

  it('a dataset without labels batches empty label views', () => {
    const ds = Dataset.fromTensors(new Tensor(new Float32Array([1, 2, 3]), [3, 1]));
    const xs: number[] = [];
    for (const b of ds.batches(2)) {
      expect(b.y.length).toBe(0);
      xs.push(...b.x);
    }
    expect(xs).toEqual([1, 2, 3]);
  });
});

describe('gatherRows', () => {
  it('copies the chosen rows in order, at an offset', () => {
    const src = Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31]);
    const out = new Float32Array(7).fill(-1);
    expect(gatherRows(src, 2, [3, 0, 2, 1], 1, 4, out, 1)).toBe(3);
    expect(Array.from(out)).toEqual([-1, 0, 1, 20, 21, 10, 11]);
  });

  it('copies wide rows (the native-copy path) exactly, including from views at an offset', () => {
    for (const width of [31, 32, 784]) {
      const whole = new Float32Array(6 * width + 5);
      for (let i = 0; i < whole.length; i++) whole[i] = i * 0.5 - 7;
      const src = whole.subarray(5); // a view with a byteOffset
      const out = new Float32Array(4 * width + 3).fill(-1);
      gatherRows(src, width, [5, 0, 3, 3], 0, 4, out, 3);
      expect(Array.from(out.subarray(0, 3))).toEqual([-1, -1, -1]);
      [5, 0, 3, 3].forEach((r, k) => {
        expect(Array.from(out.subarray(3 + k * width, 3 + (k + 1) * width))).toEqual(Array.from(src.subarray(r * width, (r + 1) * width)));
      });
      expect(() => gatherRows(src, width, [6], 0, 1, out)).toThrow(/index 6 at position 0 is outside the 6 rows/);
    }
  });

  it('refuses an index outside src and an out that is too small', () => {
    const src = new Float32Array(4);
    expect(() => gatherRows(src, 2, [2], 0, 1, new Float32Array(2))).toThrow('gatherRows: index 2 at position 0 is outside the 2 rows of src');
    expect(() => gatherRows(src, 2, [0, 1], 0, 2, new Float32Array(3))).toThrow(/out has 3 floats/);
  });
});
