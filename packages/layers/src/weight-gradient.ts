import { columnSums, gemm } from '@loom/tensor';
import { weightChunkStart, type WeightSpec } from './layer.js';

/** Rows [i0, i1) of one part of a kernel, and the views its gradient product reads and writes. */
interface KernelPart {
  i0: number;
  i1: number;
  c0: number;
  c1: number;
  a: Float32Array;
  dw: Float32Array;
}

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
  /** Views by part (part · 65536 + parts), made once: a step allocates nothing. */
  private readonly parts = new Map<number, KernelPart>();

  /**
   * The kernel is read as a matrix `[fan-in, last axis]` (Conv2D's `[kh, kw, cin, filters]` as
   * `[kh·kw·cin, filters]`, with `input` its patches); `rows` are the matrix rows of `input`
   * and `dz` (samples, or samples × output positions).
   */
  compute(kernel: WeightSpec, bias: WeightSpec | null, input: Float32Array, dz: Float32Array, rows: number, part: number, parts: number): void {
    // Indexing, not destructuring: an array pattern may allocate an iterator every step.
    const width = kernel.shape[kernel.shape.length - 1]!, inSize = kernel.size / width;
    if (input !== this.input || kernel.grad !== this.grad) {
      this.input = input;
      this.grad = kernel.grad;
      this.parts.clear();
    }
    const key = part * 65536 + parts;
    let p = this.parts.get(key);
    if (!p) {
      // The same cut as the owner's parameter ranges (Sequential.weightChunks): one rule.
      const i0 = weightChunkStart(kernel, parts, part) / width, i1 = weightChunkStart(kernel, parts, part + 1) / width;
      const c0 = bias ? weightChunkStart(bias, parts, part) : 0, c1 = bias ? weightChunkStart(bias, parts, part + 1) : 0;
      p = { i0, i1, c0, c1, a: input.subarray(i0), dw: kernel.grad.subarray(i0 * width, i1 * width) };
      this.parts.set(key, p);
    }
    // x[:, i0:i1]ᵀ is read in place: its rows are inSize long (lda), so the block costs no copy.
    if (p.i1 > p.i0) gemm(p.i1 - p.i0, width, rows, p.a, true, dz, false, p.dw, false, inSize);
    if (bias) columnSums(dz, rows, width, p.c0, p.c1, bias.grad);
  }
}
