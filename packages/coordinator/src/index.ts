import os from 'node:os';
import type { Engine, EngineOptions } from './engine.js';
import { MIN_WORK_PER_WORKER, checkWorkers, usefulWorkers } from './engine.js';
import { LocalEngine } from './local-engine.js';
import { willUseWasm } from './backend.js';
import { requestedBackend } from '@loom/tensor';
import { ThreadEngine } from './thread-engine.js';

export type { BatchShare, Engine, EngineOptions, FaultInjection, GradientGroup } from './engine.js';
export { MIN_WORK_PER_WORKER, checkWorkers, usefulWorkers } from './engine.js';
export { LocalEngine } from './local-engine.js';
export { setUpBackend, type BackendChoice, type WasmSetup } from './backend.js';
export { ThreadEngine } from './thread-engine.js';
export { EVAL_BLOCK, stepCapacity, type SharedState } from './plan.js';
export { poolInfo, shutdown } from './pool.js';
export { Replica, type ReplicaSpec } from './replica.js';
export { partBounds, partStart } from '@loom/tensor';

/**
 * The default worker count: every core the process may use, shared between the processes a
 * launcher started on this machine (`LOCAL_WORLD_SIZE`, as torchrun sets it; torchrun likewise
 * gives each of several local processes one OpenMP thread), so `loom launch --nproc-per-node 2`
 * does not start twice as many threads as there are cores.
 */
export function defaultWorkers(env: NodeJS.ProcessEnv = process.env): number {
  const cores = os.availableParallelism();
  const local = Number(env.LOCAL_WORLD_SIZE);
  return Number.isInteger(local) && local > 1 ? Math.max(1, Math.floor(cores / local)) : cores;
}

/**
 * Starts the engine for a fit: threads for as many workers as the largest batch keeps busy
 * (`usefulWorkers`), or the main thread when that is one. A smaller batch (the last of an
 * epoch) computes on fewer of them by the same rule, but every worker still owns its part of
 * the weight gradient and the update. An `inference` engine takes every worker asked for once
 * a batch keeps two busy.
 */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const requested = checkWorkers(options.workers);
  const params = options.model.workPerSample();
  const kernels = willUseWasm(options.backend ?? requestedBackend()) ? 'wasm' : 'js';
  const perWorker = options.minWorkPerWorker ?? MIN_WORK_PER_WORKER[kernels];
  const busy = usefulWorkers(requested, params, options.maxRows, perWorker);
  const workers = options.inference && busy > 1 ? requested : busy;
  if (workers === 1) return new LocalEngine({ ...options, workers: 1 });
  return ThreadEngine.create({ ...options, workers }, perWorker);
}
