import { Dataset, gatherRows } from '@loom/data';
import { createEngine, defaultWorkers, checkWorkers, partStart, type BatchShare, type Engine, type FaultInjection } from '@loom/coordinator';
import type { ProcessGroup } from '@loom/collective';
import { agreeOnStart, processGroupFromEnv, trainingFingerprint } from './distributed.js';
import { Sequential as Graph, getLoss, getMetric, identifierOf, type Identified, type Layer } from '@loom/layers';
import { getOptimizer, type Optimizer } from '@loom/optimizers';
import { Tensor, getGlobalRandom } from '@loom/tensor';
import { Callback, CallbackList, History, LambdaCallback, type CallbackHooks, type Logs } from './callbacks.js';
import { assertFinite, checkFeatures, checkLabels, nonNegativeInteger, positiveInteger, toRows, type InputData, type Rows } from './inputs.js';
import { ProgressBar } from './progress.js';
import { saveCheckpoint } from '@loom/checkpoint';
import { toCheckpointRecord } from './checkpoint-record.js';
import { saveTfjs } from './interop-record.js';
import type { TrainingModel, TrainingProgress } from './training-model.js';
import type { FeatureScaling } from '@loom/data';

export type { TrainingProgress };

export interface CompileOptions {
  /** A name (`'categorical_crossentropy'`) or its typed form (`new CategoricalCrossentropy()`). */
  loss: string | Identified;
  optimizer?: string | Optimizer | { name: string; config?: Record<string, unknown> };
  /** Names (`'accuracy'`, a loss name) or their typed forms (`new Accuracy()`, a loss object). */
  metrics?: (string | Identified)[];
}

export interface FitOptions {
  batchSize?: number;
  epochs?: number;
  initialEpoch?: number;
  shuffle?: boolean;
  seed?: number;
  validationSplit?: number;
  validationData?: [InputData, InputData];
  workers?: number;
  callbacks?: (Callback | CallbackHooks)[];
  /** 0 silent, 1 progress bar on a TTY (one line per epoch otherwise), 2 one line per epoch. */
  verbose?: 0 | 1 | 2;
  /**
   * A worker that throws or dies is replaced and its step redone from the state before it, up to
   * this many times in a row; the next fault ends fit with the error. Default 2 (three faults in
   * a row stop training); 0 fails at the first fault.
   */
  retryWorkerFaults?: number;
  /** Tests only: make a worker fail at a step. */
  faultInjection?: FaultInjection;
  /**
   * Train across processes with this group (`initProcessGroup` from `@loom/collective`). Unset:
   * the group torchrun's variables describe when `WORLD_SIZE` > 1 (`processGroupFromEnv`), else
   * none; `null`: none. Each rank takes its share of every global batch of `batchSize`, and
   * `workers` threads per rank share that.
   */
  group?: ProcessGroup | null;
}

export interface SaveOptions {
  /** `'loom'` (default): a protobuf checkpoint file. `'tfjs'`: a TensorFlow.js Layers folder. */
  format?: 'loom' | 'tfjs';
}

export interface EvaluateOptions {
  batchSize?: number;
  workers?: number;
}

/** Below this many samples, evaluate/predict run in the main thread: starting threads costs more. */
const THREADED_INFERENCE_MIN_SAMPLES = 4096;

/**
 * The Keras model: layers in a stack, `compile`, `fit`, `evaluate`, `predict`, `save`.
 * Training runs through `@loom/coordinator`, on all cores by default.
 */
export class Sequential extends Graph implements TrainingModel {
  loss: string | null = null;
  metricNames: string[] = [];
  optimizer: Optimizer | null = null;
  /** Set by a callback to end `fit` after the current batch (Keras's `model.stop_training`). */
  stopTraining = false;
  progress: TrainingProgress = { epoch: 0, step: 0, seed: 0, epochSums: new Float64Array(0), epochSeen: 0 };
  trainingHistory = new History();
  /**
   * The scaling the training inputs went through (`fitScaling` from `@loom/data`; set by
   * `loom train --normalize`), kept in checkpoints. `fit`, `evaluate` and `predict` take inputs
   * already scaled: give new data `applyScaling(x, model.inputScaling)` first.
   */
  inputScaling: FeatureScaling | null = null;
  private engine: Engine | null = null;

  constructor(layerList: Layer[] = [], options: { name?: string } = {}) {
    super(layerList, options);
  }

  get compiled(): boolean {
    return this.loss !== null;
  }

  /** Chooses the loss, optimizer and metrics; unknown names get an error listing the known ones. */
  compile(options: CompileOptions): void {
    if (!options || typeof options !== 'object') throw new TypeError('compile: options must be an object like { loss, optimizer, metrics }');
    // A missing loss falls through to getLoss, whose error lists the known names.
    const lossName = options.loss === undefined ? (undefined as unknown as string) : identifierOf(options.loss, 'compile: loss');
    const loss = getLoss(lossName);
    const given = options.metrics ?? [];
    if (!Array.isArray(given)) throw new TypeError(`compile: metrics must be an array of names, got ${typeof given}`);
    const metrics = given.map((m, i) => identifierOf(m, `compile: metrics[${i}]`));
    for (const m of metrics) getMetric(m, loss);
    this.optimizer = getOptimizer(options.optimizer ?? 'rmsprop');
    this.loss = lossName;
    this.metricNames = metrics;
  }

  private requireCompiled(what: string): { loss: string; optimizer: Optimizer } {
    if (!this.loss || !this.optimizer) throw new Error(`${what} before compile: call model.compile({ loss, optimizer, metrics }) first`);
    return { loss: this.loss, optimizer: this.optimizer };
  }

  private labelWidth(): number {
    return this.loss === 'sparse_categorical_crossentropy' ? 1 : this.outputSize;
  }

  /** Converts and checks x and y against the model and loss; builds the model from x if needed. */
  private prepare(x: InputData, y: InputData, argX = 'x', argY = 'y'): { x: Rows; y: Rows } {
    const xr = toRows(x, argX, 'x', this.built ? this.inputSize : this.declaredInputShape?.reduce((p, d) => p * d, 1));
    const yr = toRows(y ?? (x instanceof Dataset ? x : undefined), argY, 'y');
    if (xr.rows !== yr.rows) throw new RangeError(`${argX} has ${xr.rows} samples but ${argY} has ${yr.rows}: they must match`);
    checkFeatures(xr, this.built ? this.inputShape : this.declaredInputShape, argX);
    if (!this.built) this.build(this.declaredInputShape ?? xr.sampleShape);
    assertFinite(xr, argX);
    assertFinite(yr, argY);
    checkLabels(yr, this.loss!, this.outputSize, argY);
    return { x: xr, y: yr };
  }

  /**
   * Trains for `epochs − initialEpoch` epochs on all cores and returns the History. Every
   * argument is checked before the first step: a bad call never leaves a half-trained model.
   */
  async fit(x: InputData, y?: InputData, options: FitOptions = {}): Promise<History> {
    const { loss, optimizer } = this.requireCompiled('fit');
    const batchSize = positiveInteger(options.batchSize ?? 32, 'batchSize');
    const epochs = positiveInteger(options.epochs ?? 1, 'epochs');
    const initialEpoch = nonNegativeInteger(options.initialEpoch ?? 0, 'initialEpoch');
    if (initialEpoch >= epochs) throw new RangeError(`initialEpoch (${initialEpoch}) must be less than epochs (${epochs})`);
    const workers = checkWorkers(options.workers ?? defaultWorkers());
    const split = options.validationSplit ?? 0;
    if (typeof split !== 'number' || !(split >= 0 && split < 1)) throw new RangeError(`validationSplit must be a number in [0, 1), got ${String(split)}`);
    const retryWorkerFaults = nonNegativeInteger(options.retryWorkerFaults ?? 2, 'retryWorkerFaults');
    const requestedVerbose = options.verbose ?? 1;
    if (![0, 1, 2].includes(requestedVerbose)) throw new RangeError(`verbose must be 0, 1 or 2, got ${String(requestedVerbose)}`);
    const joined = options.group === undefined ? await processGroupFromEnv() : options.group;
    const group = joined && joined.worldSize > 1 ? joined : null;
    const rank = group?.rank ?? 0, worldSize = group?.worldSize ?? 1;
    // Only rank 0 shows progress, as only it writes checkpoints.
    const verbose = rank === 0 ? requestedVerbose : 0;
    // Resuming: the model came from a checkpoint (or a fit) that stopped at this epoch.
    const resuming = (initialEpoch > 0 || this.progress.step > 0) && initialEpoch === this.progress.epoch;
    let seed = options.seed ?? (resuming ? this.progress.seed : getGlobalRandom().nextUint32());
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${String(seed)}`);

    const data = this.prepare(x, y as InputData);
    let train = Dataset.fromArrays(data.x.data, this.inputShape, data.y.data, this.labelWidth());
    let validation: Dataset | null = null;
    if (split > 0) [train, validation] = train.split(split);
    if (options.validationData) {
      const [vx, vy] = options.validationData;
      const v = this.prepare(vx, vy, 'validationData[0]', 'validationData[1]');
      validation = Dataset.fromArrays(v.x.data, this.inputShape, v.y.data, this.labelWidth());
    }
    if (train.size === 0) throw new RangeError('fit: no training samples');
    if (group) {
      const fingerprint = trainingFingerprint(this, optimizer, {
        loss, metrics: this.metricNames, batchSize, epochs, initialEpoch, resuming, resumeStep: resuming ? this.progress.step : 0,
        seed: options.seed ?? null, shuffle: options.shuffle ?? true, validationSplit: split, samples: train.size,
      }, [data.x.data, data.y.data, ...(validation ? [validation.features, validation.labels] : [])]);
      seed = await agreeOnStart(group, this, optimizer, fingerprint, seed);
    }

    const history = resuming ? this.trainingHistory : new History();
    history.truncate(initialEpoch);
    const steps = Math.ceil(train.size / batchSize);
    const callbacks = (options.callbacks ?? []).map((c) => (c instanceof Callback ? c : new LambdaCallback(c)));
    if (verbose > 0) callbacks.unshift(new ProgressBar({ verbose }));
    // History first, so callbacks that save (ModelCheckpoint) see the epoch just finished.
    const all = [history, ...callbacks];
    const list = new CallbackList(all);
    this.stopTraining = false;
    const width = 1 + this.metricNames.length;
    // A run stopped mid-epoch continues at the next batch, with that epoch's running sums.
    const resumeStep = resuming && this.progress.epochSums.length === width ? Math.min(this.progress.step, steps) : 0;
    const resumeSums = resumeStep > 0 ? this.progress.epochSums.slice() : null;
    const resumeSeen = resumeStep > 0 ? this.progress.epochSeen : 0;
    const sums = new Float64Array(width);
    this.progress = { epoch: initialEpoch, step: 0, seed, epochSums: sums, epochSeen: 0 };
    this.trainingHistory = history;

    // A rank's largest share of a global batch (partStart gives the first ranks the larger shares).
    const maxRows = partStart(batchSize, worldSize, 1);
    const engine = await createEngine({
      model: this, optimizer, loss, metrics: this.metricNames, workers, maxRows, maxBatchRows: batchSize,
      labelWidth: this.labelWidth(), faultInjection: options.faultInjection, retryWorkerFaults, group: group ?? undefined,
    });
    this.engine = engine;
    for (const c of all) {
      c.setModel(this);
      c.params = { epochs, steps, batchSize, samples: train.size, initialEpoch, verbose, workers: engine.workers, backend: engine.backend, rank, worldSize };
    }
    const order = new Uint32Array(train.size);
    const fw = train.featureSize, lw = train.labelWidth;
    const names = ['loss', ...this.metricNames];
    let lastYield = performance.now();
    try {
      await list.call('onTrainBegin');
      // Across processes every rank must stop at the same point: a stop asked for on one rank
      // (a callback, Ctrl-C) is voted on in each step's exchange, and once more between epochs.
      let agreedStop = false;
      // Filled in place each step: the hot loop allocates nothing.
      const share: BatchShare = { batchRows: 0, firstRow: 0, stop: false };
      const stopped = () => (group ? agreedStop : this.stopTraining);
      const voteAtEpochEnd = async () => {
        if (!group) return;
        const vote = new Float64Array([this.stopTraining ? 1 : 0]);
        await group.sumInRankOrder(vote);
        agreedStop = vote[0]! > 0;
        if (agreedStop) this.stopTraining = true;
      };
      for (let epoch = initialEpoch; epoch < epochs && !stopped(); epoch++) {
        await list.call('onEpochBegin', epoch);
        if (options.shuffle ?? true) train.shuffle(seed, epoch, order);
        else for (let i = 0; i < order.length; i++) order[i] = i;
        sums.fill(0);
        let seen = 0, first = 0;
        if (epoch === initialEpoch && resumeSums) {
          sums.set(resumeSums);
          seen = resumeSeen;
          first = resumeStep;
        }
        for (let b = first; b < steps && !stopped(); b++) {
          const from = b * batchSize, to = Math.min(train.size, from + batchSize), rows = to - from;
          // This rank's contiguous share of the global batch (all of it in one process).
          const lo = partStart(rows, worldSize, rank), hi = partStart(rows, worldSize, rank + 1);
          gatherRows(train.features, fw, order, from + lo, from + hi, engine.x);
          gatherRows(train.labels, lw, order, from + lo, from + hi, engine.y);
          if (list.hasBatchListeners) await list.call('onBatchBegin', b);
          // The step counter keys dropout masks; it is the optimizer's, so a resumed run continues it.
          if (group) {
            // A stop asked for on any rank (a callback, Ctrl-C) is voted on in the step's exchange,
            // so every rank ends after the same batch.
            share.batchRows = rows;
            share.firstRow = lo;
            share.stop = this.stopTraining;
            await engine.trainStep(hi - lo, seed, optimizer.iterations, share);
            agreedStop = engine.stopAgreed;
            // A request that arrived during the step stays set for the next vote.
            if (agreedStop) this.stopTraining = true;
          } else await engine.trainStep(rows, seed, optimizer.iterations);
          // A main-thread step never yields to the event loop; let signals (Ctrl-C) and timers in.
          if (performance.now() - lastYield > 100) {
            lastYield = performance.now();
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
          for (let i = 0; i < width; i++) sums[i] += engine.stats[i]!;
          seen += rows;
          this.progress.step = b + 1;
          this.progress.epochSeen = seen;
          if (list.hasBatchListeners) await list.call('onBatchEnd', b, toLogs(names, sums, seen));
        }
        if (stopped() && this.progress.step < steps) break; // stopped mid-epoch: no epoch-end logs
        const logs = toLogs(names, sums, seen);
        if (validation) {
          const v = await engine.evaluate(validation.features, validation.labels, validation.size, batchSize);
          Object.assign(logs, toLogs(names.map((n) => `val_${n}`), v, validation.size));
        }
        this.progress.epoch = epoch + 1;
        this.progress.step = 0;
        await list.call('onEpochEnd', epoch, logs);
        await voteAtEpochEnd();
      }
      await list.call('onTrainEnd');
    } finally {
      this.engine = null;
      await engine.close();
    }
    return history;
  }

  /** Inference engine: threads for large inputs, the main thread for small ones. */
  private async withEngine<T>(n: number, options: EvaluateOptions, fn: (e: Engine, batchSize: number) => Promise<T>): Promise<T> {
    const batchSize = positiveInteger(options.batchSize ?? 32, 'batchSize');
    // Called from a callback during fit: use fit's engine, which owns the weights right now.
    if (this.engine) return fn(this.engine, batchSize);
    const requested = checkWorkers(options.workers ?? defaultWorkers());
    const workers = n >= THREADED_INFERENCE_MIN_SAMPLES ? requested : 1;
    const optimizer = this.optimizer ?? getOptimizer('sgd');
    const engine = await createEngine({
      model: this, optimizer, loss: this.loss ?? 'mean_squared_error', metrics: this.metricNames, workers,
      maxRows: batchSize, labelWidth: this.labelWidth(), inference: true,
    });
    try {
      return await fn(engine, batchSize);
    } finally {
      await engine.close();
    }
  }

  /** Loss and metrics on (x, y): `[loss, ...metrics]`, as Keras's `evaluate`. */
  async evaluate(x: InputData, y?: InputData, options: EvaluateOptions = {}): Promise<number[]> {
    this.requireCompiled('evaluate');
    const data = this.prepare(x, y as InputData);
    const stats = await this.withEngine(data.x.rows, options, (e, bs) => e.evaluate(data.x.data, data.y.data, data.x.rows, bs));
    return Array.from(stats, (s) => s / data.x.rows);
  }

  /** Model outputs for x: a Tensor [samples, ...outputShape]. */
  async predict(x: InputData, options: EvaluateOptions = {}): Promise<Tensor> {
    const xr = toRows(x, 'x', 'x', this.built ? this.inputSize : this.declaredInputShape?.reduce((p, d) => p * d, 1));
    checkFeatures(xr, this.built ? this.inputShape : this.declaredInputShape);
    if (!this.built) this.build(this.declaredInputShape ?? xr.sampleShape);
    assertFinite(xr, 'x');
    const out = await this.withEngine(xr.rows, options, (e, bs) => e.predict(xr.data, xr.rows, bs));
    return new Tensor(out, [xr.rows, ...this.outputShape]);
  }

  /**
   * Writes the model atomically. By default a protobuf checkpoint: config, weights, optimizer
   * state, progress, history. With `{ format: 'tfjs' }`, `path` is a folder that gets a
   * TensorFlow.js Layers model (`model.json` + weight shards, for `tf.loadLayersModel`): layers
   * and weights only. A layer TensorFlow.js cannot express is an error naming it.
   */
  async save(path: string, options: SaveOptions = {}): Promise<void> {
    if (typeof path !== 'string' || path === '') throw new TypeError('save: path must be a non-empty string');
    const format = options?.format ?? 'loom';
    if (format === 'tfjs') {
      await saveTfjs(this, path);
      return;
    }
    if (format !== 'loom') throw new RangeError(`save: format must be 'loom' or 'tfjs', got ${JSON.stringify(format)}`);
    await saveCheckpoint(path, toCheckpointRecord(this));
  }

  /** Prints Keras's summary table (and returns it). */
  override summary(print: (line: string) => void = console.log): string {
    const s = super.summary();
    print(s);
    return s;
  }
}

function toLogs(names: string[], sums: ArrayLike<number>, n: number): Logs {
  const logs: Logs = {};
  names.forEach((name, i) => (logs[name] = sums[i]! / n));
  return logs;
}
