/**
 * What `loom train` does to its samples between loading and `fit`: an optional seeded shuffle
 * before the validation split, a check that the validation part holds no class the training
 * part lacks, and the `--normalize` scaling, fitted on the training part only. `evaluate` and
 * `predict` reuse `scaleFeatures` with the scaling the checkpoint kept.
 */
import { Dataset, applyScaling, fitScaling, tensor, type FeatureScaling, type ScalingMethod, type Tensor } from '@loom/loom';
import type { LabeledData } from './data.js';

/**
 * The "epoch" key of the shuffle before the split: `Dataset.shuffle` is a pure function of
 * (seed, epoch), and fit's epochs count from 0, so this order is unlike any epoch's batch order.
 */
const SPLIT_SHUFFLE_EPOCH = -1;

/** The samples in an order drawn from `seed` (the same seed gives the same order). */
export function shuffleRows(set: LabeledData, seed: number): LabeledData {
  const n = set.y.length;
  const width = n === 0 ? 0 : set.x.size / n;
  const order = Dataset.fromTensors(set.x).shuffle(seed, SPLIT_SHUFFLE_EPOCH);
  const x = new Float32Array(set.x.size);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const from = order[i]!;
    x.set(set.x.data.subarray(from * width, (from + 1) * width), i * width);
    y[i] = set.y[from]!;
  }
  return { x: tensor(x, set.x.shape), y, source: set.source };
}

/** How many leading samples `fit({ validationSplit })` trains on: Dataset.split's own cut, so the two agree. */
export function trainingRows(set: LabeledData, validationSplit: number): number {
  if (validationSplit === 0) return set.y.length;
  return Dataset.fromTensors(set.x).split(validationSplit)[0].size;
}

/** Classes present in samples `[at, n)` but in none of `[0, at)`, ascending. */
export function classesOnlyInValidation(labels: ArrayLike<number>, at: number): number[] {
  const seen = new Set<number>();
  for (let i = 0; i < at; i++) seen.add(labels[i]!);
  const missing = new Set<number>();
  for (let i = at; i < labels.length; i++) if (!seen.has(labels[i]!)) missing.add(labels[i]!);
  return [...missing].sort((a, b) => a - b);
}

/** The first `rows` samples, sharing memory. */
function head(x: Tensor, rows: number): Tensor {
  const width = x.shape[0] === 0 ? 0 : x.size / x.shape[0]!;
  return tensor(x.data.subarray(0, rows * width), [rows, ...x.shape.slice(1)]);
}

/** `--normalize` statistics from the first `rows` samples (the training part) of `set`. */
export function fitTrainingScaling(set: LabeledData, rows: number, method: ScalingMethod): FeatureScaling {
  try {
    return fitScaling(head(set.x, rows), method);
  } catch (err) {
    throw new Error(`--normalize ${method}: ${set.source}: ${(err as Error).message.replace(/^fitScaling: /, '')}`, { cause: err });
  }
}

/**
 * `x` as the model was trained on it: scaled with the checkpoint's `--normalize` statistics, or
 * unchanged when it has none. A feature count that does not fit is named here, with both counts.
 */
export function scaleFeatures(x: Tensor, scaling: FeatureScaling | null, source: string, checkpoint: string): Tensor {
  if (!scaling) return x;
  const features = x.shape[0] === 0 ? x.shape.slice(1).reduce((p, d) => p * d, 1) : x.size / x.shape[0]!;
  if (features !== scaling.offset.length) {
    throw new Error(`${source}: ${features} features per sample, but ${checkpoint} was trained on ${scaling.offset.length} (scaled with --normalize ${scaling.method})`);
  }
  return applyScaling(x, scaling);
}
