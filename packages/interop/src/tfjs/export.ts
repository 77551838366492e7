import type { InteropLayer, InteropModel, InteropWeight } from '../records.js';
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
  weights: { owner: string; role: 'kernel' | 'bias' }[];
  outputShape: number[];
}

type LayerExporter = (layer: InteropLayer, name: string, inputShape: number[]) => Mapped;

/**
 * One mapping per Loom layer class (tfjs-layers' class-name registry, run the other way). A
 * class missing here is refused by name: Maxout has no TensorFlow.js Layers equivalent.
 */
const exporters: Record<string, LayerExporter> = {
  Dense(layer, name, inputShape) {
    const c = layer.config;
    if (inputShape.length !== 1) {
      throw new InteropError('unsupported', `Dense layer '${name}' takes a [${inputShape.join(', ')}] input, which Loom flattens but TensorFlow.js's Dense would apply to the last axis only: put a Flatten before it`);
    }
    const units = c.units as number;
    const useBias = (c.useBias ?? true) as boolean;
    const activation = (c.activation ?? 'linear') as string;
    const alpha = c.alpha as number | undefined;
    const split = activation === 'leaky_relu';
    const dense: KerasLayerJson = {
      class_name: 'Dense',
      config: {
        units, activation: split ? 'linear' : kerasActivation(activation, alpha, name), use_bias: useBias,
        kernel_initializer: initializer(c.kernelInitializer ?? 'glorot_uniform', name),
        bias_initializer: initializer(c.biasInitializer ?? 'zeros', name),
        kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null,
        kernel_constraint: null, bias_constraint: null, name, trainable: true,
      },
    };
    const layers = [dense];
    if (split) layers.push(leakyRelu(`${name}${LEAKY_RELU_SUFFIX}`, alpha ?? 0.1));
    const weights: Mapped['weights'] = [{ owner: name, role: 'kernel' }];
    if (useBias) weights.push({ owner: name, role: 'bias' });
    return { layers, weights, outputShape: [units] };
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
