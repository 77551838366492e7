import {
  Tensor,
  formatShape,
  gemm,
  zeros,
  binaryOp,
  broadcastShapes,
  unaryOp,
  sum as sumKernel,
  mean as meanKernel,
  logSoftmaxRows,
  normalizeAxis,
} from '@loom/tensor';
import { getActivationKernel } from './activations.js';
import { defineOp } from './tape.js';

/**
 * The primitive differentiable ops. Composite functions (losses, layers) are built from these
 * and need no gradient code of their own; the fused ones at the end exist for numerical
 * stability and say so.
 */

function like(t: Tensor): Tensor {
  return zeros(t.shape);
}

// ---- arithmetic (broadcasting; the tape un-broadcasts the gradients) ----

const addOp = defineOp({
  name: 'add',
  forward: ([a, b]) => ({ output: binaryOp(a!, b!, (x, y) => x + y, undefined, 'add') }),
  backward: (dy) => [dy, dy],
});
const subOp = defineOp({
  name: 'sub',
  forward: ([a, b]) => ({ output: binaryOp(a!, b!, (x, y) => x - y, undefined, 'sub') }),
  backward: (dy) => [dy, unaryOp(dy, (v) => -v)],
});
const mulOp = defineOp({
  name: 'mul',
  forward: ([a, b]) => ({ output: binaryOp(a!, b!, (x, y) => x * y, undefined, 'mul') }),
  backward: (dy, [a, b]) => [binaryOp(dy, b!, (g, y) => g * y), binaryOp(dy, a!, (g, x) => g * x)],
});
const divOp = defineOp({
  name: 'div',
  forward: ([a, b]) => ({ output: binaryOp(a!, b!, (x, y) => x / y, undefined, 'div') }),
  backward: (dy, [, b], out) => [
    binaryOp(dy, b!, (g, y) => g / y),
    binaryOp(binaryOp(dy, out, (g, q) => -g * q), b!, (v, y) => v / y),
  ],
});
const maximumOp = defineOp({
  name: 'maximum',
  forward: ([a, b]) => ({ output: binaryOp(a!, b!, (x, y) => (x >= y ? x : y), undefined, 'maximum') }),
  backward: (dy, [a, b]) => {
    const shape = broadcastShapes(a!.shape, b!.shape);
    const mask = binaryOp(a!, b!, (x, y) => (x >= y ? 1 : 0), zeros(shape));
    return [binaryOp(dy, mask, (g, m) => g * m), binaryOp(dy, mask, (g, m) => g * (1 - m))];
  },
});

export const add = (a: Tensor, b: Tensor): Tensor => addOp([a, b], undefined);
export const sub = (a: Tensor, b: Tensor): Tensor => subOp([a, b], undefined);
export const mul = (a: Tensor, b: Tensor): Tensor => mulOp([a, b], undefined);
export const div = (a: Tensor, b: Tensor): Tensor => divOp([a, b], undefined);
/** Elementwise maximum; on ties the gradient goes to `a`. */
export const maximum = (a: Tensor, b: Tensor): Tensor => maximumOp([a, b], undefined);

// ---- unary math ----

const negOp = defineOp({
  name: 'neg',
  forward: ([x]) => ({ output: unaryOp(x!, (v) => -v) }),
  backward: (dy) => [unaryOp(dy, (v) => -v)],
});
const expOp = defineOp({
  name: 'exp',
  forward: ([x]) => ({ output: unaryOp(x!, Math.exp) }),
  backward: (dy, _x, y) => [binaryOp(dy, y, (g, e) => g * e)],
});
const logOp = defineOp({
  name: 'log',
  forward: ([x]) => ({ output: unaryOp(x!, Math.log) }),
  backward: (dy, [x]) => [binaryOp(dy, x!, (g, v) => g / v)],
});
const sqrtOp = defineOp({
  name: 'sqrt',
  forward: ([x]) => ({ output: unaryOp(x!, Math.sqrt) }),
  backward: (dy, _x, y) => [binaryOp(dy, y, (g, r) => g / (2 * r))],
});
const squareOp = defineOp({
  name: 'square',
  forward: ([x]) => ({ output: unaryOp(x!, (v) => v * v) }),
  backward: (dy, [x]) => [binaryOp(dy, x!, (g, v) => 2 * g * v)],
});
const absOp = defineOp({
  name: 'abs',
  forward: ([x]) => ({ output: unaryOp(x!, Math.abs) }),
  backward: (dy, [x]) => [binaryOp(dy, x!, (g, v) => (v > 0 ? g : v < 0 ? -g : 0))],
});
/** Clips to [lo, hi]; the gradient is zero outside (as Keras's clip in binary cross-entropy). */
const clipOp = defineOp<{ lo: number; hi: number }>({
  name: 'clip',
  forward: ([x], { lo, hi }) => ({ output: unaryOp(x!, (v) => (v < lo ? lo : v > hi ? hi : v)) }),
  backward: (dy, [x], _y, _s, { lo, hi }) => [binaryOp(dy, x!, (g, v) => (v < lo || v > hi ? 0 : g))],
});

export const neg = (x: Tensor): Tensor => negOp([x], undefined);
export const exp = (x: Tensor): Tensor => expOp([x], undefined);
export const log = (x: Tensor): Tensor => logOp([x], undefined);
export const sqrt = (x: Tensor): Tensor => sqrtOp([x], undefined);
export const square = (x: Tensor): Tensor => squareOp([x], undefined);
export const abs = (x: Tensor): Tensor => absOp([x], undefined);
export const clip = (x: Tensor, lo: number, hi: number): Tensor => clipOp([x], { lo, hi });

// ---- activations: one op wraps each kernel of activations.ts ----

const activationOp = defineOp<{ name: string; alpha: number }>({
  name: 'activation',
  forward: ([x], { name, alpha }) => {
    const k = getActivationKernel(name);
    const y = like(x!);
    k.forward(x!.data, y.data, x!.size, x!.shape[x!.rank - 1] ?? 1, alpha);
    return { output: y };
  },
  backward: (dy, [x], y, _s, { name, alpha }) => {
    const k = getActivationKernel(name);
    const dx = like(x!);
    k.backward(x!.data, y.data, dy.data, dx.data, x!.size, x!.shape[x!.rank - 1] ?? 1, alpha);
    return [dx];
  },
});

/** Applies an activation by its Keras name (`relu`, `leaky_relu`, `softmax`, …); softmax is over the last axis. */
export function activation(x: Tensor, name: string, alpha?: number): Tensor {
  const k = getActivationKernel(name);
  return activationOp([x], { name, alpha: alpha ?? k.defaultAlpha });
}
export const sigmoid = (x: Tensor): Tensor => activation(x, 'sigmoid');
export const tanh = (x: Tensor): Tensor => activation(x, 'tanh');
export const relu = (x: Tensor): Tensor => activation(x, 'relu');
export const leakyRelu = (x: Tensor, alpha = 0.1): Tensor => activation(x, 'leaky_relu', alpha);
export const elu = (x: Tensor, alpha = 1): Tensor => activation(x, 'elu', alpha);
export const softmax = (x: Tensor): Tensor => activation(x, 'softmax');

/** Log-softmax over the last axis, computed stably (never log of an underflowed softmax). */
const logSoftmaxOp = defineOp({
  name: 'logSoftmax',
  forward: ([x]) => {
    const cols = x!.shape[x!.rank - 1]!;
    const y = like(x!);
    logSoftmaxRows(x!.data, y.data, x!.size / cols, cols);
    return { output: y };
  },
  backward: (dy, [x], y) => {
    const cols = x!.shape[x!.rank - 1]!;
    const dx = like(x!);
    for (let o = 0; o < x!.size; o += cols) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += dy.data[o + j]!;
      for (let j = 0; j < cols; j++) dx.data[o + j] = dy.data[o + j]! - Math.exp(y.data[o + j]!) * s;
    }
    return [dx];
  },
});
export const logSoftmax = (x: Tensor): Tensor => logSoftmaxOp([x], undefined);

// ---- linear algebra ----

const matmulOp = defineOp<{ transposeA: boolean; transposeB: boolean }>({
  name: 'matmul',
  forward: ([a, b], { transposeA, transposeB }) => {
    const m = transposeA ? a!.shape[1]! : a!.shape[0]!;
    const k = transposeA ? a!.shape[0]! : a!.shape[1]!;
    const kb = transposeB ? b!.shape[1]! : b!.shape[0]!;
    const n = transposeB ? b!.shape[0]! : b!.shape[1]!;
    if (a!.rank !== 2 || b!.rank !== 2 || k !== kb) {
      throw new RangeError(`matmul: shapes a ${formatShape(a!.shape)} and b ${formatShape(b!.shape)} do not multiply`);
    }
    const c = zeros([m, n]);
    gemm(m, n, k, a!.data, transposeA, b!.data, transposeB, c.data);
    return { output: c };
  },
  backward: (dy, [a, b], _c, _s, { transposeA, transposeB }) => {
    const m = dy.shape[0]!, n = dy.shape[1]!;
    const k = transposeA ? a!.shape[0]! : a!.shape[1]!;
    const da = zeros(a!.shape);
    const db = zeros(b!.shape);
    // C = op(A)·op(B): dA = dC·op(B)ᵀ (or its transpose), dB = op(A)ᵀ·dC (or its transpose);
    // the transposes are flags, never copies.
    if (!transposeA) gemm(m, k, n, dy.data, false, b!.data, !transposeB, da.data);
    else gemm(k, m, n, b!.data, transposeB, dy.data, true, da.data);
    if (!transposeB) gemm(k, n, m, a!.data, !transposeA, dy.data, false, db.data);
    else gemm(n, k, m, dy.data, true, a!.data, transposeA, db.data);
    return [da, db];
  },
});

/** Matrix product of rank-2 tensors, with optional transposed operands. */
export function matmul(a: Tensor, b: Tensor, options: { transposeA?: boolean; transposeB?: boolean } = {}): Tensor {
  return matmulOp([a, b], { transposeA: options.transposeA ?? false, transposeB: options.transposeB ?? false });
}

// ---- reductions and shape ----

const sumOp = defineOp<{ axis?: number; keepDims: boolean }>({
  name: 'sum',
  forward: ([x], { axis, keepDims }) => ({ output: sumKernel(x!, { axis, keepDims }) }),
  backward: (dy, [x], _y, _s, { axis }) => [expandTo(dy, x!, axis)],
});
const meanOp = defineOp<{ axis?: number; keepDims: boolean }>({
  name: 'mean',
  forward: ([x], { axis, keepDims }) => ({ output: meanKernel(x!, { axis, keepDims }) }),
  backward: (dy, [x], _y, _s, { axis }) => {
    const n = axis === undefined ? x!.size : x!.shape[normalizeAxis(axis, x!.rank, 'mean')]!;
    const g = expandTo(dy, x!, axis);
    return [unaryOp(g, (v) => v / n, g)];
  },
});

/** Broadcasts a reduced gradient back over the reduced axis. */
function expandTo(dy: Tensor, x: Tensor, axis: number | undefined): Tensor {
  if (axis === undefined) return binaryOp(zeros(x.shape), dy.reshape([]), (_z, g) => g);
  const ax = normalizeAxis(axis, x.rank, 'sum');
  const kept = x.shape.map((d, i) => (i === ax ? 1 : d));
  return binaryOp(zeros(x.shape), dy.reshape(kept), (_z, g) => g);
}

export const sum = (x: Tensor, axis?: number, keepDims = false): Tensor => sumOp([x], { axis, keepDims });
export const mean = (x: Tensor, axis?: number, keepDims = false): Tensor => meanOp([x], { axis, keepDims });

const reshapeOp = defineOp<{ shape: readonly number[] }>({
  name: 'reshape',
  forward: ([x], { shape }) => ({ output: x!.reshape(shape) }),
  backward: (dy, [x]) => [dy.reshape(x!.shape)],
});
export const reshape = (x: Tensor, shape: readonly number[]): Tensor => reshapeOp([x], { shape });

/**
 * Maxout's reduction: x is [rows, units·pieces] laid out unit-major (the pieces of unit u are
 * columns u·pieces … u·pieces+pieces−1); the output is [rows, units], the max over each group.
 * The gradient goes to the first maximal piece.
 */
const maxPiecesOp = defineOp<{ pieces: number }, Int32Array>({
  name: 'maxPieces',
  forward: ([x], { pieces }) => {
    const rows = x!.shape[0]!, width = x!.shape[1]!;
    if (x!.rank !== 2 || width % pieces !== 0) {
      throw new RangeError(`maxPieces: x must be [rows, units·${pieces}], got ${formatShape(x!.shape)}`);
    }
    const units = width / pieces;
    const y = zeros([rows, units]);
    const argmax = new Int32Array(rows * units);
    maxPiecesKernel(x!.data, y.data, argmax, rows, units, pieces);
    return { output: y, saved: argmax };
  },
  backward: (dy, [x], _y, argmax) => {
    const dx = zeros(x!.shape);
    maxPiecesBackwardKernel(dy.data, argmax, dx.data, dy.size);
    return [dx];
  },
});
export const maxPieces = (x: Tensor, pieces: number): Tensor => maxPiecesOp([x], { pieces });

/** Forward kernel of maxPieces over flat arrays, recording the winning column of each output. */
export function maxPiecesKernel(
  x: Float32Array, y: Float32Array, argmax: Int32Array, rows: number, units: number, pieces: number,
): void {
  const width = units * pieces;
  for (let r = 0; r < rows; r++) {
    for (let u = 0; u < units; u++) {
      const base = r * width + u * pieces;
      let best = x[base]!, bestIdx = base;
      for (let p = 1; p < pieces; p++) {
        const v = x[base + p]!;
        if (v > best) { best = v; bestIdx = base + p; }
      }
      y[r * units + u] = best;
      argmax[r * units + u] = bestIdx;
    }
  }
}

/** Backward kernel of maxPieces: routes each output gradient to its winning input (dx zeroed here). */
export function maxPiecesBackwardKernel(dy: Float32Array, argmax: Int32Array, dx: Float32Array, n: number): void {
  dx.fill(0);
  for (let i = 0; i < n; i++) dx[argmax[i]!] += dy[i]!;
}

// ---- fused losses (for numerical stability) ----

/**
 * Mean over rows of −Σ labels·log softmax(logits): softmax and cross-entropy fused, because the
 * separate form loses all precision once a probability underflows; the gradient is the exact
 * (softmax − labels)/rows.
 */
const softmaxCrossEntropyOp = defineOp<undefined, Float32Array>({
  name: 'softmaxCrossEntropy',
  forward: ([logits, labels]) => {
    if (logits!.rank !== 2 || labels!.shape.join() !== logits!.shape.join()) {
      throw new RangeError(
        `softmaxCrossEntropy: logits ${formatShape(logits!.shape)} and labels ${formatShape(labels!.shape)} must be the same [rows, classes]`,
      );
    }
    const rows = logits!.shape[0]!, cols = logits!.shape[1]!;
    const logp = new Float32Array(logits!.size);
    logSoftmaxRows(logits!.data, logp, rows, cols);
    let total = 0;
    for (let i = 0; i < logp.length; i++) total -= labels!.data[i]! * logp[i]!;
    const out = zeros([]);
    out.data[0] = total / rows;
    return { output: out, saved: logp };
  },
  backward: (dy, [logits, labels], _o, logp) => {
    const rows = logits!.shape[0]!, cols = logits!.shape[1]!;
    const g = dy.data[0]! / rows;
    const dx = like(logits!);
    for (let o = 0; o < logp.length; o += cols) {
      let lsum = 0;
      for (let j = 0; j < cols; j++) lsum += labels!.data[o + j]!;
      for (let j = 0; j < cols; j++) dx.data[o + j] = g * (Math.exp(logp[o + j]!) * lsum - labels!.data[o + j]!);
    }
    return [dx, null];
  },
});
export const softmaxCrossEntropy = (logits: Tensor, labels: Tensor): Tensor => softmaxCrossEntropyOp([logits, labels], undefined);
