import os from 'node:os';
import type { Engine, EngineOptions } from './engine.js';
import { checkWorkers } from './engine.js';
import { LocalEngine } from './local-engine.js';
import { willUseWasm } from './backend.js';
import { requestedBackend } from '@loom/tensor';
import { ThreadEngine } from './thread-engine.js';

export type { Engine, EngineOptions, FaultInjection } from './engine.js';
export { checkWorkers } from './engine.js';
export { LocalEngine } from './local-engine.js';
export { setUpBackend, type BackendChoice, type WasmSetup } from './backend.js';
export { ThreadEngine } from './thread-engine.js';
export { partBounds, reduceChunk } from './all-reduce.js';
export { Replica, type ReplicaSpec } from './replica.js';

/** The default worker count: every core the process may use. */
export function defaultWorkers(): number {
  return os.availableParallelism();
}

/**
 * Below this much work per step (parameters × batch rows, about a third of a step's
 * multiply-adds) worker threads cost more than they save. A threaded step pays a few hundred
 * µs of synchronisation, and small batches are bound by streaming the weights, which two cores
 * share. Measured on the 2-core dev machine with `fit`:
 * - JS kernels: a 641-parameter model at batch 10 ran 137 µs/step on one thread and 284 µs on
 *   two; a 2,561-parameter model at batch 32 ran 826 µs on one and 693 µs on two.
 * - wasm kernels, the 648,010-parameter MNIST MLP: batch 10 ran 2.36 ms on one thread and
 *   3.20 ms on two, batch 20 3.41 / 3.61 ms, batch 30 4.95 / 4.28 ms, batch 50 7.69 / 5.45 ms.
 */
export const MIN_WORK_FOR_THREADS = { js: 50_000, wasm: 16_000_000 } as const;

/**
 * Starts the engine for a fit: in the main thread for one worker or for a model too small to
 * gain from threads, else a pool of worker threads on shared memory. A batch with fewer rows
 * than workers computes on fewer workers, but every worker still takes its share of the
 * optimizer update (at batch size 1 that is most of a step).
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const workers = checkWorkers(options.workers);
  const work = options.model.countParams() * options.maxRows;
  const kernels = willUseWasm(options.backend ?? requestedBackend()) ? 'wasm' : 'js';
  if (workers === 1 || work < (options.minWorkForThreads ?? MIN_WORK_FOR_THREADS[kernels])) {
    return new LocalEngine({ ...options, workers: 1 });
  }
  return ThreadEngine.create({ ...options, workers });
}
