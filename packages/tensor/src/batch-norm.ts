import { wasmBatchNormGradStats, wasmBatchNormInputGrad, wasmBatchNormNormalize, wasmBatchNormRowStats } from './wasm/batch-norm-hooks.js';

/*
 * Batch normalization's four loops over `rows` samples of `positions × channels` values,
 * channels last (an image's h·w positions; 1 position for a vector). The statistics are per
 * row: each row is computed alone, so its bits do not depend on which worker computes it or how
 * many rows share its call; combining the rows into the batch's statistics is the caller's (in
 * row order). Sums, means and per-channel constants are float64, as JavaScript numbers are; the
 * results are stored into the float32 outputs. These loops are the reference: the wasm versions
 * (src/wasm/batch-norm-wat.ts) run instead when every array operand lives in the attached wasm
 * memory, and do the same float64 operations in the same order, so they give the same bits.
 * Nothing here allocates.
 */

/**
 * Per row and channel, the mean and M2 = Σ (x − mean)² over the row's positions (two passes,
 * which stays accurate when the mean is large against the spread), into `out` as
 * `[mean[0..C), m2[0..C)]` per row (2·C floats each).
 */
export function batchNormRowStats(x: Float32Array, rows: number, positions: number, channels: number, out: Float32Array): void {
  if (wasmBatchNormRowStats(x, rows, positions, channels, out)) return;
  const c = channels, p = positions, n = p * c;
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      for (let i = 0, o = base + ch; i < p; i++, o += c) sum += x[o]!;
      const mean = sum / p;
      let m2 = 0;
      for (let i = 0, o = base + ch; i < p; i++, o += c) {
        const d = x[o]! - mean;
        m2 += d * d;
      }
      out[r * 2 * c + ch] = mean;
      out[r * 2 * c + c + ch] = m2;
    }
  }
}

/**
 * x̂ = (x − mean)·invStd and y = γ·x̂ + β per channel (γ null: 1; β null: 0). y is computed from
 * the stored (float32) x̂, which is what the backward reads. `mean` and `invStd` hold C values.
 */
export function batchNormNormalize(
  x: Float32Array, rows: number, positions: number, channels: number, mean: Float64Array, invStd: Float64Array,
  gamma: Float32Array | null, beta: Float32Array | null, xhat: Float32Array, y: Float32Array,
): void {
  if (wasmBatchNormNormalize(x, rows, positions, channels, mean, invStd, gamma, beta, xhat, y)) return;
  const c = channels;
  for (let i = 0, end = rows * positions * c; i < end; i += c) {
    for (let ch = 0; ch < c; ch++) {
      xhat[i + ch] = (x[i + ch]! - mean[ch]!) * invStd[ch]!;
      y[i + ch] = (gamma ? gamma[ch]! * xhat[i + ch]! : xhat[i + ch]!) + (beta ? beta[ch]! : 0);
    }
  }
}

/**
 * Per row and channel, S1 = Σ dy and S2 = Σ dy·x̂ over the row's positions, into `out` as
 * `[S1[0..C), S2[0..C)]` per row: summed over the batch, they are dβ and dγ.
 */
export function batchNormGradStats(dy: Float32Array, xhat: Float32Array, rows: number, positions: number, channels: number, out: Float32Array): void {
  if (wasmBatchNormGradStats(dy, xhat, rows, positions, channels, out)) return;
  const c = channels, p = positions, n = p * c;
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    for (let ch = 0; ch < c; ch++) {
      let s1 = 0, s2 = 0;
      for (let i = 0, o = base + ch; i < p; i++, o += c) {
        s1 += dy[o]!;
        s2 += dy[o]! * xhat[o]!;
      }
      out[r * 2 * c + ch] = s1;
      out[r * 2 * c + c + ch] = s2;
    }
  }
}

/**
 * dx = k·(dy − S1/N − x̂·S2/N) with k = γ·invStd (γ null: 1), where S1 and S2 are the batch's
 * sums (`sumDy`, `sumDyXhat`, C values each) and N = `count` the values per channel in the
 * batch: the gradient through the batch statistics, Ioffe & Szegedy's formula.
 */
export function batchNormInputGrad(
  dy: Float32Array, xhat: Float32Array, rows: number, positions: number, channels: number, gamma: Float32Array | null,
  invStd: Float64Array, sumDy: Float64Array, sumDyXhat: Float64Array, count: number, dx: Float32Array,
): void {
  if (wasmBatchNormInputGrad(dy, xhat, rows, positions, channels, gamma, invStd, sumDy, sumDyXhat, count, dx)) return;
  const c = channels;
  for (let i = 0, end = rows * positions * c; i < end; i += c) {
    for (let ch = 0; ch < c; ch++) {
      const k = (gamma ? gamma[ch]! : 1) * invStd[ch]!;
      dx[i + ch] = k * (dy[i + ch]! - sumDy[ch]! / count - xhat[i + ch]! * (sumDyXhat[ch]! / count));
    }
  }
}
