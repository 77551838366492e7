/*
 * The batch-normalization kernels' wasm versions (batch-norm-wat.ts): each returns false, doing
 * nothing, when it cannot run (no backend, an array operand outside the attached memory), and
 * the caller runs the JavaScript reference in ../batch-norm.ts. The per-channel constants are
 * the caller's float64 heap arrays (and γ, β wherever the weights live): they are copied, C
 * values each, into this thread's float64 scratch in the memory, with 1 for a missing γ and 0
 * for a missing β, which the reference's `γ·x̂ + β` gives the same bits for. Lengths are checked
 * because a wasm kernel handed a short view would write over its neighbours in the memory.
 */
import { activeWasmBackend, inWasmMemory, scratchFloat64, type WasmKernelExports } from './backend.js';

function checkLength(kernel: string, what: string, a: ArrayLike<number>, needed: number): void {
  if (a.length < needed) throw new RangeError(`${kernel}: ${what} has ${a.length} elements, ${needed} are needed`);
}

function kernels(): WasmKernelExports {
  return activeWasmBackend()!.kernels;
}

/** batchNormRowStats in wasm. */
export function wasmBatchNormRowStats(x: Float32Array, rows: number, positions: number, channels: number, out: Float32Array): boolean {
  if (!inWasmMemory(x) || !inWasmMemory(out)) return false;
  checkLength('batchNormRowStats', 'x', x, rows * positions * channels);
  checkLength('batchNormRowStats', 'out', out, rows * 2 * channels);
  kernels().bn_row_stats(x.byteOffset, rows, positions, channels, out.byteOffset);
  return true;
}

/** batchNormNormalize in wasm; the scratch holds mean, invStd, γ, β (C float64 each). */
export function wasmBatchNormNormalize(
  x: Float32Array, rows: number, positions: number, channels: number, mean: Float64Array, invStd: Float64Array,
  gamma: Float32Array | null, beta: Float32Array | null, xhat: Float32Array, y: Float32Array,
): boolean {
  if (!inWasmMemory(x) || !inWasmMemory(xhat) || !inWasmMemory(y)) return false;
  const c = channels, n = rows * positions * c;
  checkLength('batchNormNormalize', 'x', x, n);
  checkLength('batchNormNormalize', 'xhat', xhat, n);
  checkLength('batchNormNormalize', 'y', y, n);
  checkLength('batchNormNormalize', 'mean', mean, c);
  checkLength('batchNormNormalize', 'invStd', invStd, c);
  if (gamma) checkLength('batchNormNormalize', 'gamma', gamma, c);
  if (beta) checkLength('batchNormNormalize', 'beta', beta, c);
  const s = scratchFloat64(4 * c);
  for (let ch = 0; ch < c; ch++) {
    s[ch] = mean[ch]!;
    s[c + ch] = invStd[ch]!;
    s[2 * c + ch] = gamma ? gamma[ch]! : 1;
    s[3 * c + ch] = beta ? beta[ch]! : 0;
  }
  kernels().bn_normalize(x.byteOffset, rows, positions, c, s.byteOffset, xhat.byteOffset, y.byteOffset);
  return true;
}

/** batchNormGradStats in wasm. */
export function wasmBatchNormGradStats(dy: Float32Array, xhat: Float32Array, rows: number, positions: number, channels: number, out: Float32Array): boolean {
  if (!inWasmMemory(dy) || !inWasmMemory(xhat) || !inWasmMemory(out)) return false;
  checkLength('batchNormGradStats', 'dy', dy, rows * positions * channels);
  checkLength('batchNormGradStats', 'xhat', xhat, rows * positions * channels);
  checkLength('batchNormGradStats', 'out', out, rows * 2 * channels);
  kernels().bn_grad_stats(dy.byteOffset, xhat.byteOffset, rows, positions, channels, out.byteOffset);
  return true;
}

/**
 * batchNormInputGrad in wasm; the scratch holds k = γ·invStd, S1/N and S2/N (C float64 each),
 * computed as the reference computes them.
 */
export function wasmBatchNormInputGrad(
  dy: Float32Array, xhat: Float32Array, rows: number, positions: number, channels: number, gamma: Float32Array | null,
  invStd: Float64Array, sumDy: Float64Array, sumDyXhat: Float64Array, count: number, dx: Float32Array,
): boolean {
  if (!inWasmMemory(dy) || !inWasmMemory(xhat) || !inWasmMemory(dx)) return false;
  const c = channels, n = rows * positions * c;
  checkLength('batchNormInputGrad', 'dy', dy, n);
  checkLength('batchNormInputGrad', 'xhat', xhat, n);
  checkLength('batchNormInputGrad', 'dx', dx, n);
  checkLength('batchNormInputGrad', 'invStd', invStd, c);
  checkLength('batchNormInputGrad', 'sumDy', sumDy, c);
  checkLength('batchNormInputGrad', 'sumDyXhat', sumDyXhat, c);
  if (gamma) checkLength('batchNormInputGrad', 'gamma', gamma, c);
  const s = scratchFloat64(3 * c);
  for (let ch = 0; ch < c; ch++) {
    s[ch] = (gamma ? gamma[ch]! : 1) * invStd[ch]!;
    s[c + ch] = sumDy[ch]! / count;
    s[2 * c + ch] = sumDyXhat[ch]! / count;
  }
  kernels().bn_input_grad(dy.byteOffset, xhat.byteOffset, rows, positions, c, s.byteOffset, dx.byteOffset);
  return true;
}
