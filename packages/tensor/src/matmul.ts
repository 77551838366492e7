import { formatShape } from './shape.js';
import { inWasmMemory, wasmGemm } from './wasm/backend.js';
import { Tensor, zeros } from './tensor.js';

/**
 * Matrix product C = op(A) · op(B) (+ C when accumulating), cache-blocked in the GotoBLAS way:
 * blocks of B and A are packed into 4-wide panels, so the register-blocked 4×4 micro-kernel
 * reads both operands contiguously whatever their layout. That is how a transposed operand
 * costs nothing extra: only the packing loops know about strides.
 */

const KC = 256; // depth of a packed block: a 4×KC panel of A and of B stays in L1
const MC = 128; // rows of A packed at once (MC×KC floats = 128 KiB, in L2)
const NC = 1024; // columns of B packed at once
const SMALL_M = 4;

// Packing scratch, grown on demand and then reused: the hot path allocates nothing.
let packA = new Float32Array(MC * KC);
let packB = new Float32Array(NC * KC);

/**
 * The raw kernel over flat arrays. Runs in WebAssembly when a wasm backend is attached in this
 * thread and all three arrays live in its memory; this JavaScript version is the reference. `a` is M×K (K×M if `transA`), `b` is K×N (N×K if `transB`),
 * `c` is M×N; all row-major and starting at index 0 of the given arrays. `lda` is the row
 * length of A as stored (M when `transA`, else K, by default): a larger one reads a block of
 * a wider matrix, e.g. a range of input features of a batch for one worker's share of a
 * weight gradient.
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  transA: boolean,
  b: Float32Array,
  transB: boolean,
  c: Float32Array,
  accumulate = false,
  lda = transA ? m : k,
): void {
  if (m > 0 && n > 0 && k > 0 && inWasmMemory(c) && inWasmMemory(a) && inWasmMemory(b)) {
    wasmGemm(m, n, k, a, transA, b, transB, c, accumulate, lda);
    return;
  }
  if (!accumulate) c.fill(0, 0, m * n);
  if (m === 0 || n === 0 || k === 0) return;
  // With a handful of rows (batch size 1 on one thread) packing B would cost as much as the
  // product itself, so read the operands in place.
  if (m < SMALL_M) {
    gemmSmallM(m, n, k, a, transA, b, transB, c, lda);
    return;
  }
  const nPanelsMax = Math.ceil(Math.min(NC, n) / 4) * 4;
  if (packB.length < nPanelsMax * KC) packB = new Float32Array(nPanelsMax * KC);
  const mPanelsMax = Math.ceil(Math.min(MC, m) / 4) * 4;
  if (packA.length < mPanelsMax * KC) packA = new Float32Array(mPanelsMax * KC);
  const pa = packA;
  const pb = packB;

  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packPanelsB(b, transB, n, k, pc, kc, jc, nc, pb);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packPanelsA(a, transA, lda, ic, mc, pc, kc, pa);
        for (let jr = 0; jr < nc; jr += 4) {
          const nr = Math.min(4, nc - jr);
          const bOff = (jr >> 2) * 4 * kc;
          for (let ir = 0; ir < mc; ir += 4) {
            const mr = Math.min(4, mc - ir);
            microKernel(kc, pa, (ir >> 2) * 4 * kc, pb, bOff, c, (ic + ir) * n + jc + jr, n, mr, nr);
          }
        }
      }
    }
  }
}

/**
 * C += op(A)·op(B) for few rows, without packing: row axpys (or contiguous dot products) into a
 * float64 row. It sums in exactly the packed kernel's order and precision (float64 within each
 * KC-deep block, one float32 rounding per block), so a sample's result does not depend on how
 * many rows share its batch.
 */
let smallRow = new Float64Array(1024);
function gemmSmallM(
  m: number, n: number, k: number, a: Float32Array, transA: boolean, b: Float32Array, transB: boolean, c: Float32Array, lda: number,
): void {
  if (smallRow.length < n) smallRow = new Float64Array(n);
  const acc = smallRow;
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let pc = 0; pc < k; pc += KC) {
      const pEnd = Math.min(k, pc + KC);
      if (!transB) {
        acc.fill(0, 0, n);
        for (let p = pc; p < pEnd; p++) {
          const av = transA ? a[p * lda + i]! : a[i * lda + p]!;
          const bp = p * n;
          for (let j = 0; j < n; j++) acc[j] += av * b[bp + j]!;
        }
        for (let j = 0; j < n; j++) c[ci + j] += acc[j]!;
      } else {
        for (let j = 0; j < n; j++) {
          const bj = j * k;
          let s = 0;
          if (transA) for (let p = pc; p < pEnd; p++) s += a[p * lda + i]! * b[bj + p]!;
          else {
            const ai = i * lda;
            for (let p = pc; p < pEnd; p++) s += a[ai + p]! * b[bj + p]!;
          }
          c[ci + j] += s;
        }
      }
    }
  }
}

/** Packs rows [ic, ic+mc) × depth [pc, pc+kc) of op(A) into 4-row panels, k-major, zero-padded. */
function packPanelsA(
  a: Float32Array, transA: boolean, lda: number,
  ic: number, mc: number, pc: number, kc: number, out: Float32Array,
): void {
  for (let ir = 0; ir < mc; ir += 4) {
    const base = (ir >> 2) * 4 * kc;
    const rows = Math.min(4, mc - ir);
    for (let r = 0; r < 4; r++) {
      if (r >= rows) {
        for (let p = 0; p < kc; p++) out[base + p * 4 + r] = 0;
        continue;
      }
      const i = ic + ir + r;
      if (transA) {
        // A stored K×M (rows lda long): element (i, p) at p*lda + i
        for (let p = 0; p < kc; p++) out[base + p * 4 + r] = a[(pc + p) * lda + i]!;
      } else {
        const row = i * lda + pc;
        for (let p = 0; p < kc; p++) out[base + p * 4 + r] = a[row + p]!;
      }
    }
  }
}

/** Packs depth [pc, pc+kc) × columns [jc, jc+nc) of op(B) into 4-column panels, k-major, zero-padded. */
function packPanelsB(
  b: Float32Array, transB: boolean, n: number, k: number,
  pc: number, kc: number, jc: number, nc: number, out: Float32Array,
): void {
  for (let jr = 0; jr < nc; jr += 4) {
    const base = (jr >> 2) * 4 * kc;
    const cols = Math.min(4, nc - jr);
    if (!transB && cols === 4) {
      let src = pc * n + jc + jr;
      let dst = base;
      for (let p = 0; p < kc; p++) {
        out[dst] = b[src]!;
        out[dst + 1] = b[src + 1]!;
        out[dst + 2] = b[src + 2]!;
        out[dst + 3] = b[src + 3]!;
        src += n;
        dst += 4;
      }
      continue;
    }
    for (let cIdx = 0; cIdx < 4; cIdx++) {
      if (cIdx >= cols) {
        for (let p = 0; p < kc; p++) out[base + p * 4 + cIdx] = 0;
        continue;
      }
      const j = jc + jr + cIdx;
      if (transB) {
        // B stored N×K: element (p, j) at j*k + p
        const row = j * k + pc;
        for (let p = 0; p < kc; p++) out[base + p * 4 + cIdx] = b[row + p]!;
      } else {
        for (let p = 0; p < kc; p++) out[base + p * 4 + cIdx] = b[(pc + p) * n + j]!;
      }
    }
  }
}

/** C[mr×nr block at cOff] += packed A panel · packed B panel, with 16 register accumulators. */
function microKernel(
  kc: number, pa: Float32Array, aOff: number, pb: Float32Array, bOff: number,
  c: Float32Array, cOff: number, ldc: number, mr: number, nr: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  let ai = aOff;
  let bi = bOff;
  for (let p = 0; p < kc; p++) {
    const a0 = pa[ai]!, a1 = pa[ai + 1]!, a2 = pa[ai + 2]!, a3 = pa[ai + 3]!;
    const b0 = pb[bi]!, b1 = pb[bi + 1]!, b2 = pb[bi + 2]!, b3 = pb[bi + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
    ai += 4;
    bi += 4;
  }
  if (mr === 4 && nr === 4) {
    let o = cOff;
    c[o] += c00; c[o + 1] += c01; c[o + 2] += c02; c[o + 3] += c03; o += ldc;
    c[o] += c10; c[o + 1] += c11; c[o + 2] += c12; c[o + 3] += c13; o += ldc;
    c[o] += c20; c[o + 1] += c21; c[o + 2] += c22; c[o + 3] += c23; o += ldc;
    c[o] += c30; c[o + 1] += c31; c[o + 2] += c32; c[o + 3] += c33;
    return;
  }
  // Edge tile: write the rows and columns that exist. Inline on purpose: a helper called with
  // float arguments would box them (an allocation per call) unless V8 happens to inline it.
  let o = cOff;
  c[o] += c00; if (nr > 1) c[o + 1] += c01; if (nr > 2) c[o + 2] += c02; if (nr > 3) c[o + 3] += c03;
  if (mr < 2) return;
  o += ldc;
  c[o] += c10; if (nr > 1) c[o + 1] += c11; if (nr > 2) c[o + 2] += c12; if (nr > 3) c[o + 3] += c13;
  if (mr < 3) return;
  o += ldc;
  c[o] += c20; if (nr > 1) c[o + 1] += c21; if (nr > 2) c[o + 2] += c22; if (nr > 3) c[o + 3] += c23;
  if (mr < 4) return;
  o += ldc;
  c[o] += c30; if (nr > 1) c[o + 1] += c31; if (nr > 2) c[o + 2] += c32; if (nr > 3) c[o + 3] += c33;
}

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
  /** Write the result here instead of allocating (must be [M, N]). */
  out?: Tensor;
  /** Add the product to `out` instead of overwriting it. */
  accumulate?: boolean;
}

/** Matrix product of two rank-2 tensors, optionally transposing either operand without a copy. */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const { transposeA = false, transposeB = false, out, accumulate = false } = options;
  if (a.rank !== 2) throw new RangeError(`matmul: a must be rank 2, got shape ${formatShape(a.shape)}`);
  if (b.rank !== 2) throw new RangeError(`matmul: b must be rank 2, got shape ${formatShape(b.shape)}`);
  const m = transposeA ? a.shape[1]! : a.shape[0]!;
  const ka = transposeA ? a.shape[0]! : a.shape[1]!;
  const kb = transposeB ? b.shape[1]! : b.shape[0]!;
  const n = transposeB ? b.shape[0]! : b.shape[1]!;
  if (ka !== kb) {
    throw new RangeError(
      `matmul: inner dimensions differ: a ${formatShape(a.shape)}${transposeA ? 'ᵀ' : ''} and b ${formatShape(b.shape)}${transposeB ? 'ᵀ' : ''} (${ka} vs ${kb})`,
    );
  }
  const c = out ?? zeros([m, n]);
  if (c.rank !== 2 || c.shape[0] !== m || c.shape[1] !== n) {
    throw new RangeError(`matmul: out must have shape [${m}, ${n}], got ${formatShape(c.shape)}`);
  }
  gemm(m, n, ka, a.data, transposeA, b.data, transposeB, c.data, accumulate && out !== undefined);
  return c;
}
