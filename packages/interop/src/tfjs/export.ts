import type { InteropLayer, InteropModel, InteropWeight } from '../records.js';
import { windowOf } from '../geometry.js';
import { InteropError } from './errors.js';
import {
  KERAS_VERSION, LEAKY_RELU_SUFFIX, MAX_SHARD_BYTES, SHARED_ACTIVATIONS, kerasInitializer,
  type KerasLayerJson, type TfjsModelJson, type TfjsWeightSpec,
} from './format.js';

/** Options of `toTfjsLayers`. */
export interface TfjsExportOptions {
  /** Largest weight file, in bytes (default and maximum 4 MB, as tfjs's converter cuts them). */
  shardBytes?: number;
}

/** A weight file of the export: its name beside `model.json`, and its bytes. */
export interface TfjsShard {
  name: string;
  bytes: Uint8Array;
}

/** What `toTfjsLayers` returns: the `model.json` object and the weight files it names. */
export interface TfjsArtifacts {
  modelJson: TfjsModelJson;
  shards: TfjsShard[];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** What one Loom layer becomes: Keras layers, and the Loom weights they carry (in Keras order). */
interface Mapped {
  layers: KerasLayerJson[];
  weights: { owner: string; role: string }[];
  outputShape: number[];
}

type LayerExporter = (layer: InteropLayer, name: string, inputShape: number[]) => Mapped;

/**
 * One mapping per Loom layer class (tfjs-layers' class-name registry, run the other way). A
 * class missing here is refused by name: Maxout has no TensorFlow.js Layers equivalent.
 */
const exporters: Record<string, LayerExporter> = {
  // Loom's Dense, like Keras's, applies to the last axis of its input (kernel [last, units]).
  Dense(layer, name, inputShape) {
    const c = layer.config;
    const units = c.units as number;
    const useBias = (c.useBias ?? true) as boolean;
    const { activation, extra } = withActivation(c, name);
    const dense: KerasLayerJson = {
      class_name: 'Dense',
      config: {
        units, activation, use_bias: useBias,
        kernel_initializer: initializer(c.kernelInitializer ?? 'glorot_uniform', name),
        bias_initializer: initializer(c.biasInitializer ?? 'zeros', name),
        kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null,
        kernel_constraint: null, bias_constraint: null, name, trainable: true,
      },
    };
    return { layers: [dense, ...extra], weights: kernelAndBias(name, useBias), outputShape: [...inputShape.slice(0, -1), units] };
  },
  Conv2D(layer, name, inputShape) {
    const c = layer.config;
    const [h, w] = image(inputShape, name, 'Conv2D');
    const filters = c.filters as number;
    const kernelSize = pair(c.kernelSize, name, 'kernelSize');
    const strides = pair(c.strides ?? 1, name, 'strides');
    const padding = paddingOf(c.padding, name);
    const useBias = (c.useBias ?? true) as boolean;
    const { activation, extra } = withActivation(c, name);
    const conv: KerasLayerJson = {
      class_name: 'Conv2D',
      config: {
        filters, kernel_size: kernelSize, strides, padding, data_format: 'channels_last', dilation_rate: [1, 1],
        activation, use_bias: useBias,
        kernel_initializer: initializer(c.kernelInitializer ?? 'glorot_uniform', name),
        bias_initializer: initializer(c.biasInitializer ?? 'zeros', name),
        kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null,
        kernel_constraint: null, bias_constraint: null, name, trainable: true,
      },
    };
    const win = window(h, w, kernelSize, strides, padding, name);
    return { layers: [conv, ...extra], weights: kernelAndBias(name, useBias), outputShape: [win.outH, win.outW, filters] };
  },
  MaxPooling2D: (layer, name, inputShape) => pooling('MaxPooling2D', layer, name, inputShape),
  AveragePooling2D: (layer, name, inputShape) => pooling('AveragePooling2D', layer, name, inputShape),
  GlobalAveragePooling2D(_layer, name, inputShape) {
    const [, , channels] = image(inputShape, name, 'GlobalAveragePooling2D');
    return { layers: [{ class_name: 'GlobalAveragePooling2D', config: { data_format: 'channels_last', name, trainable: true } }], weights: [], outputShape: [channels] };
  },
  // Weights in Keras's order: gamma (scale), beta (center), moving_mean, moving_variance; the
  // last two are state, not trained, and tfjs names and loads them the same way.
  BatchNormalization(layer, name, inputShape) {
    const c = layer.config;
    if (inputShape.length === 0) throw new InteropError('invalid', `BatchNormalization layer '${name}' has no input shape`);
    if (c.axis !== undefined && c.axis !== -1) throw new InteropError('unsupported', `BatchNormalization layer '${name}' normalizes axis ${String(c.axis)}; Loom's (and this export's) is -1, the channels`);
    const center = (c.center ?? true) as boolean, scale = (c.scale ?? true) as boolean;
    const bn: KerasLayerJson = {
      class_name: 'BatchNormalization',
      config: {
        axis: -1, momentum: c.momentum ?? 0.99, epsilon: c.epsilon ?? 1e-3, center, scale,
        beta_initializer: initializer(c.betaInitializer ?? 'zeros', name),
        gamma_initializer: initializer(c.gammaInitializer ?? 'ones', name),
        moving_mean_initializer: initializer(c.movingMeanInitializer ?? 'zeros', name),
        moving_variance_initializer: initializer(c.movingVarianceInitializer ?? 'ones', name),
        beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null,
        name, trainable: true,
      },
    };
    const weights: Mapped['weights'] = [];
    if (scale) weights.push({ owner: name, role: 'gamma' });
    if (center) weights.push({ owner: name, role: 'beta' });
    weights.push({ owner: name, role: 'moving_mean' }, { owner: name, role: 'moving_variance' });
    return { layers: [bn], weights, outputShape: [...inputShape] };
  },
  Activation(layer, name, inputShape) {
    const activation = layer.config.activation as string;
    const alpha = layer.config.alpha as number | undefined;
    const out = activation === 'leaky_relu'
      ? leakyRelu(name, alpha ?? 0.1)
      : { class_name: 'Activation', config: { activation: kerasActivation(activation, alpha, name), name, trainable: true } };
    return { layers: [out], weights: [], outputShape: inputShape };
  },
  Dropout(layer, name, inputShape) {
    return { layers: [{ class_name: 'Dropout', config: { rate: layer.config.rate, noise_shape: null, seed: null, name, trainable: true } }], weights: [], outputShape: inputShape };
  },
  Flatten(_layer, name, inputShape) {
    if (inputShape.length < 2) {
      throw new InteropError('unsupported', `Flatten layer '${name}' gets an input that is already flat ([${inputShape.join(', ')}]); TensorFlow.js's Flatten refuses one: remove the layer, it does nothing`);
    }
    return { layers: [{ class_name: 'Flatten', config: { data_format: 'channels_last', name, trainable: true } }], weights: [], outputShape: [inputShape.reduce((p, d) => p * d, 1)] };
  },
};

/** The Loom layer classes `toTfjsLayers` exports. */
export const tfjsExportableLayers: readonly string[] = Object.keys(exporters);

/**
 * A layer's activation as Keras writes it, and the layers that follow it: leaky_relu has no
 * tfjs string, so the layer gets 'linear' and a `LeakyReLU` named `<layer>_leaky_relu` follows.
 */
function withActivation(c: Record<string, unknown>, name: string): { activation: string; extra: KerasLayerJson[] } {
  const activation = (c.activation ?? 'linear') as string;
  const alpha = c.alpha as number | undefined;
  if (activation === 'leaky_relu') return { activation: 'linear', extra: [leakyRelu(`${name}${LEAKY_RELU_SUFFIX}`, alpha ?? 0.1)] };
  return { activation: kerasActivation(activation, alpha, name), extra: [] };
}

function kernelAndBias(name: string, useBias: boolean): Mapped['weights'] {
  return useBias ? [{ owner: name, role: 'kernel' }, { owner: name, role: 'bias' }] : [{ owner: name, role: 'kernel' }];
}

function pooling(className: 'MaxPooling2D' | 'AveragePooling2D', layer: InteropLayer, name: string, inputShape: number[]): Mapped {
  const c = layer.config;
  const [h, w, channels] = image(inputShape, name, className);
  const poolSize = pair(c.poolSize ?? 2, name, 'poolSize');
  const strides = pair(c.strides ?? poolSize, name, 'strides');
  const padding = paddingOf(c.padding, name);
  const win = window(h, w, poolSize, strides, padding, name);
  return {
    layers: [{ class_name: className, config: { pool_size: poolSize, strides, padding, data_format: 'channels_last', name, trainable: true } }],
    weights: [], outputShape: [win.outH, win.outW, channels],
  };
}

function image(inputShape: number[], name: string, className: string): [number, number, number] {
  if (inputShape.length !== 3) throw new InteropError('invalid', `${className} layer '${name}' gets a [${inputShape.join(', ')}] input; it needs images [height, width, channels]`);
  return inputShape as [number, number, number];
}

/** A Loom pair option (`3` or `[3, 2]`) as Keras writes it, `[3, 3]` or `[3, 2]`. */
function pair(v: unknown, name: string, key: string): [number, number] {
  const p = Array.isArray(v) ? v : [v, v];
  if (p.length !== 2 || !p.every((d) => Number.isSafeInteger(d) && (d as number) >= 1)) {
    throw new InteropError('invalid', `layer '${name}': ${key} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0] as number, p[1] as number];
}

function paddingOf(v: unknown, name: string): 'valid' | 'same' {
  const p = v ?? 'valid';
  if (p !== 'valid' && p !== 'same') throw new InteropError('invalid', `layer '${name}': padding must be 'valid' or 'same', got ${JSON.stringify(v)}`);
  return p;
}

function window(h: number, w: number, [kh, kw]: [number, number], [sh, sw]: [number, number], padding: 'valid' | 'same', name: string) {
  const win = windowOf(h, w, kh, kw, sh, sw, padding);
  if (!win) throw new InteropError('invalid', `layer '${name}': a ${kh}×${kw} window is larger than its ${h}×${w} input under padding 'valid'`);
  return win;
}

function leakyRelu(name: string, alpha: number): KerasLayerJson {
  return { class_name: 'LeakyReLU', config: { alpha, name, trainable: true } };
}

function kerasActivation(activation: string, alpha: number | undefined, layer: string): string {
  if (activation === 'elu' && alpha !== undefined && alpha !== 1) {
    throw new InteropError('unsupported', `layer '${layer}': elu with alpha ${alpha} cannot be expressed in TensorFlow.js (its elu and ELU layer support alpha 1 only)`);
  }
  if (!SHARED_ACTIVATIONS.includes(activation)) {
    throw new InteropError('unsupported', `layer '${layer}': activation '${activation}' has no TensorFlow.js equivalent (exported: ${[...SHARED_ACTIVATIONS, 'leaky_relu'].join(', ')})`);
  }
  return activation;
}

function initializer(name: unknown, layer: string): KerasLayerJson {
  const k = typeof name === 'string' ? kerasInitializer(name) : null;
  if (!k) throw new InteropError('unsupported', `layer '${layer}': initializer '${String(name)}' has no Keras equivalent`);
  return k;
}

/**
 * An `InteropModel` as the TensorFlow.js Layers format: `model.json` (a Keras Sequential
 * topology and the weights manifest) and float32 weight files of at most `shardBytes`, named
 * `group1-shardKofN.bin` as tfjs names them. `tf.loadLayersModel` builds the same model.
 * A layer or activation tfjs cannot express is an `InteropError` naming it; nothing is dropped.
 */
export function toTfjsLayers(model: InteropModel, options: TfjsExportOptions = {}): TfjsArtifacts {
  const shardBytes = options.shardBytes ?? MAX_SHARD_BYTES;
  if (!Number.isInteger(shardBytes) || shardBytes < 4 || shardBytes > MAX_SHARD_BYTES) {
    throw new RangeError(`toTfjsLayers: shardBytes must be an integer from 4 to ${MAX_SHARD_BYTES}, got ${String(shardBytes)}`);
  }
  const byName = new Map(model.weights.map((w) => [w.name, w]));
  const keras: KerasLayerJson[] = [];
  const specs: TfjsWeightSpec[] = [];
  const data: InteropWeight[] = [];
  let shape = [...model.inputShape];
  for (const layer of model.layers) {
    const name = String(layer.config.name ?? '');
    const exporter = Object.prototype.hasOwnProperty.call(exporters, layer.className) ? exporters[layer.className] : undefined;
    if (!exporter) {
      throw new InteropError('unsupported-layer', `layer '${name}' (${layer.className}) has no TensorFlow.js Layers equivalent; exported layers: ${tfjsExportableLayers.join(', ')}`);
    }
    const mapped = exporter(layer, name, shape);
    for (const { owner, role } of mapped.weights) {
      const w = byName.get(`${owner}/${role}`);
      if (!w) throw new InteropError('invalid', `layer '${owner}' has no weight '${owner}/${role}' in the model's weights`);
      if (w.data.length !== w.shape.reduce((p, d) => p * d, 1)) {
        throw new InteropError('shape-mismatch', `weight '${w.name}' has ${w.data.length} values, but its shape [${w.shape.join(', ')}] needs ${w.shape.reduce((p, d) => p * d, 1)}`);
      }
      specs.push({ name: `${owner}/${role}`, shape: [...w.shape], dtype: 'float32' });
      data.push(w);
    }
    keras.push(...mapped.layers);
    shape = mapped.outputShape;
  }
  if (keras.length > 0) {
    keras[0]!.config.batch_input_shape = [null, ...model.inputShape];
    keras[0]!.config.dtype = 'float32';
  }
  const shards = cutShards(data, shardBytes);
  return {
    modelJson: {
      format: 'layers-model', generatedBy: '@loom/interop', convertedBy: null,
      modelTopology: { class_name: 'Sequential', config: { name: model.name, layers: keras }, keras_version: KERAS_VERSION, backend: 'tensor_flow.js' },
      weightsManifest: [{ paths: shards.map((s) => s.name), weights: specs }],
    },
    shards,
  };
}

/** Every weight's little-endian bytes, back to back, cut into files of at most `shardBytes` (a weight may span two, as tfjs does). */
function cutShards(weights: InteropWeight[], shardBytes: number): TfjsShard[] {
  const total = weights.reduce((p, w) => p + w.data.byteLength, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const w of weights) {
    if (LITTLE_ENDIAN) all.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), at);
    else {
      const view = new DataView(all.buffer, at, w.data.byteLength);
      for (let i = 0; i < w.data.length; i++) view.setFloat32(i * 4, w.data[i]!, true);
    }
    at += w.data.byteLength;
  }
  const n = Math.ceil(total / shardBytes);
  return Array.from({ length: n }, (_, i) => ({
    name: `group1-shard${i + 1}of${n}.bin`,
    bytes: all.subarray(i * shardBytes, Math.min(total, (i + 1) * shardBytes)),
  }));
}
