import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  CheckpointError, decodeCheckpoint, findLatestCheckpoint, loadCheckpoint, saveCheckpointSync, summarizeCheckpoint, type CheckpointRecord,
} from '@loom/checkpoint';
import { scalingMethods, type ScalingMethod } from '@loom/data';
import { optimizerFromConfig } from '@loom/optimizers';
import { deserializeLayer } from '@loom/layers';
import { getGlobalRandom, setSeed } from '@loom/tensor';
import { Callback, History, type Logs } from './callbacks.js';
import { toCheckpointRecord } from './checkpoint-record.js';
import { isTfjsModelPath, loadTfjs } from './interop.js';
import { readTfjsModel, tfjsModelJsonPath } from '@loom/interop';
import { loadWeights } from './load-weights.js';
import { Sequential } from './model.js';

export { toCheckpointRecord };

/** Rebuilds a model from a record (the inverse of `toCheckpointRecord`): layers, weights (strictly matched by name and shape), compile state, optimizer, progress. */
export function fromCheckpointRecord(rec: CheckpointRecord, source = 'checkpoint'): Sequential {
  if (rec.model.className !== 'Sequential') {
    throw new CheckpointError('invalid', `${source}: model class '${rec.model.className}' is not Sequential`, { path: source });
  }
  const compile = (rec.model.compile ?? {}) as { loss?: string; metrics?: string[]; name?: string; inputShape?: number[] };
  const model = new Sequential(rec.model.layers.map((l) => deserializeLayer(l as never)), { name: compile.name });
  model.build(compile.inputShape, { initialize: false });
  loadWeights(model, rec.weights, source, (_problem, message) => new CheckpointError('invalid', message, { path: source }));
  if (rec.inputScaling) {
    const { method, offset, scale } = rec.inputScaling;
    if (!scalingMethods.includes(method as ScalingMethod)) {
      throw new CheckpointError('invalid', `${source}: input scaling method '${method}' is not one this Loom knows (${scalingMethods.join(', ')})`, { path: source });
    }
    if (offset.length !== model.inputSize) {
      throw new CheckpointError('invalid', `${source}: input scaling has ${offset.length} features, the model takes ${model.inputSize}`, { path: source });
    }
    model.inputScaling = { method: method as ScalingMethod, offset: [...offset], scale: [...scale] };
  }
  if (compile.loss) {
    const optimizer = rec.optimizer ? optimizerFromConfig(rec.optimizer.name, rec.optimizer.config) : undefined;
    model.compile({ loss: compile.loss, metrics: compile.metrics ?? [], optimizer });
    if (rec.optimizer && optimizer) {
      if (rec.optimizer.slots.length > 0) {
        optimizer.build([model.countParams()]);
        optimizer.setState({ iterations: rec.optimizer.iterations, slots: rec.optimizer.slots });
      } else optimizer.iterations = rec.optimizer.iterations;
    }
  }
  if (rec.progress) {
    const sums = rec.metadata?.epochSums ? Float64Array.from(JSON.parse(rec.metadata.epochSums) as number[]) : new Float64Array(0);
    model.progress = { epoch: rec.progress.epoch, step: rec.progress.step, seed: rec.progress.seed, epochSums: sums, epochSeen: Number(rec.metadata?.epochSeen ?? 0) };
    getGlobalRandom().setState(rec.progress.rngState);
  }
  if (rec.history) {
    const h = new History();
    h.epoch = [...rec.history.epochs];
    for (const [k, v] of Object.entries(rec.history.metrics)) h.history[k] = [...v];
    model.trainingHistory = h;
  }
  return model;
}

/**
 * Loads a model saved by `model.save` (or a ModelCheckpoint): ready to predict, evaluate or
 * resume. A path ending in `.json`, or a folder holding `model.json`, is read as a TensorFlow.js
 * Layers model instead: built with its weights, not compiled (call `compile`, then `fit`).
 */
export async function loadModel(path: string): Promise<Sequential> {
  if (await isTfjsModelPath(path)) return loadTfjs(path);
  return fromCheckpointRecord(await loadCheckpoint(path), path);
}

/** A model from a checkpoint's bytes (as `loadModel` reads them from a file; e.g. sent by another rank), checked as strictly. */
export function modelFromCheckpointBytes(bytes: Uint8Array, source = 'checkpoint'): Sequential {
  return fromCheckpointRecord(decodeCheckpoint(bytes, source), source);
}

/**
 * The `loom inspect` text: layers, parameter counts, optimizer, progress, last metrics. A
 * TensorFlow.js model (`model.json` or its folder) shows its layers (as Loom reads them) and weights.
 */
export async function inspectCheckpoint(path: string): Promise<string> {
  if (await isTfjsModelPath(path)) {
    const rec = await readTfjsModel(path);
    const text = summarizeCheckpoint({
      model: { className: 'Sequential', layers: rec.layers as never },
      weights: rec.weights,
    });
    return `TensorFlow.js Layers model ${await tfjsModelJsonPath(path)} (${rec.name}, input [${rec.inputShape.join(', ')}]; not compiled, no optimizer state)\n${text}`;
  }
  return summarizeCheckpoint(await loadCheckpoint(path));
}

/** The newest checkpoint in a folder (by the numbers in its name), or undefined. */
export async function latestCheckpoint(dir: string, pattern?: string): Promise<string | undefined> {
  return findLatestCheckpoint(dir, pattern);
}

export interface ModelCheckpointOptions {
  /**
   * Path pattern. `{epoch}` is the 1-based epoch as Keras numbers it: the epoch just finished for
   * a save at its end, the epoch in progress for a save inside it (every N batches, or on
   * Ctrl-C), which that epoch's end then replaces. `{step}` is the global step.
   */
  filepath: string;
  /** 'epoch' (default) or a number of batches between saves. */
  saveFreq?: 'epoch' | number;
  /** Keep only the newest K files this callback wrote (default: keep all). */
  keep?: number;
  /** On SIGINT/SIGTERM during fit: stop after the current batch and save (default true). */
  saveOnInterrupt?: boolean;
}

/**
 * Saves the model during `fit`, every epoch or every N batches, atomically (a crash never
 * damages the previous file). With `saveOnInterrupt`, Ctrl-C ends fit after the current batch
 * with a final checkpoint; `interrupted` then names the signal. Across processes only rank 0
 * writes, and a Ctrl-C on any rank stops every rank after the same batch.
 */
export class ModelCheckpoint extends Callback {
  readonly filepath: string;
  readonly saveFreq: 'epoch' | number;
  readonly keep: number;
  readonly saveOnInterrupt: boolean;
  interrupted: NodeJS.Signals | null = null;
  lastSaved: string | null = null;
  private readonly written: string[] = [];
  private batchesSinceSave = 0;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.interrupted = signal;
    this.model.stopTraining = true;
  };

  constructor(options: ModelCheckpointOptions) {
    super();
    if (!options || typeof options.filepath !== 'string' || options.filepath === '') {
      throw new TypeError('ModelCheckpoint: filepath must be a non-empty string such as "ckpt-{epoch}.loom"');
    }
    this.filepath = options.filepath;
    this.saveFreq = options.saveFreq ?? 'epoch';
    if (this.saveFreq !== 'epoch' && !(Number.isInteger(this.saveFreq) && this.saveFreq > 0)) {
      throw new RangeError(`ModelCheckpoint: saveFreq must be 'epoch' or a positive integer, got ${String(this.saveFreq)}`);
    }
    this.keep = options.keep ?? Number.POSITIVE_INFINITY;
    this.saveOnInterrupt = options.saveOnInterrupt ?? true;
  }

  pathFor(epoch: number, step: number): string {
    return this.filepath.replace(/\{epoch(?::0?(\d+)d)?\}/g, (_m, w: string | undefined) => String(epoch).padStart(Number(w ?? 0), '0'))
      .replace(/\{step\}/g, String(step));
  }

  override onTrainBegin(): void {
    this.interrupted = null;
    if (this.writes) mkdirSync(dirname(this.filepath) || '.', { recursive: true });
    if (this.saveOnInterrupt) {
      process.on('SIGINT', this.onSignal);
      process.on('SIGTERM', this.onSignal);
    }
  }

  /** Across processes only rank 0 writes checkpoints (every rank holds the same weights). */
  private get writes(): boolean {
    return this.params.rank === 0;
  }

  override async onBatchEnd(): Promise<void> {
    if (!this.writes || this.saveFreq === 'epoch' || ++this.batchesSinceSave < this.saveFreq) return;
    this.batchesSinceSave = 0;
    await this.save();
  }

  override async onEpochEnd(_epoch: number, _logs?: Logs): Promise<void> {
    if (this.writes && (this.saveFreq === 'epoch' || this.interrupted)) await this.save();
  }

  override async onTrainEnd(): Promise<void> {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    // Interrupted mid-epoch: the epoch-end save did not run; save where we stopped.
    if (this.writes && this.interrupted && this.model.progress.step > 0) await this.save();
  }

  /** Writes the model now; returns the path. */
  async save(): Promise<string> {
    // Inside an epoch (batches done but not its end) the name is that epoch's, so a mid-epoch
    // save never overwrites the previous epoch's end-of-epoch file.
    const { epoch, step } = this.model.progress;
    const path = this.pathFor(step > 0 ? epoch + 1 : epoch, this.model.optimizer?.iterations ?? 0);
    await this.model.save(path);
    this.lastSaved = path;
    if (!this.written.includes(path)) this.written.push(path);
    while (this.written.length > this.keep) rmSync(this.written.shift()!, { force: true });
    return path;
  }
}

/** Synchronous save, for places that cannot await (an exit handler). */
export function saveModelSync(model: Sequential, path: string): void {
  saveCheckpointSync(path, toCheckpointRecord(model));
}

export { CheckpointError };
