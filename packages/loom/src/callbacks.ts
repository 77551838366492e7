import type { TrainingModel } from './training-model.js';

/** Metric values by name, as Keras's `logs` dict: `{ loss, accuracy, val_loss, val_accuracy }`. */
export type Logs = Record<string, number>;

/**
 * Keras's callback hooks. Every hook may be async; `fit` awaits it. `model` is set before
 * `onTrainBegin`; setting `model.stopTraining = true` ends `fit` after the current batch.
 */
export abstract class Callback {
  model!: TrainingModel;
  /**
   * Keras's `params`, plus where the run executes: worker threads used, the kernel backend, and
   * across processes this process's rank of `worldSize` (0 of 1 in one process).
   */
  params: {
    epochs: number; steps: number; batchSize: number; samples: number; initialEpoch: number; verbose: number; workers: number; backend: string;
    rank: number; worldSize: number;
  } = {
    epochs: 0, steps: 0, batchSize: 0, samples: 0, initialEpoch: 0, verbose: 0, workers: 1, backend: 'js', rank: 0, worldSize: 1,
  };
  setModel(model: TrainingModel): void {
    this.model = model;
  }
  onTrainBegin(_logs?: Logs): void | Promise<void> {}
  onTrainEnd(_logs?: Logs): void | Promise<void> {}
  onEpochBegin(_epoch: number, _logs?: Logs): void | Promise<void> {}
  onEpochEnd(_epoch: number, _logs?: Logs): void | Promise<void> {}
  onBatchBegin(_batch: number, _logs?: Logs): void | Promise<void> {}
  onBatchEnd(_batch: number, _logs?: Logs): void | Promise<void> {}
}

/** A callback from plain functions: `{ onEpochEnd: (epoch, logs) => … }`. */
export type CallbackHooks = Partial<Pick<Callback, 'onTrainBegin' | 'onTrainEnd' | 'onEpochBegin' | 'onEpochEnd' | 'onBatchBegin' | 'onBatchEnd'>>;

export class LambdaCallback extends Callback {
  constructor(private readonly hooks: CallbackHooks) {
    super();
  }
  override onTrainBegin(logs?: Logs) { return this.hooks.onTrainBegin?.(logs); }
  override onTrainEnd(logs?: Logs) { return this.hooks.onTrainEnd?.(logs); }
  override onEpochBegin(e: number, logs?: Logs) { return this.hooks.onEpochBegin?.(e, logs); }
  override onEpochEnd(e: number, logs?: Logs) { return this.hooks.onEpochEnd?.(e, logs); }
  override onBatchBegin(b: number, logs?: Logs) { return this.hooks.onBatchBegin?.(b, logs); }
  override onBatchEnd(b: number, logs?: Logs) { return this.hooks.onBatchEnd?.(b, logs); }
}

/** Runs a list of callbacks in order; batch hooks skip the await when nobody listens. */
export class CallbackList {
  readonly callbacks: Callback[];
  private readonly batchListeners: Callback[];

  constructor(callbacks: Callback[]) {
    this.callbacks = callbacks;
    const base = Callback.prototype;
    this.batchListeners = callbacks.filter((c) => c.onBatchBegin !== base.onBatchBegin || c.onBatchEnd !== base.onBatchEnd);
  }

  get hasBatchListeners(): boolean {
    return this.batchListeners.length > 0;
  }

  async call<K extends 'onTrainBegin' | 'onTrainEnd'>(hook: K, logs?: Logs): Promise<void>;
  async call<K extends 'onEpochBegin' | 'onEpochEnd' | 'onBatchBegin' | 'onBatchEnd'>(hook: K, index: number, logs?: Logs): Promise<void>;
  async call(hook: keyof Callback, a?: number | Logs, b?: Logs): Promise<void> {
    const list = hook === 'onBatchBegin' || hook === 'onBatchEnd' ? this.batchListeners : this.callbacks;
    for (const c of list) await (c[hook] as (x?: unknown, y?: unknown) => unknown).call(c, a, b);
  }
}

/**
 * What `fit` returns: `history.history.loss[i]` is the loss of epoch `history.epoch[i]`, as in
 * Keras. A run resumed with `initialEpoch` continues the history of the run it resumes.
 */
export class History extends Callback {
  epoch: number[] = [];
  history: Record<string, number[]> = {};

  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    this.record(epoch, logs);
  }

  record(epoch: number, logs: Logs): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
  }

  /** Keeps only epochs before `epoch` (a resumed run replaces what comes after). */
  truncate(epoch: number): void {
    const keep = this.epoch.filter((e) => e < epoch).length;
    this.epoch.length = keep;
    for (const k of Object.keys(this.history)) this.history[k]!.length = keep;
  }
}

export interface EarlyStoppingOptions {
  monitor?: string;
  minDelta?: number;
  patience?: number;
  mode?: 'min' | 'max' | 'auto';
  restoreBestWeights?: boolean;
}

/** Stops training when `monitor` has not improved by `minDelta` for `patience` epochs (Keras's EarlyStopping). */
export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly restoreBestWeights: boolean;
  private readonly sign: number;
  private best = Infinity;
  private wait = 0;
  private bestWeights: Float32Array | null = null;
  stoppedEpoch = -1;

  constructor(options: EarlyStoppingOptions = {}) {
    super();
    this.monitor = options.monitor ?? 'val_loss';
    this.minDelta = Math.abs(options.minDelta ?? 0);
    this.patience = options.patience ?? 0;
    this.restoreBestWeights = options.restoreBestWeights ?? false;
    const mode = options.mode ?? 'auto';
    this.sign = mode === 'max' || (mode === 'auto' && /acc/.test(this.monitor)) ? -1 : 1;
  }

  override onTrainBegin(): void {
    this.best = Infinity;
    this.wait = 0;
    this.bestWeights = null;
  }

  override onEpochEnd(epoch: number, logs: Logs = {}): void {
    const value = logs[this.monitor];
    if (value === undefined) return;
    const v = this.sign * value;
    if (v < this.best - this.minDelta) {
      this.best = v;
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = this.model.params.slice();
    } else if (++this.wait > this.patience) {
      this.stoppedEpoch = epoch;
      this.model.stopTraining = true;
      if (this.bestWeights) this.model.params.set(this.bestWeights);
    }
  }
}
