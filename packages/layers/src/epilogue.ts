import type { ActivationKernel } from '@loom/autodiff';
import { wasmActivationGradBias, wasmBiasActivation } from '@loom/tensor';

/**
 * The epilogue of a layer y = activation(x·W + b) (Dense, Conv2D): z += b per row, then
 * y = activation(z), in one wasm pass when the buffers live there and it has the activation,
 * else with the JavaScript kernels (the reference). `rows` are matrix rows (samples, or
 * samples × output positions) of `cols` values.
 */
export function biasActivation(z: Float32Array, y: Float32Array, bias: Float32Array | null, rows: number, cols: number, act: ActivationKernel, alpha: number): void {
  if (wasmBiasActivation(z, y, bias, rows, cols, act.name, alpha)) return;
  if (bias) for (let r = 0, o = 0; r < rows; r++, o += cols) for (let j = 0; j < cols; j++) z[o + j] += bias[j]!;
  act.forward(z, y, rows * cols, cols, alpha);
}

/**
 * Its backward: dz = activation′(z)·dy (`through` is 'linear' when a fused loss already gave the
 * pre-activation's gradient). dz lands in the layer's own buffer even when it equals dy,
 * because the weight gradient reads every worker's rows of it.
 */
export function activationGrad(
  z: Float32Array, y: Float32Array, dy: Float32Array, dz: Float32Array, rows: number, cols: number, act: ActivationKernel, through: string, alpha: number,
): void {
  if (wasmActivationGradBias(z, dy, dz, null, rows, cols, through, alpha)) return;
  if (through === 'linear') for (let i = 0, n = rows * cols; i < n; i++) dz[i] = dy[i]!;
  else act.backward(z, y, dy, dz, rows * cols, cols, alpha);
}
