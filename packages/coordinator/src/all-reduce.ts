import { wasmAddInto } from '@loom/tensor';
/**
 * Reduce-scatter over per-worker gradient rows, as DDP does it but simplified: the flat
 * parameter vector is cut into W contiguous chunks; worker i sums chunk i over the rows in a
 * fixed order (row 0, 1, 2, …), so reruns are bit-identical, and writes the sum into row 0.
 */

/** [from, to) of part `index` when `length` items are cut into `parts` contiguous near-equal parts. */
export function partBounds(length: number, parts: number, index: number): [number, number] {
  const base = Math.floor(length / parts), extra = length % parts;
  const from = index * base + Math.min(index, extra);
  return [from, from + base + (index < extra ? 1 : 0)];
}

/** Sums rows 0..rows-1 (each `stride` long) of `grads` over [from, to) into row 0. */
export function reduceChunk(grads: Float32Array, stride: number, rows: number, from: number, to: number): void {
  if (rows <= 1) return;
  for (let r = 1; r < rows; r++) {
    const o = r * stride;
    // In wasm SIMD when the rows live in its memory (same bits: a float32 add either way).
    if (wasmAddInto(grads, from, o + from, to - from)) continue;
    for (let j = from; j < to; j++) grads[j] += grads[o + j]!;
  }
}
