/** Label and feature preprocessing: one-hot labels, standardization, a NaN/Infinity check. */
import { allocFloat32, normalizeAxis, Tensor, tensor } from '@loom/tensor';

/**
 * One-hot encodes integer labels as a `[n, numClasses]` tensor (Keras's `to_categorical`).
 * `numClasses` defaults to the largest label + 1. A label that is not an integer in
 * `[0, numClasses)` throws an error naming its index and value.
 */
export function toCategorical(labels: ArrayLike<number> | Tensor, numClasses?: number): Tensor {
  const values: ArrayLike<number> = labels instanceof Tensor ? labels.data : labels;
  const n = values.length;
  let k: number;
  if (numClasses === undefined) {
    if (n === 0) throw new RangeError('toCategorical: numClasses is required when there are no labels');
    k = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (!Number.isInteger(v) || v < 0) {
        throw new RangeError(`toCategorical: label at index ${i} is ${v}, expected a non-negative integer`);
      }
      if (v + 1 > k) k = v + 1;
    }
  } else {
    if (!Number.isInteger(numClasses) || numClasses <= 0) {
      throw new RangeError(`toCategorical: numClasses must be a positive integer, got ${numClasses}`);
    }
    k = numClasses;
  }
  const out = allocFloat32(n * k);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= k) {
      throw new RangeError(`toCategorical: label at index ${i} is ${v}, expected an integer in [0, ${k})`);
    }
    out[i * k + v] = 1;
  }
  return new Tensor(out, [n, k]);
}

export interface NormalizeOptions {
  /**
   * The axis whose entries each get their own mean and standard deviation, reduced over all the
   * other axes (Keras's `Normalization(axis=-1)`). Default `-1`: one statistic per feature of a
   * `[n, features]` tensor (per channel of `[n, h, w, c]`). `null`: one mean and one std for all.
   * A rank-1 tensor is treated as a single feature.
   */
  axis?: number | null;
  /** Statistics computed earlier (from the training set), to apply to other data. Give both. */
  mean?: ArrayLike<number> | Tensor;
  std?: ArrayLike<number> | Tensor;
}

export interface Normalized {
  /** `(x - mean) / std`, a new tensor. */
  x: Tensor;
  /** One mean per entry of the axis (shape `[k]`). */
  mean: Tensor;
  /** One population standard deviation per entry of the axis; 1 where the data is constant. */
  std: Tensor;
}

function statsTensor(v: ArrayLike<number> | Tensor): Tensor {
  return v instanceof Tensor ? v.reshape([v.size]) : tensor(v);
}

/**
 * Standardizes `x` to zero mean and unit variance per feature, returning the statistics so the
 * same transform can be applied to test data (`normalize(test, { mean, std })`). Sums run in
 * float64 and the variance is the population one (divide by n), as Keras and scikit-learn do;
 * a constant feature (std 0) is only centered, as scikit-learn's `StandardScaler` does.
 */
export function normalize(x: Tensor, options: NormalizeOptions = {}): Normalized {
  const shape = x.shape;
  const axis = options.axis === undefined ? (x.rank <= 1 ? null : -1) : options.axis;
  let outer = 1;
  let k = 1;
  let inner = x.size;
  if (axis !== null) {
    const a = normalizeAxis(axis, x.rank, 'normalize');
    k = shape[a]!;
    outer = 1;
    for (let i = 0; i < a; i++) outer *= shape[i]!;
    inner = 1;
    for (let i = a + 1; i < shape.length; i++) inner *= shape[i]!;
  }
  const src = x.data;
  let mean: Tensor;
  let std: Tensor;
  if (options.mean !== undefined || options.std !== undefined) {
    if (options.mean === undefined || options.std === undefined) {
      throw new RangeError('normalize: give both mean and std, or neither');
    }
    mean = statsTensor(options.mean);
    std = statsTensor(options.std);
    if (mean.size !== k || std.size !== k) {
      throw new RangeError(`normalize: mean and std need ${k} entries for axis ${axis} of shape [${shape.join(', ')}], got ${mean.size} and ${std.size}`);
    }
  } else {
    const count = outer * inner;
    if (count === 0) throw new RangeError(`normalize: cannot compute statistics of an empty tensor of shape [${shape.join(', ')}]`);
    const sum = new Float64Array(k);
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < k; c++) {
        const base = (o * k + c) * inner;
        let s = 0;
        for (let j = 0; j < inner; j++) s += src[base + j]!;
        sum[c]! += s;
      }
    }
    for (let c = 0; c < k; c++) sum[c] = sum[c]! / count;
    // Second pass around the mean: no catastrophic cancellation from E[x^2] - E[x]^2.
    const sq = new Float64Array(k);
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < k; c++) {
        const base = (o * k + c) * inner;
        const m = sum[c]!;
        let s = 0;
        for (let j = 0; j < inner; j++) {
          const d = src[base + j]! - m;
          s += d * d;
        }
        sq[c]! += s;
      }
    }
    const m32 = allocFloat32(k);
    const s32 = allocFloat32(k);
    for (let c = 0; c < k; c++) {
      m32[c] = sum[c]!;
      const sd = Math.sqrt(sq[c]! / count);
      s32[c] = sd === 0 ? 1 : sd;
    }
    mean = new Tensor(m32, [k]);
    std = new Tensor(s32, [k]);
  }
  const out = allocFloat32(x.size);
  const md = mean.data;
  const sd = std.data;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < k; c++) {
      const base = (o * k + c) * inner;
      const m = md[c]!;
      const inv = 1 / sd[c]!;
      for (let j = 0; j < inner; j++) out[base + j] = (src[base + j]! - m) * inv;
    }
  }
  return { x: new Tensor(out, shape), mean, std };
}

/**
 * Throws if `data` holds a NaN or an Infinity, naming `name`, the first bad index (with its
 * coordinates for a tensor) and the value. Returns `data` so it can wrap an expression.
 */
export function checkFinite<T extends ArrayLike<number> | Tensor>(data: T, name = 'data'): T {
  const values: ArrayLike<number> = data instanceof Tensor ? data.data : data;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v !== 0) {
      let where = `index ${i}`;
      if (data instanceof Tensor && data.rank > 1) {
        const coords: number[] = [];
        let rest = i;
        for (let d = data.rank - 1; d >= 0; d--) {
          const dim = data.shape[d]!;
          coords.unshift(rest % dim);
          rest = Math.floor(rest / dim);
        }
        where += ` [${coords.join(', ')}]`;
      }
      throw new RangeError(`${name} contains ${v} at ${where} (the first non-finite value)`);
    }
  }
  return data;
}
