import { describe, expect, it } from 'vitest';
import { gemm, matmul } from './matmul.js';
import { Random, randomUniform } from './random.js';
import { tensor, zeros } from './tensor.js';

function naive(m: number, n: number, k: number, a: Float32Array, ta: boolean, b: Float32Array, tb: boolean): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (ta ? a[p * m + i]! : a[i * k + p]!) * (tb ? b[j * k + p]! : b[p * n + j]!);
      c[i * n + j] = s;
    }
  return c;
}

describe('matmul', () => {
  const sizes = [1, 7, 33, 257];
  const rng = new Random(7);
  for (const ta of [false, true])
    for (const tb of [false, true])
      it(`matches a naive triple loop, transposeA=${ta} transposeB=${tb}`, () => {
        for (const [m, k, n] of [[1, 1, 1], [7, 33, 1], [33, 7, 257], [257, 33, 7], [1, 257, 33], [33, 257, 7]] as const) {
          expect(sizes).toContain(m);
          const a = randomUniform(ta ? [k, m] : [m, k], -1, 1, rng);
          const b = randomUniform(tb ? [n, k] : [k, n], -1, 1, rng);
          const c = matmul(a, b, { transposeA: ta, transposeB: tb });
          expect(c.shape).toEqual([m, n]);
          const ref = naive(m, n, k, a.data, ta, b.data, tb);
          for (let i = 0; i < ref.length; i++) expect(Math.abs(c.data[i]! - ref[i]!)).toBeLessThan(1e-5 * Math.sqrt(k) + 1e-6);
        }
      });

  it('handles the 257×257×257 case in all layouts', () => {
    const n = 257;
    const a = randomUniform([n, n], -1, 1, rng), b = randomUniform([n, n], -1, 1, rng);
    for (const ta of [false, true])
      for (const tb of [false, true]) {
        const c = matmul(a, b, { transposeA: ta, transposeB: tb });
        const ref = naive(n, n, n, a.data, ta, b.data, tb);
        let worst = 0;
        for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(c.data[i]! - ref[i]!));
        expect(worst).toBeLessThan(1e-4);
      }
  });

  it('writes into out and accumulates when asked', () => {
    const a = tensor([[1, 2], [3, 4]]), b = tensor([[5, 6], [7, 8]]);
    const out = zeros([2, 2]);
    expect(matmul(a, b, { out })).toBe(out);
    expect(Array.from(out.data)).toEqual([19, 22, 43, 50]);
    matmul(a, b, { out, accumulate: true });
    expect(Array.from(out.data)).toEqual([38, 44, 86, 100]);
  });

  it('gives a row the same bits whatever the number of rows beside it (small and packed paths agree)', () => {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const k = 600, n = 37, rows = 9;
      const a = randomUniform(ta ? [k, rows] : [rows, k], -1, 1, rng).data;
      const b = randomUniform(tb ? [n, k] : [k, n], -1, 1, rng).data;
      const all = new Float32Array(rows * n);
      gemm(rows, n, k, a, ta, b, tb, all);
      for (let i = 0; i < rows; i++) {
        // Row i alone (m = 1 takes the unpacked path).
        const ai = new Float32Array(k);
        for (let p = 0; p < k; p++) ai[p] = ta ? a[p * rows + i]! : a[i * k + p]!;
        const one = new Float32Array(n);
        gemm(1, n, k, ai, false, b, tb, one);
        expect(one).toEqual(all.subarray(i * n, (i + 1) * n));
      }
    }
    const nan = new Float32Array([NaN, 1]);
    const out = new Float32Array(2);
    gemm(1, 2, 1, new Float32Array([0]), false, nan, false, out);
    expect(Number.isNaN(out[0]!)).toBe(true);
  });

  it('with lda, a block of rows of op(A) gives the same bits as those rows of the whole product', () => {
    // A worker's share of a weight gradient: rows [i0, i1) of Xᵀ·dZ read from the whole batch X.
    for (const ta of [true, false]) {
      const m = 23, k = 300, n = 13;
      const a = randomUniform(ta ? [k, m] : [m, k], -1, 1, rng).data;
      const b = randomUniform([k, n], -1, 1, rng).data;
      const all = new Float32Array(m * n);
      gemm(m, n, k, a, ta, b, false, all);
      for (const [i0, i1] of [[0, 9], [9, 11], [11, 23], [5, 6]] as const) {
        const block = new Float32Array((i1 - i0) * n);
        gemm(i1 - i0, n, k, ta ? a.subarray(i0) : a.subarray(i0 * k), ta, b, false, block, false, ta ? m : k);
        expect(block).toEqual(all.subarray(i0 * n, i1 * n));
      }
    }
  });

  it('gemm with k = 0 yields zeros', () => {
    const c = new Float32Array([1, 2]);
    gemm(1, 2, 0, new Float32Array(0), false, new Float32Array(0), false, c);
    expect(Array.from(c)).toEqual([0, 0]);
  });

  it('names both shapes when the inner dimensions differ', () => {
    expect(() => matmul(zeros([2, 3]), zeros([4, 5]))).toThrow(/a \[2, 3\].*b \[4, 5\].*3 vs 4/);
    expect(() => matmul(zeros([2]), zeros([2, 2]))).toThrow(/a must be rank 2/);
    expect(() => matmul(zeros([2, 3]), zeros([3, 5]), { out: zeros([2, 4]) })).toThrow(/out must have shape \[2, 5\], got \[2, 4\]/);
  });
});
