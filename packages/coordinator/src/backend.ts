import {
  activeWasmBackend, attachWasmBackend, compileWasmKernels, createWasmMemory, detachWasmBackend, requestedBackend,
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
 * Chooses the kernels for an engine: `wasm` (SIMD kernels on one shared WebAssembly.Memory that
 * holds parameters, gradients, optimizer state, batches and activations) where they load, `js`
 * otherwise or when asked (`LOOM_BACKEND=js`). Attaches the backend in this thread, so the
 * returned allocator places the engine's buffers in that memory.
 */
export function setUpBackend(choice: BackendChoice = requestedBackend(), initialBytes = 64 * 2 ** 20): { wasm: WasmSetup | null; allocator: Allocator } {
  if (choice === 'js') return { wasm: null, allocator: sharedAllocator };
  const compiled = compileWasmKernels();
  if (!compiled) {
    if (choice === 'wasm') throw new Error("backend 'wasm' was asked for (LOOM_BACKEND=wasm) but the kernels are not built: run npm run build");
    return { wasm: null, allocator: sharedAllocator };
  }
  const memory = createWasmMemory(initialBytes);
  attachWasmBackend(compiled.module, memory, compiled.relaxed);
  return { wasm: { module: compiled.module, memory, relaxed: compiled.relaxed }, allocator: wasmAllocator };
}

/** Whether `setUpBackend(choice)` would pick the wasm kernels. */
export function willUseWasm(choice: BackendChoice): boolean {
  return choice !== 'js' && compileWasmKernels() !== null;
}

/** Detaches this thread from the engine's memory (if it is still the active one). */
export function tearDownBackend(wasm: WasmSetup | null): void {
  if (wasm && activeWasmBackend()?.memory === wasm.memory) detachWasmBackend();
}

/** Bytes an engine's memory should start with: parameters, W gradient rows, slots, batches, activations. */
export function estimateBytes(params: number, workers: number, slots: number, maxRows: number, activationsPerRow: number): number {
  return 4 * (params * (2 + workers + slots) + maxRows * activationsPerRow * (workers + 2)) + (1 << 20);
}
