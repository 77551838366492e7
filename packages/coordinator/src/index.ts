import os from 'node:os';
import type { Engine, EngineOptions } from './engine.js';
import { checkWorkers } from './engine.js';
import { LocalEngine } from './local-engine.js';
import { ThreadEngine } from './thread-engine.js';

export type { Engine, EngineOptions, FaultInjection } from './engine.js';
export { checkWorkers } from './engine.js';
export { LocalEngine } from './local-engine.js';
export { ThreadEngine } from './thread-engine.js';
export { partBounds, reduceChunk } from './all-reduce.js';
export { Replica, type ReplicaSpec } from './replica.js';

/** The default worker count: every core the process may use. */
export function defaultWorkers(): number {
  return os.availableParallelism();
}

/**
 * Below this much work per step (parameters × batch rows, about a third of a step's
 * multiply-adds) worker threads cost more than they save. Measured on the 2-core dev machine
 * with `fit` on small MLPs: the threaded step pays about 150 µs of synchronisation; a
 * 641-parameter model at batch 10 ran 137 µs/step on one thread and 284 µs on two, a
 * 2,561-parameter model at batch 32 ran 826 µs on one and 693 µs on two.
 */
export const MIN_WORK_FOR_THREADS = 50_000;

/**
 * Starts the engine for a fit: in the main thread for one worker or for a model too small to
 * gain from threads, else a pool of worker threads on shared memory. A batch with fewer rows
 * than workers computes on fewer workers, but every worker still takes its share of the
 * optimizer update (at batch size 1 that is most of a step).
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const workers = checkWorkers(options.workers);
  const work = options.model.countParams() * options.maxRows;
  if (workers === 1 || work < (options.minWorkForThreads ?? MIN_WORK_FOR_THREADS)) {
    return new LocalEngine({ ...options, workers: 1 });
  }
  return ThreadEngine.create({ ...options, workers });
}
