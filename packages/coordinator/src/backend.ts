import type { Sequential } from '@loom/layers';
import {
  activeWasmBackend, attachWasmBackend, compileWasmKernels, createWasmMemory, requestedBackend, resetWasmMemory,
  sharedAllocator, wasmAllocator, type Allocator, type WasmMemory, type WasmModule,
} from '@loom/tensor';

/** What a worker needs to run the wasm kernels on the engine's memory (structured-cloneable). */
export interface WasmSetup {
  module: WasmModule;
  memory: WasmMemory;
  relaxed: boolean;
}

export type BackendChoice = 'js' | 'wasm' | 'auto';

/**
 * The wasm memory engines in this thread share, and how many live engines use it. Engines come
 * and go (every fit, evaluate and predict makes one): a new WebAssembly.Memory each time would
 * pile up tens of MB per call faster than the GC returns them, so the memory is kept and, when
 * no engine uses it, reset like an arena before the next one allocates.
 */
let pool: { wasm: WasmSetup; leases: number } | null = null;

/**
 * Chooses the kernels for an engine: `wasm` (SIMD kernels on one shared WebAssembly.Memory that
 * holds parameters, gradients, optimizer state, batches and activations) where they load, `js`
 * otherwise or when asked (`LOOM_BACKEND=js`). Attaches the backend in this thread, so the
 * returned allocator places the engine's buffers in that memory. Pair with `tearDownBackend`.
 */
export function setUpBackend(choice: BackendChoice = requestedBackend(), initialBytes = 64 * 2 ** 20): { wasm: WasmSetup | null; allocator: Allocator } {
  if (choice === 'js') return { wasm: null, allocator: sharedAllocator };
  const compiled = compileWasmKernels();
  if (!compiled) {
    if (choice === 'wasm') throw new Error("backend 'wasm' was asked for (LOOM_BACKEND=wasm) but the kernels are not built: run npm run build");
    return { wasm: null, allocator: sharedAllocator };
  }
  if (!pool || pool.wasm.module !== compiled.module) {
    pool = { wasm: { module: compiled.module, memory: createWasmMemory(initialBytes), relaxed: compiled.relaxed }, leases: 0 };
  }
  const { wasm } = pool;
  if (activeWasmBackend()?.memory !== wasm.memory) attachWasmBackend(wasm.module, wasm.memory, wasm.relaxed);
  // No live engine uses the memory: everything in it belonged to closed engines (their weights
  // went back to ordinary memory and their workers are gone), so start it over.
  if (pool.leases === 0) resetWasmMemory(wasm.memory);
  pool.leases++;
  return { wasm, allocator: wasmAllocator };
}

/** Whether `setUpBackend(choice)` would pick the wasm kernels. */
export function willUseWasm(choice: BackendChoice): boolean {
  return choice !== 'js' && compileWasmKernels() !== null;
}

/** Ends an engine's use of the shared memory (it stays attached, for the next engine to reuse). */
export function tearDownBackend(wasm: WasmSetup | null): void {
  if (wasm && pool?.wasm === wasm && pool.leases > 0) pool.leases--;
}

/** Bytes an engine's memory should start with: parameters, gradient, slots, batch, step buffers of `capacity` rows. */
export function estimateBytes(model: Sequential, slots: number, maxRows: number, capacity: number): number {
  const perRow = model.layers.reduce((sum, l) => sum + l.stepWidth, 0);
  return 4 * (model.countParams() * (2 + slots) + maxRows * (model.inputSize + model.outputSize) + capacity * perRow) + (1 << 20);
}
