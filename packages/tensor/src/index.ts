export * from './allocator.js';
export * from './shape.js';
export * from './tensor.js';
export * from './random.js';
export * from './matmul.js';
export * from './elementwise.js';
export * from './reduce.js';
export * from './softmax.js';
export {
  compileWasmKernels, createWasmMemory, attachWasmBackend, detachWasmBackend, activeWasmBackend, requestedBackend,
  wasmAllocator, inWasmMemory, adoptWasmView, wasmAdamUpdate, wasmColumnSums, wasmBiasActivation, wasmActivationGradBias, resetWasmMemory, type WasmBackend, type WasmMemory, type WasmModule,
} from './wasm/backend.js';
export * from './window2d.js';
export * from './conv.js';
export * from './batch-norm.js';
