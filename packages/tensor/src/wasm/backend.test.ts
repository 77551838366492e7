import { afterAll, describe, expect, it } from 'vitest';
import { gemm } from '../matmul.js';
import { columnSums } from '../reduce.js';
import { Random } from '../random.js';
import {
  adoptWasmView, attachWasmBackend, compileWasmKernels, createWasmMemory, detachWasmBackend, inWasmMemory, requestedBackend, wasmAllocator,
  wasmActivationGradBias, wasmBiasActivation,
} from './backend.js';

const rng = new Random(17);
const fill = (a: Float32Array) => { for (let i = 0; i < a.length; i++) a[i] = rng.uniform() * 2 - 1; return a; };

afterAll(() => detachWasmBackend());

// float32 fma(a, b, c), correctly rounded: a·b is exact in float64, the float64 sum is rounded
// to odd (its last bit set when inexact), and round-to-odd then one rounding to float32 is the
// correctly rounded result (float64 has more than the 2 extra bits that needs).
const f64 = new Float64Array(1), u32 = new Uint32Array(f64.buffer); // u32[0]: the low word (little-endian)
function fmaf(a: number, b: number, c: number): number {
  const p = a * b, s = p + c;
  const bv = s - p, e = (p - (s - bv)) + (c - bv); // s + e = p + c exactly (TwoSum)
  if (e === 0 || !Number.isFinite(s)) return Math.fround(s);
  f64[0] = s;
  if ((u32[0]! & 1) === 0) {
    if ((e > 0) === (s > 0)) u32[0] = u32[0]! + 1; // even + 1 cannot carry
    else if (u32[0] === 0) { u32[0] = 0xffffffff; u32[1] = u32[1]! - 1; }
    else u32[0] = u32[0]! - 1;
  }
  return Math.fround(f64[0]);
}
const DEPTH_BLOCK = 256; // wasmGemm's KC

/**
 * What the wasm gemm promises, bit for bit: each element of C is, per depth block of 256, the
 * float32 sum over p in ascending order of madd(A(i, p), B(p, j), s) from s = 0 (fused, or a
 * rounded product then a rounded add), added to C (float32) after the first block or with
 * `accumulate`.
 */
function exactGemm(
  m: number, n: number, k: number, a: Float32Array, ta: boolean, b: Float32Array, tb: boolean, c: Float32Array,
  accumulate: boolean, lda: number, fused: boolean,
): void {
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let cij = accumulate ? c[i * n + j]! : 0;
      for (let pc = 0; pc < k; pc += DEPTH_BLOCK) {
        let s = 0;
        for (let p = pc; p < Math.min(k, pc + DEPTH_BLOCK); p++) {
          const x = ta ? a[p * lda + i]! : a[i * lda + p]!, y = tb ? b[j * k + p]! : b[p * n + j]!;
          s = fused ? fmaf(x, y, s) : Math.fround(s + Math.fround(x * y));
        }
        cij = pc === 0 && !accumulate ? s : Math.fround(cij + s);
      }
      c[i * n + j] = cij;
    }
}

for (const relaxed of [false, true]) {
  describe(`wasm kernels (${relaxed ? 'relaxed SIMD' : 'SIMD128'})`, () => {
    const compiled = compileWasmKernels({ relaxed });
    it('are built by npm run build and load', () => {
      expect(compiled).not.toBeNull();
      if (relaxed) expect(typeof compiled!.relaxed).toBe('boolean');
      else expect(compiled!.relaxed).toBe(false);
    });

    it('match the JavaScript kernel within float32 rounding for every transpose and odd sizes', () => {
      const memory = createWasmMemory(1 << 20);
      attachWasmBackend(compiled!.module, memory, compiled!.relaxed);
      // Past 256 deep (two depth blocks, the second not a multiple of 4), past 128 rows (B
      // packed even when contiguous), short of 8 columns, and 1, 2 or 3 rows past a multiple of
      // 4 (the last panel's tails), so every packing and storing path runs.
      const shapes = [[1, 1, 1], [7, 33, 1], [33, 7, 257], [257, 33, 7], [1, 257, 33], [13, 100, 50], [100, 784, 10], [130, 301, 20], [9, 262, 17], [2, 5, 16], [6, 40, 19], [50, 30, 24]] as const;
      for (const [m, k, n] of shapes)
        for (const ta of [false, true])
          for (const tb of [false, true]) {
            const a = fill(wasmAllocator.float32(m * k)), b = fill(wasmAllocator.float32(k * n));
            const c = wasmAllocator.float32(m * n);
            expect(inWasmMemory(a) && inWasmMemory(c)).toBe(true);
            gemm(m, n, k, a, ta, b, tb, c);
            const ref = new Float32Array(m * n);
            gemm(m, n, k, a.slice(), ta, b.slice(), tb, ref); // heap copies: the JS kernel
            for (let i = 0; i < ref.length; i++) expect(Math.abs(c[i]! - ref[i]!)).toBeLessThan(2e-6 * k + 1e-6);
            gemm(m, n, k, a, ta, b, tb, c, true);
            for (let i = 0; i < ref.length; i++) expect(Math.abs(c[i]! - 2 * ref[i]!)).toBeLessThan(4e-6 * k + 1e-6);
          }
    });

    it('give exactly the depth-blocked multiply-add sums in order, for every shape and layout', () => {
      const memory = createWasmMemory(1 << 22);
      attachWasmBackend(compiled!.module, memory, compiled!.relaxed);
      // Fused or not: the plain build multiplies then adds; the relaxed madd fuses where the
      // CPU has FMA. 1·w + x·y with x = y = 1 + 2⁻¹², w = −1 tells them apart.
      const pa = wasmAllocator.float32(2), pb = wasmAllocator.float32(2), pcv = wasmAllocator.float32(1);
      pa.set([1, 1 + 2 ** -12]); pb.set([-1, 1 + 2 ** -12]);
      gemm(1, 1, 2, pa, false, pb, false, pcv);
      const fused = pcv[0] === 2 ** -11 + 2 ** -24;
      expect(fused || pcv[0] === 2 ** -11).toBe(true);
      if (!relaxed) expect(fused).toBe(false);
      const dims = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33, 36, 40, 47, 48, 64, 65, 70];
      const pick = () => dims[Math.floor(rng.uniform() * dims.length)]!;
      const shapes: [number, number, number][] = [];
      for (let t = 0; t < 160; t++) shapes.push([pick(), pick(), pick()]);
      // Depth blocks (255 to 513 deep), B packed from 128 rows, and the 1×32 row tail.
      shapes.push([3, 9, 255], [5, 33, 256], [2, 17, 257], [9, 40, 300], [1, 70, 513], [128, 9, 20], [131, 33, 7], [133, 64, 5]);
      shapes.push([1, 32, 9], [5, 64, 16], [9, 32, 33], [13, 70, 12], [17, 96, 5], [1, 100, 3]);
      let cases = 0;
      for (const [m, n, k] of shapes)
        for (const ta of [false, true])
          for (const tb of [false, true])
            for (const extra of [0, 3]) {
              const accumulate = (m + n + k + extra) % 2 === 1;
              const lda = (ta ? m : k) + extra;
              const a = fill(wasmAllocator.float32((ta ? k : m) * lda)), b = fill(wasmAllocator.float32(k * n));
              const c = fill(wasmAllocator.float32(m * n));
              const ref = c.slice();
              gemm(m, n, k, a, ta, b, tb, c, accumulate, lda);
              exactGemm(m, n, k, a, ta, b, tb, ref, accumulate, lda, fused);
              const bits = new Uint32Array(c.buffer, c.byteOffset, c.length), want = new Uint32Array(ref.buffer);
              let bad = -1;
              for (let i = 0; i < want.length && bad < 0; i++) if (bits[i] !== want[i]) bad = i;
              expect(bad, `m=${m} n=${n} k=${k} ta=${ta} tb=${tb} acc=${accumulate} lda=${lda}`).toBe(-1);
              cases++;
            }
      expect(cases).toBe(shapes.length * 8);
    });

    it('give a row the same bits whatever the number of rows beside it', () => {
      // 131 rows: B is packed for the batch but read in place for one row, and row 130 is a tail.
      const k = 300, n = 21, rows = 131;
      for (const [ta, tb] of [[false, false], [true, false], [false, true]] as const) {
        const a = fill(wasmAllocator.float32(rows * k)), b = fill(wasmAllocator.float32(k * n));
        const all = wasmAllocator.float32(rows * n);
        gemm(rows, n, k, a, ta, b, tb, all);
        const one = wasmAllocator.float32(n), ai = wasmAllocator.float32(k);
        for (let i = 0; i < rows; i++) {
          for (let p = 0; p < k; p++) ai[p] = ta ? a[p * rows + i]! : a[i * k + p]!;
          gemm(1, n, k, ai, false, b, tb, one);
          expect(Array.from(one)).toEqual(Array.from(all.subarray(i * n, (i + 1) * n)));
        }
      }
    });

    it('with lda, give a block of rows of op(A) the bits of those rows of the whole product', () => {
      const m = 150, k = 130, n = 19; // 150 rows: B packed for the whole, not for the short blocks
      const a = fill(wasmAllocator.float32(k * m)), b = fill(wasmAllocator.float32(k * n));
      const all = wasmAllocator.float32(m * n);
      gemm(m, n, k, a, true, b, false, all);
      for (const [i0, i1] of [[0, 74], [74, 75], [75, 77], [77, 150]] as const) {
        const block = wasmAllocator.float32((i1 - i0) * n);
        gemm(i1 - i0, n, k, a.subarray(i0), true, b, false, block, false, m);
        expect(Array.from(block)).toEqual(Array.from(all.subarray(i0 * n, i1 * n)));
      }
    });
  });
}

describe('the wasm dense epilogues', () => {
  // The rules as the JavaScript layers write them (the reference), in float64 then rounded.
  const act = (name: string, v: number, alpha: number) => (name === 'linear' || v > 0 ? v : name === 'relu' ? 0 : alpha * v);
  const grad = (name: string, z: number, dy: number, alpha: number) => (name === 'linear' || z > 0 ? dy : name === 'relu' ? 0 : alpha * dy);
  const rows = 5, cols = 19; // a scalar tail after the vector part of every row
  const special = [NaN, -0, 0, Infinity, -Infinity];

  it('add the bias and apply the activation as the JavaScript kernels do', () => {
    const compiled = compileWasmKernels()!;
    attachWasmBackend(compiled.module, createWasmMemory(1 << 20), compiled.relaxed);
    for (const name of ['linear', 'relu', 'leaky_relu'])
      for (const withBias of [false, true]) {
        const z = fill(wasmAllocator.float32(rows * cols)), y = name === 'linear' ? z : wasmAllocator.float32(rows * cols);
        special.forEach((v, i) => { z[i * 3] = v; });
        const bias = withBias ? fill(wasmAllocator.float32(cols)) : null;
        const ref = Float32Array.from(z, (v, i) => (bias ? Math.fround(v + bias[i % cols]!) : v));
        const refY = Float32Array.from(ref, (v) => act(name, v, 0.25));
        expect(wasmBiasActivation(z, y, bias, rows, cols, name, 0.25)).toBe(true);
        expect(Array.from(z)).toEqual(Array.from(ref));
        expect(Array.from(y)).toEqual(Array.from(refY));
      }
    detachWasmBackend();
  });

  it('give the activation and bias gradients as the JavaScript kernels do', () => {
    const compiled = compileWasmKernels()!;
    attachWasmBackend(compiled.module, createWasmMemory(1 << 20), compiled.relaxed);
    for (const name of ['linear', 'relu', 'leaky_relu'])
      for (const withBias of [false, true]) {
        const z = fill(wasmAllocator.float32(rows * cols)), dy = fill(wasmAllocator.float32(rows * cols));
        special.forEach((v, i) => { z[i * 3 + 1] = v; });
        const dz = name === 'linear' ? dy : wasmAllocator.float32(rows * cols);
        const db = withBias ? fill(wasmAllocator.float32(cols)) : null; // stale values are overwritten
        const refDz = Float32Array.from(dy, (g, i) => grad(name, z[i]!, g, 0.25));
        const refDb = new Float32Array(cols);
        for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) refDb[j] += refDz[r * cols + j]!;
        expect(wasmActivationGradBias(z, dy, dz, db, rows, cols, name, 0.25)).toBe(true);
        expect(Array.from(dz)).toEqual(Array.from(refDz));
        if (db) expect(Array.from(db)).toEqual(Array.from(refDb));
      }
    detachWasmBackend();
  });

  it('decline activations they do not have and operands outside the memory', () => {
    const compiled = compileWasmKernels()!;
    attachWasmBackend(compiled.module, createWasmMemory(1 << 20), compiled.relaxed);
    const z = wasmAllocator.float32(4), y = wasmAllocator.float32(4);
    expect(wasmBiasActivation(z, y, null, 1, 4, 'sigmoid', 0)).toBe(false);
    expect(wasmBiasActivation(z, new Float32Array(4), null, 1, 4, 'relu', 0)).toBe(false);
    expect(wasmActivationGradBias(z, y, y, new Float32Array(4), 1, 4, 'relu', 0)).toBe(false);
    detachWasmBackend();
    expect(wasmBiasActivation(z, y, null, 1, 4, 'relu', 0)).toBe(false);
  });
});

describe('the wasm allocator', () => {
  it('hands out aligned, zeroed, disjoint views and grows the memory', () => {
    const compiled = compileWasmKernels({ relaxed: false })!;
    const memory = createWasmMemory(65536);
    attachWasmBackend(compiled.module, memory, false);
    const a = wasmAllocator.float32(3), b = wasmAllocator.float32(5);
    expect(a.byteOffset % 16).toBe(0);
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + 12);
    const big = wasmAllocator.float32(100_000); // beyond the first 64 KiB page: grows
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(big.byteOffset + big.byteLength);
    expect(big.every((v) => v === 0)).toBe(true);
    expect(inWasmMemory(big)).toBe(true);
    expect(inWasmMemory(new Float32Array(4))).toBe(false);
    // A view of the same memory made elsewhere (another buffer object) is adopted by offset.
    const foreign = new Float32Array(memory.buffer as SharedArrayBuffer, a.byteOffset, a.length);
    expect(adoptWasmView(foreign).byteOffset).toBe(a.byteOffset);
    detachWasmBackend();
    expect(inWasmMemory(a)).toBe(false);
  });

  it('LOOM_BACKEND chooses the backend and names bad values', () => {
    const saved = process.env.LOOM_BACKEND;
    try {
      process.env.LOOM_BACKEND = 'js';
      expect(requestedBackend()).toBe('js');
      delete process.env.LOOM_BACKEND;
      expect(requestedBackend()).toBe('auto');
      process.env.LOOM_BACKEND = 'gpu';
      expect(() => requestedBackend()).toThrow(/LOOM_BACKEND must be 'js', 'wasm' or 'auto', got 'gpu'/);
    } finally {
      if (saved === undefined) delete process.env.LOOM_BACKEND;
      else process.env.LOOM_BACKEND = saved;
    }
  });
});

describe('column sums', () => {
  it('give a range of columns the bits of the whole, in wasm as in JavaScript', () => {
    const compiled = compileWasmKernels()!;
    attachWasmBackend(compiled.module, createWasmMemory(1 << 20), compiled.relaxed);
    const rows = 37, cols = 23;
    const x = fill(wasmAllocator.float32(rows * cols));
    const whole = wasmAllocator.float32(cols), parts = wasmAllocator.float32(cols), js = new Float32Array(cols);
    columnSums(x, rows, cols, 0, cols, whole);
    for (const [from, to] of [[0, 5], [5, 6], [6, 17], [17, 23]] as const) columnSums(x, rows, cols, from, to, parts);
    columnSums(x.slice(), rows, cols, 0, cols, js); // heap copy: the JavaScript loop
    expect(Array.from(parts)).toEqual(Array.from(whole));
    expect(Array.from(js)).toEqual(Array.from(whole));
    // The reference: each column summed in row order, one float32 rounding per add.
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s = Math.fround(s + x[r * cols + j]!);
      expect(whole[j]).toBe(s);
    }
  });
});
