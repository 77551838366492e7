import { sharedAllocator, type Allocator } from '@loom/tensor';
import type { WasmSetup } from './backend.js';
import { CONTROL_LENGTH } from './control.js';

/** The shared memory of a threaded fit: every worker maps the same buffers. */
export interface SharedBuffers {
  params: Float32Array;
  /** W gradient rows of P values: worker i's replica writes row i; the reduced sum lands in row 0. */
  grads: Float32Array;
  /** The optimizer's slots, each of length P, in its slot order. */
  slots: Float32Array[];
  x: Float32Array;
  y: Float32Array;
  control: Int32Array;
  /** Per worker: [loss sum, metric sums…]. */
  stats: Float64Array;
  /** Set when the floats above live in a WebAssembly.Memory whose kernels the workers run. */
  wasm: WasmSetup | null;
}

export function sharedFloat32(length: number): Float32Array {
  return sharedAllocator.float32(length);
}

/** The part of the shared memory that belongs to one crew of workers (replaced after a fault). */
export function createCrewBuffers(
  params: number, workers: number, statsWidth: number, alloc: Allocator = sharedAllocator,
): Pick<SharedBuffers, 'grads' | 'control' | 'stats'> {
  return {
    grads: alloc.float32(params * workers),
    control: new Int32Array(new SharedArrayBuffer(CONTROL_LENGTH * 4)),
    stats: new Float64Array(new SharedArrayBuffer(workers * statsWidth * 8)),
  };
}

export function createSharedBuffers(
  params: number, workers: number, slotCount: number, maxRows: number, inputSize: number, labelWidth: number, statsWidth: number,
  alloc: Allocator = sharedAllocator, wasm: WasmSetup | null = null,
): SharedBuffers {
  return {
    params: alloc.float32(params),
    slots: Array.from({ length: slotCount }, () => alloc.float32(params)),
    x: alloc.float32(maxRows * inputSize),
    y: alloc.float32(maxRows * labelWidth),
    ...createCrewBuffers(params, workers, statsWidth, alloc),
    wasm,
  };
}
