import { formatShape, normalizeAxis } from './shape.js';
import { Tensor, zeros } from './tensor.js';
import { wasmColumnSums } from './wasm/backend.js';

/** Reductions along one axis (or over everything when `axis` is omitted). */

export interface ReduceOptions {
  axis?: number;
  keepDims?: boolean;
  out?: Tensor;
}

type Reducer = { init: number; step: (acc: number, v: number) => number; finish?: (acc: number, n: number) => number };

function reduce(x: Tensor, r: Reducer, options: ReduceOptions, op: string): Tensor {
  const { axis, keepDims = false, out } = options;
  if (axis === undefined) {
    if (x.size === 0 && op === 'max') throw new RangeError(`${op}: cannot reduce an empty tensor`);
    let acc = r.init;
    const d = x.data;
    for (let i = 0; i < d.length; i++) acc = r.step(acc, d[i]!);
    const shape = keepDims ? x.shape.map(() => 1) : [];
    const o = out ?? zeros(shape);
    o.data[0] = r.finish ? r.finish(acc, d.length) : acc;
    return o;
  }
  const ax = normalizeAxis(axis, x.rank, op);
  const outer = x.shape.slice(0, ax).reduce((p, v) => p * v, 1);
  const len = x.shape[ax]!;
  const inner = x.shape.slice(ax + 1).reduce((p, v) => p * v, 1);
  const shape = keepDims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_, i) => i !== ax);
  const o = out ?? zeros(shape);
  if (o.size !== outer * inner) {
    throw new RangeError(`${op}: out must have shape ${formatShape(shape)}, got ${formatShape(o.shape)}`);
  }
  const xd = x.data, od = o.data;
  for (let p = 0; p < outer; p++) {
    for (let q = 0; q < inner; q++) {
      let acc = r.init;
      let idx = p * len * inner + q;
      for (let k = 0; k < len; k++, idx += inner) acc = r.step(acc, xd[idx]!);
      od[p * inner + q] = r.finish ? r.finish(acc, len) : acc;
    }
  }
  return o;
}

const sumR: Reducer = { init: 0, step: (a, v) => a + v };
const meanR: Reducer = { init: 0, step: (a, v) => a + v, finish: (a, n) => a / n };
const maxR: Reducer = { init: -Infinity, step: (a, v) => (v > a || Number.isNaN(v) ? v : a) };
const minR: Reducer = { init: Infinity, step: (a, v) => (v < a || Number.isNaN(v) ? v : a) };

export const sum = (x: Tensor, options: ReduceOptions = {}): Tensor => reduce(x, sumR, options, 'sum');
export const mean = (x: Tensor, options: ReduceOptions = {}): Tensor => reduce(x, meanR, options, 'mean');
export const max = (x: Tensor, options: ReduceOptions = {}): Tensor => reduce(x, maxR, options, 'max');
export const min = (x: Tensor, options: ReduceOptions = {}): Tensor => reduce(x, minR, options, 'min');

/** Index of the largest element along `axis` (the first one on ties), as float32 values. */
export function argmax(x: Tensor, axis = -1, out?: Tensor): Tensor {
  const ax = normalizeAxis(axis, x.rank, 'argmax');
  const outer = x.shape.slice(0, ax).reduce((p, v) => p * v, 1);
  const len = x.shape[ax]!;
  if (len === 0) throw new RangeError(`argmax: axis ${axis} has length 0 in shape ${formatShape(x.shape)}`);
  const inner = x.shape.slice(ax + 1).reduce((p, v) => p * v, 1);
  const o = out ?? zeros(x.shape.filter((_, i) => i !== ax));
  const xd = x.data, od = o.data;
  for (let p = 0; p < outer; p++) {
    for (let q = 0; q < inner; q++) {
      const base = p * len * inner + q;
      let best = xd[base]!, bestK = 0;
      for (let k = 1; k < len; k++) {
        const v = xd[base + k * inner]!;
        if (v > best) { best = v; bestK = k; }
      }
      od[p * inner + q] = bestK;
    }
  }
  return o;
}

/** Row-wise argmax of a [rows, cols] block of a flat array: the trainer's accuracy kernel. */
export function argmaxRow(data: Float32Array, offset: number, cols: number): number {
  let best = data[offset]!, bestK = 0;
  for (let k = 1; k < cols; k++) {
    const v = data[offset + k]!;
    if (v > best) { best = v; bestK = k; }
  }
  return bestK;
}

/**
 * out[j] = Σ_r x[r·cols + j] for the columns j in [from, to) of a row-major [rows, cols] array
 * (a bias gradient, or one worker's share of it): each column is summed in row order in
 * float32, as the wasm epilogue sums it, so a share gives the bits of the whole.
 */
export function columnSums(x: Float32Array, rows: number, cols: number, from: number, to: number, out: Float32Array): void {
  if (to <= from || wasmColumnSums(x, rows, cols, from, to, out)) return;
  out.fill(0, from, to);
  for (let r = 0, o = 0; r < rows; r++, o += cols) for (let j = from; j < to; j++) out[j] += x[o + j]!;
}
