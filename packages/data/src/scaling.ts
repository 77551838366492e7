/**
 * Feature scaling fitted on one set of samples and applied unchanged to others (scikit-learn's
 * `MinMaxScaler` / `StandardScaler`), kept as plain numbers so it can be saved beside a model.
 */
import { allocFloat32, Tensor } from '@loom/tensor';
import { checkFinite } from './preprocess.js';

/** The scalings `fitScaling` knows. */
export const scalingMethods = ['minmax', 'standard'] as const;
export type ScalingMethod = (typeof scalingMethods)[number];

/**
 * A fitted per-feature transform: `x' = (x - offset[j]) / scale[j]` for feature j. Plain arrays
 * of float64 numbers, so it survives JSON and a checkpoint exactly.
 */
export interface FeatureScaling {
  method: ScalingMethod;
  /** `minmax`: each feature's minimum; `standard`: its mean. */
  offset: number[];
  /** `minmax`: max − min; `standard`: the population standard deviation. 1 for a constant feature. */
  scale: number[];
}

/** Throws unless `method` is one of `scalingMethods`, naming `name` in the message. */
export function assertScalingMethod(method: unknown, name = 'method'): asserts method is ScalingMethod {
  if (!scalingMethods.includes(method as ScalingMethod)) {
    throw new RangeError(`${name} must be ${scalingMethods.join(' or ')}, got ${typeof method === 'string' ? `'${method}'` : String(method)}`);
  }
}

function samplesOf(x: Tensor, where: string): { rows: number; features: number } {
  if (!(x instanceof Tensor) || x.rank < 2) {
    throw new RangeError(`${where}: x must be a Tensor [samples, features…], got ${x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : typeof x}`);
  }
  const rows = x.shape[0]!;
  return { rows, features: rows === 0 ? x.shape.slice(1).reduce((p, d) => p * d, 1) : x.size / rows };
}

/**
 * Fits `method` to the samples of `x` (`[samples, features…]`; every entry after the first axis
 * is a feature): per feature, `minmax` maps the range to [0, 1] and `standard` to zero mean and
 * unit variance. Fit it on the training part only and apply it to every other part, so no
 * statistic leaks from validation or test data. Sums run in float64; the variance is the
 * population one, as `normalize` and scikit-learn compute it. A constant feature gets scale 1,
 * so it maps to 0 instead of to NaN. NaN or Infinity in `x` throws.
 */
export function fitScaling(x: Tensor, method: ScalingMethod): FeatureScaling {
  assertScalingMethod(method, 'fitScaling: method');
  const { rows, features } = samplesOf(x, 'fitScaling');
  if (rows === 0) throw new RangeError('fitScaling: x has no samples to fit on');
  checkFinite(x, 'fitScaling: x');
  const src = x.data;
  const offset = new Array<number>(features);
  const scale = new Array<number>(features);
  for (let j = 0; j < features; j++) {
    if (method === 'minmax') {
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < rows; i++) {
        const v = src[i * features + j]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      offset[j] = lo;
      scale[j] = hi > lo ? hi - lo : 1;
    } else {
      let sum = 0;
      for (let i = 0; i < rows; i++) sum += src[i * features + j]!;
      const mean = sum / rows;
      // Second pass around the mean: no cancellation from E[x^2] - E[x]^2.
      let sq = 0;
      for (let i = 0; i < rows; i++) {
        const d = src[i * features + j]! - mean;
        sq += d * d;
      }
      const sd = Math.sqrt(sq / rows);
      offset[j] = mean;
      scale[j] = sd > 0 ? sd : 1;
    }
  }
  return { method, offset, scale };
}

/**
 * `(x - offset) / scale` per feature, as a new float32 tensor of `x`'s shape. `scaling` comes
 * from `fitScaling` (or a saved copy of it); its feature count must match `x`'s.
 */
export function applyScaling(x: Tensor, scaling: FeatureScaling): Tensor {
  const { rows, features } = samplesOf(x, 'applyScaling');
  if (!scaling || !Array.isArray(scaling.offset) || !Array.isArray(scaling.scale) || scaling.offset.length !== scaling.scale.length) {
    throw new RangeError('applyScaling: scaling must be { method, offset, scale } with one offset and one scale per feature, as fitScaling returns');
  }
  if (scaling.offset.length !== features) {
    throw new RangeError(`applyScaling: x has ${features} features per sample, the scaling was fitted on ${scaling.offset.length}`);
  }
  const bad = scaling.scale.findIndex((s) => !Number.isFinite(s) || s === 0);
  if (bad !== -1) throw new RangeError(`applyScaling: scale[${bad}] is ${scaling.scale[bad]}, expected a finite non-zero number`);
  const badOffset = scaling.offset.findIndex((o) => !Number.isFinite(o));
  if (badOffset !== -1) throw new RangeError(`applyScaling: offset[${badOffset}] is ${scaling.offset[badOffset]}, expected a finite number`);
  const src = x.data;
  const out = allocFloat32(x.size);
  for (let i = 0; i < rows; i++) {
    const base = i * features;
    for (let j = 0; j < features; j++) out[base + j] = (src[base + j]! - scaling.offset[j]!) / scaling.scale[j]!;
  }
  return new Tensor(out, x.shape);
}
