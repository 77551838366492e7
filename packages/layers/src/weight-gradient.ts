import { columnSums, gemm, partStart } from '@loom/tensor';
import type { WeightSpec } from './layer.js';

/**
 * One part of the weight gradient of a layer y = x·W + b (Dense, and Maxout's pieces): rows
 * [i0, i1) of dW = xᵀ·dz and columns [c0, c1) of db = Σ_r dz, both over every row of the batch
 * in row order, so the parts of any split add up to the bits of the whole. The parts are cut
 * along each weight's first axis (input features, bias units): contiguous ranges the owner then
 * updates in place.
 */
export class KernelGradient {
  private input: Float32Array | null = null;
  private grad: Float32Array | null = null;
  private part = -1;
  private parts = -1;
  private i0 = 0;
  private i1 = 0;
  private a: Float32Array = new Float32Array(0);
  private dw: Float32Array = new Float32Array(0);

  compute(kernel: WeightSpec, bias: WeightSpec | null, input: Float32Array, dz: Float32Array, rows: number, part: number, parts: number): void {
    // Indexing, not destructuring: an array pattern may allocate an iterator every step.
    const inSize = kernel.shape[0]!, width = kernel.shape[1]!;
    // Views on this part, made again only when the part or the buffers move: a step allocates nothing.
    if (input !== this.input || kernel.grad !== this.grad || part !== this.part || parts !== this.parts) {
      this.input = input;
      this.grad = kernel.grad;
      this.part = part;
      this.parts = parts;
      this.i0 = partStart(inSize, parts, part);
      this.i1 = partStart(inSize, parts, part + 1);
      this.a = input.subarray(this.i0);
      this.dw = kernel.grad.subarray(this.i0 * width, this.i1 * width);
    }
    // x[:, i0:i1]ᵀ is read in place: its rows are inSize long (lda), so the block costs no copy.
    if (this.i1 > this.i0) gemm(this.i1 - this.i0, width, rows, this.a, true, dz, false, this.dw, false, inSize);
    if (bias) columnSums(dz, rows, width, partStart(width, parts, part), partStart(width, parts, part + 1), bias.grad);
  }
}
