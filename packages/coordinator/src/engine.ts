import type { Sequential } from '@loom/layers';
import type { Optimizer } from '@loom/optimizers';

/** What `fit`, `evaluate` and `predict` drive; one implementation per thread count. */
export interface Engine {
  readonly workers: number;
  /** The kernels in use: 'wasm' or 'js'. */
  readonly backend: 'wasm' | 'js';
  /** Batch input buffers: the caller writes `rows` samples here before `trainStep`. */
  readonly x: Float32Array;
  readonly y: Float32Array;
  /** After a step: the batch's [loss sum, metric sums…]. */
  readonly stats: Float64Array;
  /** One optimizer step (t = optimizer.iterations + 1) on the `rows` samples in `x`/`y`. */
  trainStep(rows: number, seed: number, step: number): Promise<void>;
  /** Loss and metric sums over n samples (inference). */
  evaluate(x: Float32Array, y: Float32Array, n: number, batchSize: number): Promise<Float64Array>;
  /** Model outputs for n samples, [n, outputSize]. */
  predict(x: Float32Array, n: number, batchSize: number): Promise<Float32Array>;
  /** Stops every worker; safe to call twice. */
  close(): Promise<void>;
}

/** How a fault is injected into a worker, for tests of failure handling. */
export interface FaultInjection {
  worker: number;
  /** The optimizer step number t at which to fail. */
  atStep: number;
  kind: 'throw' | 'exit';
  /** Keep failing after the workers are replaced (to test giving up); default: fail once. */
  persistent?: boolean;
}

export interface EngineOptions {
  /** A built model; in the threaded engine its parameters move into shared memory. */
  model: Sequential;
  optimizer: Optimizer;
  loss: string;
  metrics: string[];
  workers: number;
  maxRows: number;
  labelWidth: number;
  /** Kernels: 'wasm' (SIMD on shared wasm memory), 'js', or 'auto' (wasm where it loads); default LOOM_BACKEND or auto. */
  backend?: 'js' | 'wasm' | 'auto';
  /** Threads only when parameters × maxRows reaches this (default MIN_WORK_FOR_THREADS). */
  minWorkForThreads?: number;
  /** How many times in a row a step is redone after a worker fault (0: fail at once). */
  retryWorkerFaults?: number;
  /** Tests only: make a worker fail (once). */
  faultInjection?: FaultInjection;
}

/** Validates the `workers` option, naming it. */
export function checkWorkers(workers: unknown): number {
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers <= 0) {
    throw new RangeError(`workers must be a positive integer, got ${String(workers)}`);
  }
  return workers;
}
