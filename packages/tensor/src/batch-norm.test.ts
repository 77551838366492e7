import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchNormGradStats, batchNormInputGrad, batchNormNormalize, batchNormRowStats } from './batch-norm.js';
import { Random } from './random.js';
import { attachWasmBackend, compileWasmKernels, createWasmMemory, detachWasmBackend, resetWasmMemory, wasmAllocator } from './wasm/backend.js';
import { wasmBatchNormGradStats, wasmBatchNormInputGrad, wasmBatchNormNormalize, wasmBatchNormRowStats } from './wasm/batch-norm-hooks.js';

const rng = new Random(31);
/** Uniform in [offset − 1, offset + 1): an offset makes the two-pass variance matter. */
const fill = <T extends Float32Array | Float64Array>(a: T, offset = 0): T => {
  for (let i = 0; i < a.length; i++) a[i] = offset + rng.uniform() * 2 - 1;
  return a;
};
/** The kernels take Float32Array; the float64 checks run the same JavaScript loops on Float64Array. */
const f32 = (a: Float64Array) => a as unknown as Float32Array;
const relClose = (got: number, want: number, tol: number) => expect(Math.abs(got - want)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));

/** Channel counts: below, at and past one vector of 4, every tail length, and the convnet's. */
const CHANNELS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 32, 64];
const POSITIONS = [1, 3, 7, 12];

/** The batch statistics from the per-row ones, as the layer combines them (in row order, Chan et al.). */
function combine(stats: ArrayLike<number>, rows: number, p: number, c: number, epsilon: number) {
  const mean = new Float64Array(c), invStd = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += stats[r * 2 * c + ch]!;
    const mu = sum / rows;
    let m2 = 0;
    for (let r = 0; r < rows; r++) m2 += stats[r * 2 * c + c + ch]! + p * (stats[r * 2 * c + ch]! - mu) ** 2;
    mean[ch] = mu;
    invStd[ch] = 1 / Math.sqrt(m2 / (rows * p) + epsilon);
  }
  return { mean, invStd };
}

/** Σ over rows of each per-row statistic: [Σ first half, Σ second half] per channel. */
function sumRows(stats: ArrayLike<number>, rows: number, c: number) {
  const s1 = new Float64Array(c), s2 = new Float64Array(c);
  for (let r = 0; r < rows; r++) for (let ch = 0; ch < c; ch++) {
    s1[ch] += stats[r * 2 * c + ch]!;
    s2[ch] += stats[r * 2 * c + c + ch]!;
  }
  return { s1, s2 };
}

describe('batch-norm kernels (the JavaScript references)', () => {
  it('row statistics are each row’s mean and Σ (x − mean)², per channel', () => {
    const rows = 3;
    for (const c of CHANNELS) for (const p of POSITIONS) {
      const x = fill(new Float32Array(rows * p * c), 5), out = fill(new Float32Array(rows * 2 * c));
      batchNormRowStats(x, rows, p, c, out);
      for (let r = 0; r < rows; r++) for (let ch = 0; ch < c; ch++) {
        const vals = Array.from({ length: p }, (_, i) => x[r * p * c + i * c + ch]!);
        const mean = vals.reduce((s, v) => s + v, 0) / p;
        relClose(out[r * 2 * c + ch]!, mean, 1e-6);
        expect(Math.abs(out[r * 2 * c + c + ch]! - vals.reduce((s, v) => s + (v - mean) ** 2, 0))).toBeLessThan(1e-6 * p);
      }
    }
  });

  it('normalize gives x̂ = (x − μ)·invStd and y = γ·x̂ + β, with γ and β optional', () => {
    const rows = 2;
    for (const c of CHANNELS) for (const p of [1, 5]) for (const affine of [true, false]) {
      const n = rows * p * c, x = fill(new Float32Array(n), 2);
      const mean = fill(new Float64Array(c), 2), invStd = fill(new Float64Array(c), 3);
      const gamma = affine ? fill(new Float32Array(c), 1) : null, beta = affine ? fill(new Float32Array(c)) : null;
      const xhat = new Float32Array(n), y = new Float32Array(n);
      batchNormNormalize(x, rows, p, c, mean, invStd, gamma, beta, xhat, y);
      for (let i = 0; i < n; i++) {
        const ch = i % c, h = (x[i]! - mean[ch]!) * invStd[ch]!;
        relClose(xhat[i]!, h, 1e-6);
        relClose(y[i]!, (gamma ? gamma[ch]! : 1) * h + (beta ? beta[ch]! : 0), 1e-6);
      }
    }
  });

  it('gradient statistics are each row’s Σ dy and Σ dy·x̂; dx follows k·(dy − S1/N − x̂·S2/N)', () => {
    const rows = 3;
    for (const c of CHANNELS) for (const p of [1, 4]) for (const affine of [true, false]) {
      const n = rows * p * c, dy = fill(new Float32Array(n)), xhat = fill(new Float32Array(n));
      const out = new Float32Array(rows * 2 * c);
      batchNormGradStats(dy, xhat, rows, p, c, out);
      for (let r = 0; r < rows; r++) for (let ch = 0; ch < c; ch++) {
        let s1 = 0, s2 = 0;
        for (let i = 0; i < p; i++) {
          const o = r * p * c + i * c + ch;
          s1 += dy[o]!;
          s2 += dy[o]! * xhat[o]!;
        }
        relClose(out[r * 2 * c + ch]!, s1, 1e-6);
        relClose(out[r * 2 * c + c + ch]!, s2, 1e-6);
      }
      const { s1, s2 } = sumRows(out, rows, c);
      const gamma = affine ? fill(new Float32Array(c), 1) : null, invStd = fill(new Float64Array(c), 2);
      const dx = new Float32Array(n), count = rows * p;
      batchNormInputGrad(dy, xhat, rows, p, c, gamma, invStd, s1, s2, count, dx);
      for (let i = 0; i < n; i++) {
        const ch = i % c;
        relClose(dx[i]!, (gamma ? gamma[ch]! : 1) * invStd[ch]! * (dy[i]! - s1[ch]! / count - xhat[i]! * s2[ch]! / count), 1e-6);
      }
    }
  });
});

describe('the batch-norm transform in float64: dx, dγ and dβ against central differences', () => {
  const epsilon = 1e-3;
  /** y of the training-mode transform, with the batch statistics combined from the row statistics. */
  function transform(x: Float64Array, rows: number, p: number, c: number, gamma: Float64Array, beta: Float64Array) {
    const stats = new Float64Array(rows * 2 * c);
    batchNormRowStats(f32(x), rows, p, c, f32(stats));
    const { mean, invStd } = combine(stats, rows, p, c, epsilon);
    const xhat = new Float64Array(x.length), y = new Float64Array(x.length);
    batchNormNormalize(f32(x), rows, p, c, mean, invStd, f32(gamma), f32(beta), f32(xhat), f32(y));
    return { xhat, y, invStd };
  }
  const loss = (y: Float64Array, w: Float64Array) => y.reduce((s, v, i) => s + v * w[i]!, 0);

  for (const [shape, rows] of [[[3, 4, 2], 3], [[5], 4], [[2, 3, 3], 2], [[7], 6]] as const) {
    it(`per-sample shape [${shape.join(', ')}], ${rows} rows`, () => {
      const c = shape[shape.length - 1]!, p = shape.reduce((a, b) => a * b, 1) / c, n = rows * p * c;
      const x = fill(new Float64Array(n), 1), w = fill(new Float64Array(n));
      const gamma = fill(new Float64Array(c), 1.5), beta = fill(new Float64Array(c));
      const { xhat, invStd } = transform(x, rows, p, c, gamma, beta);
      // Backward with dy = w, as the layer runs it.
      const gstats = new Float64Array(rows * 2 * c);
      batchNormGradStats(f32(w), f32(xhat), rows, p, c, f32(gstats));
      const { s1, s2 } = sumRows(gstats, rows, c);
      const dx = new Float64Array(n);
      batchNormInputGrad(f32(w), f32(xhat), rows, p, c, f32(gamma), invStd, s1, s2, rows * p, f32(dx));

      const h = 1e-5;
      const central = (a: Float64Array, i: number) => {
        const keep = a[i]!;
        a[i] = keep + h;
        const up = loss(transform(x, rows, p, c, gamma, beta).y, w);
        a[i] = keep - h;
        const down = loss(transform(x, rows, p, c, gamma, beta).y, w);
        a[i] = keep;
        return (up - down) / (2 * h);
      };
      for (let i = 0; i < n; i++) expect(Math.abs(dx[i]! - central(x, i))).toBeLessThan(1e-7);
      for (let ch = 0; ch < c; ch++) {
        expect(Math.abs(s2[ch]! - central(gamma, ch))).toBeLessThan(1e-7); // dγ = Σ dy·x̂
        expect(Math.abs(s1[ch]! - central(beta, ch))).toBeLessThan(1e-7); // dβ = Σ dy
      }
      // Not vacuous: the batch statistics' share of dx is there (dx is not just γ·invStd·dy).
      const naive = Array.from(w, (v, i) => gamma[i % c]! * invStd[i % c]! * v);
      expect(Math.max(...naive.map((v, i) => Math.abs(v - dx[i]!)))).toBeGreaterThan(1e-3);
    });
  }
});

for (const relaxed of [false, true]) {
  describe(`the wasm batch-norm kernels (${relaxed ? 'relaxed SIMD' : 'SIMD128'} build) against the JavaScript references`, () => {
    const compiled = compileWasmKernels({ relaxed });
    beforeAll(() => { attachWasmBackend(compiled!.module, createWasmMemory(1 << 22), compiled!.relaxed); });
    afterAll(() => detachWasmBackend());
    /** A wasm-memory copy of a heap array (the heap one runs the reference). */
    const inWasm = (a: Float32Array) => { const w = wasmAllocator.float32(a.length); w.set(a); return w; };
    // The wasm kernels do the reference's float64 operations in its order (batch-norm-wat.ts),
    // so the comparison is of bits, stricter than the 1e-6 the design needs.
    const same = (got: Float32Array, want: Float32Array) => expect(Array.from(got)).toEqual(Array.from(want));

    it('give the reference’s bits for every channel tail, with and without γ and β', () => {
      const rows = 3;
      for (const c of CHANNELS) for (const p of POSITIONS) for (const affine of [true, false]) {
        const n = rows * p * c;
        const x = fill(new Float32Array(n), 3), dy = fill(new Float32Array(n));
        const gamma = affine ? fill(new Float32Array(c), 1) : null, beta = affine ? fill(new Float32Array(c)) : null;
        // Stale values in the outputs: every one is overwritten.
        const heap = { stats: fill(new Float32Array(rows * 2 * c)), xhat: fill(new Float32Array(n)), y: fill(new Float32Array(n)),
          gstats: fill(new Float32Array(rows * 2 * c)), dx: fill(new Float32Array(n)) };
        const wasm = { stats: inWasm(heap.stats), xhat: inWasm(heap.xhat), y: inWasm(heap.y), gstats: inWasm(heap.gstats), dx: inWasm(heap.dx) };
        const wx = inWasm(x), wdy = inWasm(dy);
        expect(wasmBatchNormRowStats(wx, rows, p, c, wasm.stats)).toBe(true);
        batchNormRowStats(x, rows, p, c, heap.stats);
        same(wasm.stats, heap.stats);
        const { mean, invStd } = combine(heap.stats, rows, p, c, 1e-3);
        expect(wasmBatchNormNormalize(wx, rows, p, c, mean, invStd, gamma, beta, wasm.xhat, wasm.y)).toBe(true);
        batchNormNormalize(x, rows, p, c, mean, invStd, gamma, beta, heap.xhat, heap.y);
        same(wasm.xhat, heap.xhat);
        same(wasm.y, heap.y);
        expect(wasmBatchNormGradStats(wdy, wasm.xhat, rows, p, c, wasm.gstats)).toBe(true);
        batchNormGradStats(dy, heap.xhat, rows, p, c, heap.gstats);
        same(wasm.gstats, heap.gstats);
        const { s1, s2 } = sumRows(heap.gstats, rows, c);
        expect(wasmBatchNormInputGrad(wdy, wasm.xhat, rows, p, c, gamma, invStd, s1, s2, rows * p, wasm.dx)).toBe(true);
        batchNormInputGrad(dy, heap.xhat, rows, p, c, gamma, invStd, s1, s2, rows * p, heap.dx);
        same(wasm.dx, heap.dx);
        // And only the rows asked for are written.
        const guard = wasmAllocator.float32(n + 4).fill(7);
        batchNormNormalize(wx, rows, p, c, mean, invStd, gamma, beta, guard, guard);
        expect(Array.from(guard.subarray(n))).toEqual([7, 7, 7, 7]);
      }
    });

    it('give a row the same statistics whatever rows share its call (each row alone)', () => {
      const rows = 5, p = 9, c = 6, n = rows * p * c;
      const x = inWasm(fill(new Float32Array(n), 1)), xhat = inWasm(fill(new Float32Array(n)));
      const all = wasmAllocator.float32(rows * 2 * c), parts = wasmAllocator.float32(rows * 2 * c);
      batchNormRowStats(x, rows, p, c, all);
      batchNormRowStats(x, 2, p, c, parts);
      batchNormRowStats(x.subarray(2 * p * c), 3, p, c, parts.subarray(2 * 2 * c));
      same(parts, all);
      batchNormGradStats(x, xhat, rows, p, c, all);
      batchNormGradStats(x, xhat, 1, p, c, parts);
      batchNormGradStats(x.subarray(p * c), xhat.subarray(p * c), 4, p, c, parts.subarray(2 * c));
      same(parts, all);
    });

    it('keep their constants scratch out of what an arena reset hands out again', () => {
      const memory = createWasmMemory(1 << 20);
      attachWasmBackend(compiled!.module, memory, compiled!.relaxed);
      const c = 5, p = 3, n = p * c, mean = fill(new Float64Array(c)), invStd = fill(new Float64Array(c), 2);
      const arrays = () => [wasmAllocator.float32(n), wasmAllocator.float32(n), wasmAllocator.float32(n)] as const;
      const run = ([x, xhat, y]: readonly Float32Array[]) => expect(wasmBatchNormNormalize(x!, 1, p, c, mean, invStd, null, null, xhat!, y!)).toBe(true);
      run(arrays()); // the scratch is allocated next, after the three arrays
      resetWasmMemory(memory);
      const again = arrays();
      // Where the first scratch was: a stale scratch would be written over this.
      const guard = wasmAllocator.float32(4 * 2 * c).fill(7);
      run(again);
      expect(guard.every((v) => v === 7)).toBe(true);
      attachWasmBackend(compiled!.module, createWasmMemory(1 << 22), compiled!.relaxed);
    });

    it('keep working when their constants scratch is the allocation that grows the memory', () => {
      // The scratch's view must be made on the grown buffer (it was once made on the old one).
      const memory = createWasmMemory(1 << 16);
      attachWasmBackend(compiled!.module, memory, compiled!.relaxed);
      const c = 2048, p = 1, n = p * c, mean = fill(new Float64Array(c)), invStd = fill(new Float64Array(c), 2);
      const [x, xhat, y] = [wasmAllocator.float32(n), wasmAllocator.float32(n), wasmAllocator.float32(n)];
      const room = memory.buffer.byteLength;
      expect(wasmBatchNormNormalize(x, 1, p, c, mean, invStd, null, null, xhat, y)).toBe(true);
      expect(memory.buffer.byteLength).toBeGreaterThan(room);
      attachWasmBackend(compiled!.module, createWasmMemory(1 << 22), compiled!.relaxed);
    });

    it('run only when every array lives in the memory, and refuse views too short', () => {
      const c = 4, p = 2, rows = 2, n = rows * p * c;
      const mean = new Float64Array(c), invStd = new Float64Array(c).fill(1);
      expect(wasmBatchNormRowStats(new Float32Array(n), rows, p, c, wasmAllocator.float32(2 * rows * c))).toBe(false);
      expect(wasmBatchNormNormalize(wasmAllocator.float32(n), rows, p, c, mean, invStd, null, null, wasmAllocator.float32(n), new Float32Array(n))).toBe(false);
      expect(() => wasmBatchNormRowStats(wasmAllocator.float32(n - 1), rows, p, c, wasmAllocator.float32(2 * rows * c))).toThrow(/x has 15 elements, 16/);
      expect(() => wasmBatchNormNormalize(wasmAllocator.float32(n), rows, p, c, new Float64Array(3), invStd, null, null,
        wasmAllocator.float32(n), wasmAllocator.float32(n))).toThrow(/mean has 3 elements/);
      expect(() => wasmBatchNormInputGrad(wasmAllocator.float32(n), wasmAllocator.float32(n), rows, p, c, null, invStd, mean, mean, 4,
        wasmAllocator.float32(n - 4))).toThrow(/dx has 12 elements/);
    });
  });
}
