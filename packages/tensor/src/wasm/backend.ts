import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import type { Allocator } from '../allocator.js';
import type { Window2d } from '../window2d.js';
import { PACK_B_FROM_ROWS } from './kernels-wat.js'; // gemm reads B in place below this many rows

/**
 * The WebAssembly SIMD backend. One shared `WebAssembly.Memory` holds whatever the engines put
 * there (parameters, gradients, optimizer state, batches, activations); its buffer is a
 * SharedArrayBuffer, so every worker instantiates the same kernels on the same memory and
 * nothing is copied in or out. A kernel runs in wasm only when all its operands live in that
 * memory; otherwise the JavaScript kernel (the reference) runs.
 */

// The WebAssembly global, typed here: the project's TypeScript libs (ES2024, no DOM) do not declare it.
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(deltaPages: number): number;
}
export type WasmModule = object;
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export interface WasmKernelExports {
  gemm(m: number, n: number, k: number, a: number, rsA: number, csA: number, b: number, rsB: number, csB: number,
    c: number, acc: number, packA: number, packB: number, tmp: number): void;
  gemm_row32(k: number, a: number, csA: number, b: number, rsB: number, c: number, groups: number, acc: number): void;
  adam(p: number, g: number, m: number, v: number, n: number, alpha: number, b1c: number, b2c: number, eps: number): void;
  col_sums(x: number, rows: number, cols: number, from: number, to: number, out: number): void;
  bias_act(z: number, y: number, bias: number, rows: number, cols: number, act: number, alpha: number): void;
  act_grad_bias(z: number, dy: number, dz: number, db: number, rows: number, cols: number, act: number, alpha: number): void;
  // The conv kernels end with a Window2d's fields in the interface's order (see conv-wat.ts).
  im2col(x: number, rows: number, cols: number, ...geometry: Geometry): void;
  col2im(dcols: number, rows: number, dx: number, ...geometry: Geometry): void;
  pool_forward(kind: number, x: number, rows: number, y: number, argmax: number, ...geometry: Geometry): void;
  pool_backward(kind: number, dy: number, rows: number, argmax: number, dx: number, ...geometry: Geometry): void;
  // Batch normalization (see batch-norm-wat.ts): positions × channels per row, consts float64 per channel.
  bn_row_stats(x: number, rows: number, positions: number, channels: number, out: number): void;
  bn_normalize(x: number, rows: number, positions: number, channels: number, consts: number, xhat: number, y: number): void;
  bn_grad_stats(dy: number, xhat: number, rows: number, positions: number, channels: number, out: number): void;
  bn_input_grad(dy: number, xhat: number, rows: number, positions: number, channels: number, consts: number, dx: number): void;
}
type Geometry = [inH: number, inW: number, channels: number, kh: number, kw: number, strideH: number, strideW: number,
  padTop: number, padLeft: number, outH: number, outW: number];

export interface WasmBackend {
  memory: WasmMemory;
  module: WasmModule;
  relaxed: boolean;
  kernels: WasmKernelExports;
}

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: all wasm32 can address
const HEADER_BYTES = 64; // word 0 holds the allocation top, shared by every thread
const ALIGN = 16;

let active: WasmBackend | null = null;
/** Every SharedArrayBuffer object this thread has seen for the active memory (one per growth). */
let memoryBuffers = new WeakSet<ArrayBufferLike>();

function wasmFile(relaxed: boolean): string {
  const name = `kernels${relaxed ? '-relaxed' : ''}.wasm`;
  const here = new URL(import.meta.url);
  // From dist/wasm/backend.js the binary sits beside it; from src/ (tests) it is in dist/.
  const url = here.pathname.endsWith('.ts') ? new URL(`../../dist/wasm/${name}`, here) : new URL(`./${name}`, here);
  return fileURLToPath(url);
}

let relaxedFlagSet = false;

/** Compiled once per thread and build choice: engines share the module (workers receive it with the setup). */
const compiledCache = new Map<boolean, { module: WasmModule; relaxed: boolean } | null>();

/**
 * Compiles the kernels: the relaxed-SIMD build where the runtime accepts it (on Node 20 after
 * turning on V8's flag, which must happen before any module is compiled), else plain SIMD128.
 * Returns null when neither build is present or valid (e.g. not built yet).
 */
export function compileWasmKernels(options: { relaxed?: boolean } = {}): { module: WasmModule; relaxed: boolean } | null {
  const tryRelaxed = options.relaxed ?? true;
  if (!compiledCache.has(tryRelaxed)) compiledCache.set(tryRelaxed, compileUncached(tryRelaxed));
  return compiledCache.get(tryRelaxed)!;
}

function compileUncached(tryRelaxed: boolean): { module: WasmModule; relaxed: boolean } | null {
  if (tryRelaxed && !relaxedFlagSet) {
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // Not every runtime has the flag; the plain build is the fallback.
    }
    relaxedFlagSet = true;
  }
  for (const relaxed of tryRelaxed ? [true, false] : [false]) {
    const file = wasmFile(relaxed);
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file);
    if (!wasm.validate(bytes)) continue;
    return { module: new wasm.Module(bytes), relaxed };
  }
  return null;
}

/** A shared memory for the backend, at least `initialBytes` long, growable to 4 GiB. */
export function createWasmMemory(initialBytes = 64 * 2 ** 20): WasmMemory {
  const pages = Math.max(1, Math.ceil(initialBytes / PAGE));
  return new wasm.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
}

/** Instantiates the kernels on `memory` in this thread and makes them the active backend. */
export function attachWasmBackend(module: WasmModule, memory: WasmMemory, relaxed: boolean): WasmBackend {
  const instance = new wasm.Instance(module, { env: { memory } });
  active = { memory, module, relaxed, kernels: instance.exports as unknown as WasmKernelExports };
  memoryBuffers = new WeakSet();
  memoryBuffers.add(memory.buffer);
  scratch = [null, null];
  scratch64 = null;
  return active;
}

/** Back to the JavaScript kernels in this thread. */
export function detachWasmBackend(): void {
  active = null;
  memoryBuffers = new WeakSet();
  scratch = [null, null];
  scratch64 = null;
}

export function activeWasmBackend(): WasmBackend | null {
  return active;
}

/** The backend asked for by LOOM_BACKEND (`js` or `wasm`), or the default: wasm where it loads. */
export function requestedBackend(): 'js' | 'wasm' | 'auto' {
  const v = process.env.LOOM_BACKEND;
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === 'js' || v === 'wasm') return v;
  throw new Error(`LOOM_BACKEND must be 'js', 'wasm' or 'auto', got '${v}'`);
}

/** The current buffer of the active memory (a new object after growth), registered as ours. */
function currentBuffer(): SharedArrayBuffer {
  const buf = active!.memory.buffer as unknown as SharedArrayBuffer;
  memoryBuffers.add(buf);
  return buf;
}

/** Reserves `bytes` (aligned) in the active memory for any thread; grows the memory if needed. */
function reserve(bytes: number): number {
  const memory = active!.memory;
  const top = new Int32Array(currentBuffer(), 0, 1);
  const size = Math.ceil(bytes / ALIGN) * ALIGN;
  // The top word starts at 0 in a fresh memory: the first allocation also skips the header.
  Atomics.compareExchange(top, 0, 0, HEADER_BYTES);
  const start = Atomics.add(top, 0, size);
  const end = start + size;
  if (end > MAX_PAGES * PAGE || end < start) throw new RangeError(`wasm memory exhausted: ${end} bytes needed, 4 GiB is the limit`);
  const have = memory.buffer.byteLength;
  if (end > have) memory.grow(Math.ceil((end - have) / PAGE));
  return start;
}

/** Allocates from the active wasm memory, zero-filled (the memory may be reused after a reset). */
export const wasmAllocator: Allocator = {
  float32(length: number): Float32Array {
    if (!active) throw new Error('wasmAllocator: no wasm backend is attached in this thread');
    const start = reserve(length * 4);
    return new Float32Array(currentBuffer(), start, length).fill(0);
  },
};

/**
 * Frees everything allocated from `memory` at once (an arena reset), so the next engine reuses
 * it instead of growing a new one. Only for a memory no live engine or thread still uses; this
 * thread's scratch is dropped with it.
 */
export function resetWasmMemory(memory: WasmMemory): void {
  Atomics.store(new Int32Array(memory.buffer as unknown as SharedArrayBuffer, 0, 1), 0, HEADER_BYTES);
  if (active?.memory === memory) {
    scratch = [null, null];
    scratch64 = null;
  }
}

/** True when `a` is a view on the active wasm memory. */
export function inWasmMemory(a: ArrayBufferView): boolean {
  return active !== null && memoryBuffers.has(a.buffer);
}

/**
 * The same elements as `a` (a view on the wasm memory made in another thread, so its buffer
 * object is foreign here) seen through this thread's buffer, so the kernels recognise it.
 */
export function adoptWasmView(a: Float32Array): Float32Array {
  if (!active) return a;
  return new Float32Array(currentBuffer(), a.byteOffset, a.length);
}

let scratch: (Float32Array | null)[] = [null, null];
let scratch64: Float64Array | null = null;

/**
 * Per-thread float64 scratch in wasm memory, at least `length` values, grown when too small:
 * where a kernel's per-channel constants are copied (they are the caller's heap arrays). Not
 * for two uses at once.
 */
export function scratchFloat64(length: number): Float64Array {
  if (!scratch64 || scratch64.length < length) {
    const n = Math.max(length, 1 << 10);
    // wasmAllocator aligns to 16 bytes, so the float64 view is aligned.
    // Reserve first: a reservation may grow the memory, and the view must be on the grown buffer.
    const start = wasmAllocator.float32(2 * n).byteOffset;
    scratch64 = new Float64Array(currentBuffer(), start, n);
  }
  return scratch64;
}

/** Per-thread scratch in wasm memory (0: packed A; 1: a B panel and a block's staging), grown when too small. */
function scratchFloat32(length: number, which: 0 | 1): Float32Array {
  let s = scratch[which];
  if (!s || s.length < length) scratch[which] = s = wasmAllocator.float32(Math.max(length, 1 << 16));
  return s;
}

/**
 * C = op(A)·op(B) (+ C) with the wasm kernels; the caller has checked that all three operands
 * live in the wasm memory. Transposes are strides: the kernel packs A into panels and B (when
 * its rows are not contiguous) into column panels as it goes, so nothing is transposed first.
 */
export function wasmGemm(
  m: number, n: number, k: number, a: Float32Array, transA: boolean, b: Float32Array, transB: boolean, c: Float32Array, accumulate: boolean,
  lda = transA ? m : k,
): void {
  const w = active!.kernels;
  // A(i, p) and B(p, j) as byte strides (row, column) of how each is stored. (Plain
  // conditionals, not destructured pairs: a step must not allocate.)
  const rsA = transA ? 4 : lda * 4, csA = transA ? lda * 4 : 4;
  const rsB = transB ? 4 : n * 4, csB = transB ? k * 4 : 4;
  const kcMax = Math.min(KC, k);
  const packA = scratchFloat32(Math.ceil(m / 4) * 4 * kcMax, 0).byteOffset;
  const packB = scratchFloat32(8 * kcMax + 32, 1).byteOffset;
  const tmp = packB + 8 * kcMax * 4;
  // Depth blocks of KC: one B panel (KC·8 floats) stays in L1 while A's panels stream past it.
  // Every element of C goes through the same blocks, so the rounding is the same for every row.
  // A last single row (a batch of 4i + 1 rows) against B read in place goes to gemm_row32 for
  // its columns in groups of 32, eight accumulators where gemm's 1-row block has two, and to
  // gemm for the rest; the same sums, so the same bits.
  const wideRow = !transB && m < PACK_B_FROM_ROWS && m % 4 === 1 && n >= 32;
  const mMain = wideRow ? m - 1 : m;
  const n32 = wideRow ? n - (n % 32) : 0;
  for (let pc = 0; pc < k; pc += KC) {
    const kc = Math.min(KC, k - pc);
    const acc = accumulate || pc > 0 ? 1 : 0;
    const aBlock = a.byteOffset + pc * csA, bBlock = b.byteOffset + pc * rsB;
    if (mMain > 0) w.gemm(mMain, n, kc, aBlock, rsA, csA, bBlock, rsB, csB, c.byteOffset, acc, packA, packB, tmp);
    if (wideRow) {
      const aRow = aBlock + mMain * rsA, cRow = c.byteOffset + mMain * n * 4;
      w.gemm_row32(kc, aRow, csA, bBlock, rsB, cRow, n32 / 32, acc);
      if (n32 < n) w.gemm(1, n - n32, kc, aRow, rsA, csA, bBlock + n32 * 4, rsB, csB, cRow + n32 * 4, acc, packA, packB, tmp);
    }
  }
}

const KC = 256;

/**
 * Adam's update (Keras 3's rule, in float32) over [from, to) in wasm, when the parameter,
 * gradient and both moments live in the attached memory; returns false (doing nothing) otherwise,
 * and the caller runs its JavaScript rule, the reference.
 */
export function wasmAdamUpdate(
  param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, from: number, to: number,
  alpha: number, oneMinusBeta1: number, oneMinusBeta2: number, epsilon: number,
): boolean {
  if (!(inWasmMemory(param) && inWasmMemory(grad) && inWasmMemory(m) && inWasmMemory(v))) return false;
  const o = from * 4;
  active!.kernels.adam(param.byteOffset + o, grad.byteOffset + o, m.byteOffset + o, v.byteOffset + o, to - from, alpha, oneMinusBeta1, oneMinusBeta2, epsilon);
  return true;
}

/**
 * out[j] = Σ_r x[r·cols + j] for j in [from, to), in wasm when both live in the attached memory;
 * returns false, doing nothing, otherwise. The same adds in the same order as the JS loop.
 */
export function wasmColumnSums(x: Float32Array, rows: number, cols: number, from: number, to: number, out: Float32Array): boolean {
  if (!inWasmMemory(x) || !inWasmMemory(out)) return false;
  active!.kernels.col_sums(x.byteOffset, rows, cols, from, to, out.byteOffset);
  return true;
}

/** The activations the wasm epilogues compute, by their codes in the kernels. */
const EPILOGUE_ACTIVATIONS: Readonly<Record<string, number>> = { linear: 0, relu: 1, leaky_relu: 2 };

/**
 * A dense layer's epilogue in one wasm pass: z += bias per row (bias may be null), then
 * y = activation(z) (y may be z for linear). Returns false, doing nothing, when the activation
 * is not one the kernels have or an operand lives outside the attached memory; the caller then
 * runs the JavaScript kernels, the reference. leaky_relu multiplies by alpha in float32 (the JS
 * kernel in float64), so those two can differ in the last bit.
 */
export function wasmBiasActivation(
  z: Float32Array, y: Float32Array, bias: Float32Array | null, rows: number, cols: number, activation: string, alpha: number,
): boolean {
  const act = EPILOGUE_ACTIVATIONS[activation];
  if (act === undefined || !inWasmMemory(z) || !inWasmMemory(y) || (bias !== null && !inWasmMemory(bias))) return false;
  active!.kernels.bias_act(z.byteOffset, y.byteOffset, bias ? bias.byteOffset : 0, rows, cols, act, alpha);
  return true;
}

/**
 * The backward of wasmBiasActivation: dz = activation′(z)·dy (dz may be dy for linear), then
 * db = the column sums of dz in row order (db may be null). Returns false, doing nothing, in
 * the same cases as wasmBiasActivation.
 */
export function wasmActivationGradBias(
  z: Float32Array, dy: Float32Array, dz: Float32Array, db: Float32Array | null, rows: number, cols: number, activation: string, alpha: number,
): boolean {
  const act = EPILOGUE_ACTIVATIONS[activation];
  if (act === undefined || !inWasmMemory(z) || !inWasmMemory(dy) || !inWasmMemory(dz) || (db !== null && !inWasmMemory(db))) return false;
  active!.kernels.act_grad_bias(z.byteOffset, dy.byteOffset, dz.byteOffset, db ? db.byteOffset : 0, rows, cols, act, alpha);
  return true;
}

/*
 * The convolution and pooling kernels' wasm versions: each returns false, doing nothing, when it
 * cannot run (no backend, an operand outside the attached memory), and the caller runs the
 * JavaScript kernel in conv.ts, the reference. They give the reference's bits (see conv-wat.ts).
 * The Window2d's fields go as separate arguments (no array per call), and the lengths are
 * checked because a wasm kernel handed a short view would write over its neighbours in the
 * memory, where the JavaScript one only drops the writes past the end.
 */

function checkLength(kernel: string, what: string, a: Float32Array, needed: number): void {
  if (a.length < needed) throw new RangeError(`${kernel}: ${what} has ${a.length} elements, the window needs ${needed}`);
}

const inSize = (rows: number, g: Window2d) => rows * g.inH * g.inW * g.channels;
const outSize = (rows: number, g: Window2d) => rows * g.outH * g.outW * g.channels;

/** im2col (see conv.ts) in wasm. */
export function wasmIm2col(x: Float32Array, rows: number, g: Window2d, cols: Float32Array): boolean {
  if (!inWasmMemory(x) || !inWasmMemory(cols)) return false;
  checkLength('im2col', 'x', x, inSize(rows, g));
  checkLength('im2col', 'cols', cols, outSize(rows, g) * g.kh * g.kw);
  active!.kernels.im2col(x.byteOffset, rows, cols.byteOffset,
    g.inH, g.inW, g.channels, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
  return true;
}

/** col2im (see conv.ts) in wasm. */
export function wasmCol2im(dcols: Float32Array, rows: number, g: Window2d, dx: Float32Array): boolean {
  if (!inWasmMemory(dcols) || !inWasmMemory(dx)) return false;
  checkLength('col2im', 'dcols', dcols, outSize(rows, g) * g.kh * g.kw);
  checkLength('col2im', 'dx', dx, inSize(rows, g));
  active!.kernels.col2im(dcols.byteOffset, rows, dx.byteOffset,
    g.inH, g.inW, g.channels, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
  return true;
}

/** poolForward (see conv.ts) in wasm; kind 0 is max, 1 average. argmax is written for max when not null. */
export function wasmPoolForward(kind: number, x: Float32Array, rows: number, g: Window2d, y: Float32Array, argmax: Float32Array | null): boolean {
  const arg = kind === 0 ? argmax : null;
  if (!inWasmMemory(x) || !inWasmMemory(y) || (arg !== null && !inWasmMemory(arg))) return false;
  checkLength('poolForward', 'x', x, inSize(rows, g));
  checkLength('poolForward', 'y', y, outSize(rows, g));
  if (arg) checkLength('poolForward', 'argmax', arg, outSize(rows, g));
  active!.kernels.pool_forward(kind, x.byteOffset, rows, y.byteOffset, arg ? arg.byteOffset : 0,
    g.inH, g.inW, g.channels, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
  return true;
}

/** poolBackward (see conv.ts) in wasm; kind 0 is max (argmax required), 1 average. */
export function wasmPoolBackward(kind: number, dy: Float32Array, rows: number, g: Window2d, argmax: Float32Array | null, dx: Float32Array): boolean {
  const arg = kind === 0 ? argmax : null;
  if (!inWasmMemory(dy) || !inWasmMemory(dx) || (kind === 0 && (arg === null || !inWasmMemory(arg)))) return false;
  checkLength('poolBackward', 'dy', dy, outSize(rows, g));
  checkLength('poolBackward', 'dx', dx, inSize(rows, g));
  if (arg) checkLength('poolBackward', 'argmax', arg, outSize(rows, g));
  active!.kernels.pool_backward(kind, dy.byteOffset, rows, arg ? arg.byteOffset : 0, dx.byteOffset,
    g.inH, g.inW, g.channels, g.kh, g.kw, g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW);
  return true;
}
