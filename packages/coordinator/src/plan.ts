import type { Sequential } from '@loom/layers';
import type { Optimizer } from '@loom/optimizers';
import { allocFloat32, heapAllocator, withAllocator, type Allocator } from '@loom/tensor';
import type { WasmSetup } from './backend.js';
import { CONTROL_LENGTH } from './step-protocol.js';

/**
 * The plan of a threaded step: the shared buffers every worker maps, and who owns which rows
 * and which parameters (the order of the stages is in step-protocol.ts).
 *
 * - Workers: 0 is the main thread, 1..W-1 are threads of the process's pool.
 * - Rows: worker i < ACTIVE computes rows [partStart(rows, active, i), partStart(rows, active, i + 1))
 *   of the batch, in its window of every layer's step buffers.
 * - Parameters: worker i of W owns part i of every weight, cut along the weight's first axis
 *   (`Sequential.weightChunks(i, W)`: a Dense kernel's input features, a bias's units). It
 *   computes that part of the gradient over all rows and updates it. The flat gradient is one
 *   buffer of P values, each element written by exactly one worker.
 */
export interface SharedState {
  /** The only copy of the weights; every replica's weights are views on it. */
  params: Float32Array;
  /** The batch gradient, P values: part i written by worker i. */
  grads: Float32Array;
  /** The optimizer's slots, each of length P, in its slot order. */
  slots: Float32Array[];
  /** The batch (`engine.x`, `engine.y`), from row 0. */
  x: Float32Array;
  y: Float32Array;
  /** Every layer's step buffers (`Sequential.stepBuffers()`), `capacity` rows each. */
  layers: Float32Array[][];
  capacity: number;
  control: Int32Array;
  /** Set when the floats above live in a WebAssembly.Memory whose kernels the workers run. */
  wasm: WasmSetup | null;
}

/** Rows an evaluation or prediction block holds: it fixes the order of the sums, whatever W. */
export const EVAL_BLOCK = 64;

/**
 * Rows the step buffers hold: the largest batch, and for inference a block per worker, since
 * each worker evaluates in its own window of the buffers (a block that did not fit would make
 * the layers allocate new buffers outside the engine's memory).
 */
export function stepCapacity(maxRows: number, workers: number): number {
  return Math.max(maxRows, workers * EVAL_BLOCK);
}

/**
 * Moves a model's parameters, gradient, optimizer slots and step buffers (for `capacity` rows)
 * into `alloc`'s memory (shared or wasm) for an engine's life. The values are copied; the
 * model and optimizer then point at the new arrays.
 */
export function placeModel(model: Sequential, optimizer: Optimizer, alloc: Allocator, capacity: number): void {
  const p = model.countParams();
  if (!optimizer.built) optimizer.build([p]);
  withAllocator(alloc, () => {
    const params = allocFloat32(p);
    params.set(model.params);
    model.bindParameters(params, allocFloat32(p));
    optimizer.setSlots([optimizer.slots[0]!.map((s) => {
      const moved = allocFloat32(s.length);
      moved.set(s);
      return moved;
    })]);
    model.allocateBuffers(capacity);
  });
}

/**
 * After an engine: the model's parameters and the optimizer's slots back in ordinary memory
 * (copies), and its step buffers too, so the engine's shared or wasm memory can be reused.
 */
export function releaseToHeap(model: Sequential, optimizer: Optimizer, maxRows: number): void {
  if (model.params.buffer instanceof ArrayBuffer) return;
  model.bindParameters(model.params.slice(), new Float32Array(model.countParams()));
  if (optimizer.built) optimizer.setSlots([optimizer.slots[0]!.map((s) => s.slice())]);
  withAllocator(heapAllocator, () => model.allocateBuffers(maxRows));
}

/** The shared state of a threaded engine over a model already placed in shared memory. */
export function sharedState(
  model: Sequential, optimizer: Optimizer, alloc: Allocator, wasm: WasmSetup | null, maxRows: number, labelWidth: number, capacity: number,
): SharedState {
  const [x, y] = withAllocator(alloc, () => [allocFloat32(maxRows * model.inputSize), allocFloat32(maxRows * labelWidth)]);
  return {
    params: model.params, grads: model.grads, slots: optimizer.slots[0]!, x: x!, y: y!,
    layers: model.stepBuffers(), capacity, control: newControl(), wasm,
  };
}

/** A crew's control array (a new crew after a fault gets a new one). */
export function newControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(CONTROL_LENGTH * 4));
}

/** Adds per-block sums (rows of `width`) in block order: the same bits for any split of the blocks. */
export function sumBlocks(parts: readonly Float64Array[], width: number): Float64Array {
  const total = new Float64Array(width);
  for (const p of parts) for (let o = 0; o < p.length; o += width) for (let i = 0; i < width; i++) total[i] += p[o + i]!;
  return total;
}
