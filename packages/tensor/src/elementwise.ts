import { broadcastShapes, formatShape, shapesEqual, stridesOf } from './shape.js';
import { Tensor, zeros } from './tensor.js';

/** Elementwise kernels with NumPy broadcasting. Every op takes an optional `out` to avoid allocation. */

export type BinaryFn = (x: number, y: number) => number;
export type UnaryFn = (x: number) => number;

function checkOut(out: Tensor | undefined, shape: readonly number[], op: string): Tensor {
  if (out === undefined) return zeros(shape);
  if (!shapesEqual(out.shape, shape)) {
    throw new RangeError(`${op}: out must have shape ${formatShape(shape)}, got ${formatShape(out.shape)}`);
  }
  return out;
}

/** Applies `fn` to every pair of broadcast elements of `a` and `b`. */
export function binaryOp(a: Tensor, b: Tensor, fn: BinaryFn, out?: Tensor, op = 'binaryOp'): Tensor {
  const shape = broadcastShapes(a.shape, b.shape, op);
  const o = checkOut(out, shape, op);
  const ad = a.data, bd = b.data, od = o.data;
  const n = od.length;
  if (ad.length === n && bd.length === n) {
    for (let i = 0; i < n; i++) od[i] = fn(ad[i]!, bd[i]!);
    return o;
  }
  if (bd.length === 1) {
    const y = bd[0]!;
    for (let i = 0; i < n; i++) od[i] = fn(ad[i]!, y);
    return o;
  }
  if (ad.length === 1) {
    const x = ad[0]!;
    for (let i = 0; i < n; i++) od[i] = fn(x, bd[i]!);
    return o;
  }
  // A trailing row broadcast (the bias case): b's data repeats every `inner` elements of a.
  if (ad.length === n && n % bd.length === 0 && isTrailing(b.shape, shape)) {
    const inner = bd.length;
    for (let i = 0; i < n; i += inner) for (let j = 0; j < inner; j++) od[i + j] = fn(ad[i + j]!, bd[j]!);
    return o;
  }
  const rank = shape.length;
  const sa = broadcastStrides(a.shape, shape);
  const sb = broadcastStrides(b.shape, shape);
  const idx = new Array<number>(rank).fill(0);
  let ia = 0, ib = 0;
  for (let i = 0; i < n; i++) {
    od[i] = fn(ad[ia]!, bd[ib]!);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      ia += sa[d]!;
      ib += sb[d]!;
      if (idx[d]! < shape[d]!) break;
      ia -= sa[d]! * shape[d]!;
      ib -= sb[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return o;
}

function isTrailing(small: readonly number[], big: readonly number[]): boolean {
  // small (with leading 1s stripped) must equal the trailing dims of big
  let s = 0;
  while (s < small.length && small[s] === 1) s++;
  const tail = small.slice(s);
  return shapesEqual(tail, big.slice(big.length - tail.length));
}

/** Strides of `shape` seen from the broadcast `target` shape (0 along broadcast dimensions). */
export function broadcastStrides(shape: readonly number[], target: readonly number[]): number[] {
  const own = stridesOf(shape);
  const out = new Array<number>(target.length).fill(0);
  const offset = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) out[i + offset] = shape[i] === 1 ? 0 : own[i]!;
  return out;
}

/**
 * Sums `t` down to `shape` over the dimensions that broadcasting expanded: the gradient of a
 * broadcast operand. `shape` must broadcast to `t.shape`.
 */
export function sumToShape(t: Tensor, shape: readonly number[], out?: Tensor): Tensor {
  if (shapesEqual(t.shape, shape)) {
    if (!out) return t;
    out.data.set(t.data);
    return out;
  }
  broadcastShapes(shape, t.shape, 'sumToShape');
  const o = checkOut(out, shape, 'sumToShape');
  o.data.fill(0);
  const strides = broadcastStrides(shape, t.shape);
  const rank = t.shape.length;
  const idx = new Array<number>(rank).fill(0);
  const td = t.data, od = o.data;
  let io = 0;
  for (let i = 0; i < td.length; i++) {
    od[io] += td[i]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      io += strides[d]!;
      if (idx[d]! < t.shape[d]!) break;
      io -= strides[d]! * t.shape[d]!;
      idx[d] = 0;
    }
  }
  return o;
}

/** Applies `fn` to every element. */
export function unaryOp(x: Tensor, fn: UnaryFn, out?: Tensor, op = 'unaryOp'): Tensor {
  const o = checkOut(out, x.shape, op);
  const xd = x.data, od = o.data;
  for (let i = 0; i < xd.length; i++) od[i] = fn(xd[i]!);
  return o;
}

const addFn: BinaryFn = (x, y) => x + y;
const subFn: BinaryFn = (x, y) => x - y;
const mulFn: BinaryFn = (x, y) => x * y;
const divFn: BinaryFn = (x, y) => x / y;
const maxFn: BinaryFn = (x, y) => (x > y ? x : y);
const minFn: BinaryFn = (x, y) => (x < y ? x : y);

export const add = (a: Tensor, b: Tensor, out?: Tensor): Tensor => binaryOp(a, b, addFn, out, 'add');
export const sub = (a: Tensor, b: Tensor, out?: Tensor): Tensor => binaryOp(a, b, subFn, out, 'sub');
export const mul = (a: Tensor, b: Tensor, out?: Tensor): Tensor => binaryOp(a, b, mulFn, out, 'mul');
export const div = (a: Tensor, b: Tensor, out?: Tensor): Tensor => binaryOp(a, b, divFn, out, 'div');
export const maximum = (a: Tensor, b: Tensor, out?: Tensor): Tensor => binaryOp(a, b, maxFn, out, 'maximum');
export const minimum = (a: Tensor, b: Tensor, out?: Tensor): Tensor => binaryOp(a, b, minFn, out, 'minimum');

/** Numerically stable logistic function: never evaluates exp of a large positive number. */
export function sigmoidScalar(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export const neg = (x: Tensor, out?: Tensor): Tensor => unaryOp(x, (v) => -v, out, 'neg');
export const exp = (x: Tensor, out?: Tensor): Tensor => unaryOp(x, Math.exp, out, 'exp');
export const log = (x: Tensor, out?: Tensor): Tensor => unaryOp(x, Math.log, out, 'log');
export const sqrt = (x: Tensor, out?: Tensor): Tensor => unaryOp(x, Math.sqrt, out, 'sqrt');
export const abs = (x: Tensor, out?: Tensor): Tensor => unaryOp(x, Math.abs, out, 'abs');
export const square = (x: Tensor, out?: Tensor): Tensor => unaryOp(x, (v) => v * v, out, 'square');
export const tanh = (x: Tensor, out?: Tensor): Tensor => unaryOp(x, Math.tanh, out, 'tanh');
export const sigmoid = (x: Tensor, out?: Tensor): Tensor => unaryOp(x, sigmoidScalar, out, 'sigmoid');
export const relu = (x: Tensor, out?: Tensor): Tensor => unaryOp(x, (v) => (v > 0 ? v : 0), out, 'relu');

/** Multiplies every element by a constant. */
export const scale = (x: Tensor, factor: number, out?: Tensor): Tensor => unaryOp(x, (v) => v * factor, out, 'scale');
