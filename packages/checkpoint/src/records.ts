/**
 * The plain records a checkpoint holds. They name no model, layer or optimizer types: the `loom`
 * package converts its objects to and from these, so this package stands alone.
 */

/** The version this code writes, and the newest it reads. */
export const FORMAT_VERSION = 1;

/** One weight tensor: row-major float32 elements. */
export interface WeightRecord {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A layer's class and its `getConfig()`; the config must survive `JSON.stringify`. */
export interface LayerRecord {
  className: string;
  config: Record<string, unknown>;
}

/** An optimizer's config, step count and state: `slots[k].values[i]` belongs to weight i. */
export interface OptimizerRecord {
  name: string;
  config: Record<string, unknown>;
  iterations: number;
  slots: { name: string; values: Float32Array[] }[];
}

/** Where `fit` was when it saved, enough to continue with the same bits. */
export interface ProgressRecord {
  epoch: number;
  step: number;
  seed: number;
  rngState: { seed: number; counter: number };
  globalStep: number;
}

/**
 * A per-feature input transform fitted on the training samples, `(x - offset) / scale`
 * (`@loom/data`'s `fitScaling`); `offset` and `scale` have one entry per input feature.
 */
export interface InputScalingRecord {
  method: string;
  offset: number[];
  scale: number[];
}

/** Everything one checkpoint file holds. */
export interface CheckpointRecord {
  model: { className: string; layers: LayerRecord[]; compile?: Record<string, unknown> };
  weights: WeightRecord[];
  optimizer?: OptimizerRecord;
  progress?: ProgressRecord;
  /** `metrics[name][i]` is that metric at epoch `epochs[i]` (float64, as `History` keeps it). */
  history?: { epochs: number[]; metrics: Record<string, number[]> };
  metadata?: Record<string, string>;
  /** Absent in files written before it existed, and for models trained on unscaled inputs. */
  inputScaling?: InputScalingRecord;
}
