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
 * Starts the engine for a fit: in the main thread for one worker, else a pool of worker threads
 * on shared memory. A batch with fewer rows than workers computes on fewer workers, but every
 * worker still takes its share of the optimizer update (at batch size 1 that is most of a step).
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const workers = checkWorkers(options.workers);
  if (workers === 1) return new LocalEngine({ ...options, workers: 1 });
  return ThreadEngine.create({ ...options, workers });
}
