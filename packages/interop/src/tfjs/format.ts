/**
 * The TensorFlow.js Layers format (`model.json` + weight shards) as plain types, and the
 * Keras ↔ Loom name tables both directions share. Keras spells config keys in snake_case and
 * serializes initializers as `{ class_name, config }`; tfjs 4.22 writes and reads exactly that.
 */

/** One layer as Keras serializes it. */
export interface KerasLayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

/** A Keras Sequential model's topology (what tfjs's `model.toJSON` gives). */
export interface KerasSequentialJson {
  class_name: 'Sequential';
  config: { name: string; layers: KerasLayerJson[] };
  keras_version: string;
  backend: string;
}

/** One weight of a manifest group. */
export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** A manifest group: its weights, concatenated in order, then cut into the files `paths` names. */
export interface TfjsWeightGroup {
  paths: string[];
  weights: TfjsWeightSpec[];
}

/** `model.json` of the TensorFlow.js Layers format. */
export interface TfjsModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
  modelTopology: KerasSequentialJson;
  weightsManifest: TfjsWeightGroup[];
}

/** The default and largest shard size: tfjs's converter cuts weight files at 4 MB. */
export const MAX_SHARD_BYTES = 4 * 1024 * 1024;

/** `keras_version` as tfjs 4.22 writes it; tfjs reads any string there. */
export const KERAS_VERSION = 'tfjs-layers 4.22.0';

/** Activations Keras and tfjs name as Loom does: they stay strings on a Dense or Activation layer. */
export const SHARED_ACTIVATIONS: readonly string[] = ['linear', 'relu', 'sigmoid', 'tanh', 'softmax', 'elu'];

/**
 * Loom's leaky_relu is max(αx, x) with α = 0.1 by default. tfjs's string activations have no
 * leaky_relu, so it travels as a `LeakyReLU` layer; after a Dense, that layer is named after
 * the Dense with this suffix, and the importer folds exactly that pair back into one Dense.
 */
export const LEAKY_RELU_SUFFIX = '_leaky_relu';

/** The `alpha` Keras's LeakyReLU layer assumes when its config has none. */
export const KERAS_LEAKY_RELU_ALPHA = 0.3;

/** Loom initializer name → Keras serialized initializer. */
export function kerasInitializer(name: string): KerasLayerJson | null {
  const vs = (scale: number, mode: string, distribution: string): KerasLayerJson =>
    ({ class_name: 'VarianceScaling', config: { scale, mode, distribution, seed: null } });
  switch (name) {
    case 'zeros': return { class_name: 'Zeros', config: {} };
    case 'ones': return { class_name: 'Ones', config: {} };
    case 'glorot_uniform': return vs(1, 'fan_avg', 'uniform');
    case 'glorot_normal': return vs(1, 'fan_avg', 'normal');
    case 'he_uniform': return vs(2, 'fan_in', 'uniform');
    case 'he_normal': return vs(2, 'fan_in', 'normal');
    case 'lecun_uniform': return vs(1, 'fan_in', 'uniform');
    case 'lecun_normal': return vs(1, 'fan_in', 'normal');
    case 'random_normal': return { class_name: 'RandomNormal', config: { mean: 0, stddev: 0.05, seed: null } };
    case 'random_uniform': return { class_name: 'RandomUniform', config: { minval: -0.05, maxval: 0.05, seed: null } };
    default: return null;
  }
}

/**
 * Keras serialized initializer → Loom initializer name, or `fallback`. An initializer only
 * decides the weights of a model built fresh; an imported model comes with its weights, so one
 * Loom has no name for (a RandomNormal with another stddev, Orthogonal) becomes Loom's default.
 */
export function loomInitializer(value: unknown, fallback: string): string {
  if (typeof value === 'string') {
    const snake = value.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
    return kerasInitializer(snake) ? snake : fallback;
  }
  if (value === null || typeof value !== 'object') return fallback;
  const { class_name: cls, config = {} } = value as { class_name?: unknown; config?: Record<string, unknown> };
  switch (cls) {
    case 'Zeros': return 'zeros';
    case 'Ones': return 'ones';
    case 'GlorotUniform': return 'glorot_uniform';
    case 'GlorotNormal': return 'glorot_normal';
    case 'HeUniform': return 'he_uniform';
    case 'HeNormal': return 'he_normal';
    case 'LeCunUniform': case 'LecunUniform': return 'lecun_uniform';
    case 'LeCunNormal': case 'LecunNormal': return 'lecun_normal';
    case 'VarianceScaling': {
      const { scale, mode, distribution } = config;
      const normal = distribution === 'normal' || distribution === 'truncated_normal';
      const family = scale === 1 && mode === 'fan_avg' ? 'glorot' : scale === 2 && mode === 'fan_in' ? 'he' : scale === 1 && mode === 'fan_in' ? 'lecun' : null;
      if (!family || !(normal || distribution === 'uniform')) return fallback;
      return `${family}_${normal ? 'normal' : 'uniform'}`;
    }
    case 'RandomNormal': return (config.mean ?? 0) === 0 && config.stddev === 0.05 ? 'random_normal' : fallback;
    case 'RandomUniform': return config.minval === -0.05 && config.maxval === 0.05 ? 'random_uniform' : fallback;
    default: return fallback;
  }
}
