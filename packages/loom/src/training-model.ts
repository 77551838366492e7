import type { Optimizer } from '@loom/optimizers';
import type { Tensor } from '@loom/tensor';
import type { InputData } from './inputs.js';

/** Where a run stands: what a checkpoint stores to resume exactly. */
export interface TrainingProgress {
  /** Epochs completed. */
  epoch: number;
  /** Batches completed in the epoch under way (0 at an epoch boundary). */
  step: number;
  /** The fit seed (shuffling order and dropout masks). */
  seed: number;
  /** Running loss and metric sums of the epoch under way, and the samples they cover. */
  epochSums: Float64Array;
  epochSeen: number;
}

/**
 * What a callback sees of the model it trains (Keras's `callback.model`). `Sequential`
 * implements it; callbacks depend on this interface, not on the class, so `model.ts` can import
 * the callbacks it adds (History, ProgressBar) without an import circle.
 */
export interface TrainingModel {
  /** Set to end `fit` after the current batch (Keras's `model.stop_training`). */
  stopTraining: boolean;
  /** Every weight, flat and in layer order; during `fit` the live values the workers update. */
  readonly params: Float32Array;
  readonly progress: TrainingProgress;
  readonly optimizer: Optimizer | null;
  save(path: string): Promise<void>;
  evaluate(x: InputData, y?: InputData, options?: { batchSize?: number; workers?: number }): Promise<number[]>;
  predict(x: InputData, options?: { batchSize?: number; workers?: number }): Promise<Tensor>;
  getWeights(): Tensor[];
  setWeights(weights: readonly Tensor[]): void;
}
