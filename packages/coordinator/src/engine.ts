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
  /**
   * One optimizer step (t = optimizer.iterations + 1) on the `rows` samples in `x`/`y`. With a
   * process group, `rows` is this rank's share of the global batch that `share` describes.
   */
  trainStep(rows: number, seed: number, step: number, share?: BatchShare): Promise<void>;
  /** With a process group: whether any rank asked to stop (`share.stop`) in the last step. */
  readonly stopAgreed: boolean;
  /** Loss and metric sums over n samples (inference). */
  evaluate(x: Float32Array, y: Float32Array, n: number, batchSize: number): Promise<Float64Array>;
  /** Model outputs for n samples, [n, outputSize]. */
  predict(x: Float32Array, n: number, batchSize: number): Promise<Float32Array>;
  /** Stops every worker; safe to call twice. */
  close(): Promise<void>;
}

/**
 * What an engine needs of a process group: `ProcessGroup` from `@loom/collective` has these
 * members, and the coordinator asks for no more.
 */
export interface GradientGroup {
  readonly rank: number;
  readonly worldSize: number;
  /** In-place sum over the ranks, the same bits on every rank and every rerun. */
  allReduce(data: Float32Array): Promise<void>;
  /** In-place sum of a small vector in rank order, the same bits on every rank. */
  sumInRankOrder(data: Float64Array): Promise<void>;
}

/** A rank's place in a global batch. */
export interface BatchShare {
  /** Rows of the whole global batch: the loss is its mean. */
  batchRows: number;
  /** This rank's first row in the global batch (dropout keys follow global rows). */
  firstRow: number;
  /** This rank asks the group to stop after this step (any rank's request stops all). */
  stop: boolean;
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
  /**
   * A worker computes a shard only when it brings at least this much work, parameters × its rows
   * (default MIN_WORK_PER_WORKER for the kernels in use; 0 always uses every worker).
   */
  minWorkPerWorker?: number;
  /**
   * An engine for evaluate/predict only: when a batch brings enough work for threads at all, it
   * uses every worker asked for, since inference splits the samples, not a batch, between them.
   */
  inference?: boolean;
  /** How many times in a row a step is redone after a worker fault (0: fail at once). */
  retryWorkerFaults?: number;
  /** Tests only: make a worker fail (once). */
  faultInjection?: FaultInjection;
  /**
   * Training across processes: the gradient is all-reduced over this group between the chunk
   * stage's gradient and its update, and the batch's loss and metric sums are summed in rank order.
   */
  group?: GradientGroup;
  /**
   * Across processes: rows of the largest global batch. A model with batch statistics keeps the
   * whole global batch's rows of them in its step buffers, so they hold at least this many.
   */
  maxBatchRows?: number;
}

/** Rows of the step buffers an engine needs: its largest batch, or the global one for batch statistics across processes. */
export function bufferRows(options: EngineOptions): number {
  const global = options.group && options.model.batchSyncs > 0 ? options.maxBatchRows ?? options.maxRows : 0;
  return Math.max(options.maxRows, global);
}

/** Validates the `workers` option, naming it. */
export function checkWorkers(workers: unknown): number {
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers <= 0) {
    throw new RangeError(`workers must be a positive integer, got ${String(workers)}`);
  }
  return workers;
}

/**
 * Below this much work per worker and step (parameters × the worker's rows, about a third of
 * its multiply-adds) a worker costs more than it saves: a threaded step pays a few hundred µs of
 * synchronisation, every worker writes a whole gradient row however few rows it computed, and
 * small shards are bound by streaming the weights. Measured with `fit`:
 * - 2-core dev machine, JS kernels: a 641-parameter model at batch 10 ran 137 µs/step on one
 *   thread and 284 µs on two; a 2,561-parameter model at batch 32 ran 826 µs on one and 693 µs
 *   on two.
 * - 2-core dev machine, wasm kernels, the 648,010-parameter MNIST MLP: batch 10 ran 2.36 ms on
 *   one thread and 3.20 ms on two, batch 20 3.41 / 3.61 ms, batch 30 4.95 / 4.28 ms, batch 50
 *   7.69 / 5.45 ms: two workers pay from about 12 rows (7.8M) each.
 * - 16-core machine, the same MLP at batch 100 (bench scaling): 14.0 ms/step on one worker, 4.93
 *   on 4, 3.14 on 8 (12–13 rows each), 3.57 on 12, 4.90 on 16 (6–7 rows each).
 */
export const MIN_WORK_PER_WORKER = { js: 25_000, wasm: 8_000_000 } as const;

/**
 * How many of `requested` workers a batch of `rows` keeps busy: each must bring at least
 * `minWorkPerWorker` (parameters × its rows); at least 1.
 */
export function usefulWorkers(requested: number, params: number, rows: number, minWorkPerWorker: number): number {
  if (minWorkPerWorker <= 0) return requested;
  return Math.max(1, Math.min(requested, Math.floor((params * rows) / minWorkPerWorker)));
}
