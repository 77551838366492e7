import { formatShape } from './shape.js';
import { Tensor, zeros } from './tensor.js';

/**
 * Softmax and log-softmax along the last axis, stable for large inputs: the row maximum is
 * subtracted first, so exp never overflows, and log-softmax never takes the log of an underflowed 0.
 */

/** Row-wise softmax of `rows`×`cols` values of `x` into `y` (may alias `x`). */
export function softmaxRows(x: Float32Array, y: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j]! > m) m = x[o + j]!;
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[o + j]! - m);
      y[o + j] = e;
      s += e;
    }
    const inv = 1 / s;
    for (let j = 0; j < cols; j++) y[o + j] = y[o + j]! * inv;
  }
}

/** Row-wise log-softmax of `rows`×`cols` values of `x` into `y` (may alias `x`). */
export function logSoftmaxRows(x: Float32Array, y: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j]! > m) m = x[o + j]!;
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[o + j]! - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < cols; j++) y[o + j] = x[o + j]! - lse;
  }
}

function lastAxis(x: Tensor, op: string): [number, number] {
  if (x.rank === 0) throw new RangeError(`${op}: needs rank ≥ 1, got shape ${formatShape(x.shape)}`);
  const cols = x.shape[x.rank - 1]!;
  return [cols === 0 ? 0 : x.size / cols, cols];
}

/** Softmax along the last axis. */
export function softmax(x: Tensor, out?: Tensor): Tensor {
  const [rows, cols] = lastAxis(x, 'softmax');
  const o = out ?? zeros(x.shape);
  softmaxRows(x.data, o.data, rows, cols);
  return o;
}

/** Log-softmax along the last axis. */
export function logSoftmax(x: Tensor, out?: Tensor): Tensor {
  const [rows, cols] = lastAxis(x, 'logSoftmax');
  const o = out ?? zeros(x.shape);
  logSoftmaxRows(x.data, o.data, rows, cols);
  return o;
}
