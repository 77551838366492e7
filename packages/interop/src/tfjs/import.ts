import type { InteropLayer, InteropModel, InteropWeight } from '../records.js';
import { windowOf } from '../geometry.js';
import { InteropError } from './errors.js';
import { KERAS_LEAKY_RELU_ALPHA, LEAKY_RELU_SUFFIX, SHARED_ACTIVATIONS, loomInitializer, type KerasLayerJson } from './format.js';

/** Reads one weight file named in the manifest (a path relative to `model.json`'s folder). */
export type ReadShard = (path: string) => Promise<Uint8Array> | Uint8Array;

/** Caps checked against the manifest before anything is allocated. */
export interface TfjsImportOptions {
  /** Largest total of weight bytes accepted (default 4 GiB). */
  maxWeightBytes?: number;
  /** Where the model came from, for messages (a path). */
  source?: string;
}

export const DEFAULT_MAX_WEIGHT_BYTES = 4 * 1024 ** 3;
const MAX_LAYERS = 100_000;

const LOOM_LEAKY_RELU_ALPHA = 0.1;

/** What the importer builds a layer from: the Keras config and the shape coming in. */
interface ImportContext {
  name: string;
  config: Record<string, unknown>;
  inputShape: number[];
  /** Layers built so far (a LeakyReLU may fold into the Dense before it). */
  built: InteropLayer[];
  source: string;
}

/** The Loom layer, its output shape, and the weights it needs ([] for none). */
interface Imported {
  layer: InteropLayer | null;
  outputShape: number[];
  weights: { name: string; shape: number[] }[];
}

type LayerImporter = (ctx: ImportContext) => Imported;

/** One mapping per Keras class Loom reads. Any other class is refused by name. */
const importers: Record<string, LayerImporter> = {
  InputLayer(ctx) {
    return { layer: null, outputShape: ctx.inputShape, weights: [] };
  },
  // Keras's Dense applies to the last axis of its input, as Loom's does: kernel [last, units].
  Dense(ctx) {
    const { name, config: c, inputShape, source } = ctx;
    noExtras(ctx, 'Dense', ['kernel_regularizer', 'bias_regularizer', 'activity_regularizer', 'kernel_constraint', 'bias_constraint']);
    const units = c.units;
    if (!Number.isInteger(units) || (units as number) <= 0) throw new InteropError('invalid', `${source}: Dense layer '${name}': units must be a positive integer, got ${JSON.stringify(units)}`, { path: source });
    const useBias = booleanKey(ctx, 'Dense', 'use_bias', true);
    const config: Record<string, unknown> = {
      name, units, activation: activationOf(c.activation, name, source), useBias,
      kernelInitializer: loomInitializer(c.kernel_initializer, 'glorot_uniform'),
      biasInitializer: loomInitializer(c.bias_initializer, 'zeros'),
    };
    const weights = [{ name: `${name}/kernel`, shape: [inputShape[inputShape.length - 1]!, units as number] }];
    if (useBias) weights.push({ name: `${name}/bias`, shape: [units as number] });
    return { layer: { className: 'Dense', config }, outputShape: [...inputShape.slice(0, -1), units as number], weights };
  },
  Conv2D(ctx) {
    const { name, config: c, source } = ctx;
    const [h, w, cin] = imageInput(ctx, 'Conv2D');
    channelsLast(ctx, 'Conv2D');
    noExtras(ctx, 'Conv2D', ['kernel_regularizer', 'bias_regularizer', 'activity_regularizer', 'kernel_constraint', 'bias_constraint']);
    const dilation = pairKey(ctx, 'Conv2D', 'dilation_rate', 1);
    if (dilation[0] !== 1 || dilation[1] !== 1) throw new InteropError('unsupported', `${source}: Conv2D layer '${name}' has dilation_rate [${dilation.join(', ')}]; Loom's Conv2D supports 1 only`, { path: source });
    if (c.groups !== undefined && c.groups !== 1) throw new InteropError('unsupported', `${source}: Conv2D layer '${name}' has groups ${JSON.stringify(c.groups)}; Loom's Conv2D supports 1 only`, { path: source });
    const filters = c.filters;
    if (!Number.isSafeInteger(filters) || (filters as number) <= 0) throw new InteropError('invalid', `${source}: Conv2D layer '${name}': filters must be a positive integer, got ${JSON.stringify(filters)}`, { path: source });
    const kernelSize = pairKey(ctx, 'Conv2D', 'kernel_size', undefined);
    const strides = pairKey(ctx, 'Conv2D', 'strides', 1);
    const padding = paddingKey(ctx, 'Conv2D');
    const activation = activationOf(c.activation, name, source);
    if (activation === 'softmax') throw new InteropError('unsupported', `${source}: Conv2D layer '${name}' has activation softmax, which Loom's Conv2D does not support (over channels: use a Dense after Flatten)`, { path: source });
    const useBias = booleanKey(ctx, 'Conv2D', 'use_bias', true);
    const win = windowKey(ctx, 'Conv2D', h, w, kernelSize, strides, padding);
    const config: Record<string, unknown> = {
      name, filters, kernelSize, strides, padding, activation, useBias,
      kernelInitializer: loomInitializer(c.kernel_initializer, 'glorot_uniform'),
      biasInitializer: loomInitializer(c.bias_initializer, 'zeros'),
    };
    const weights = [{ name: `${name}/kernel`, shape: [kernelSize[0], kernelSize[1], cin, filters as number] }];
    if (useBias) weights.push({ name: `${name}/bias`, shape: [filters as number] });
    return { layer: { className: 'Conv2D', config }, outputShape: [win.outH, win.outW, filters as number], weights };
  },
  MaxPooling2D: (ctx) => pooling(ctx, 'MaxPooling2D'),
  AveragePooling2D: (ctx) => pooling(ctx, 'AveragePooling2D'),
  GlobalAveragePooling2D(ctx) {
    const [, , channels] = imageInput(ctx, 'GlobalAveragePooling2D');
    channelsLast(ctx, 'GlobalAveragePooling2D');
    if (ctx.config.keepdims === true) throw new InteropError('unsupported', `${ctx.source}: GlobalAveragePooling2D layer '${ctx.name}' has keepdims true; Loom's gives [channels]`, { path: ctx.source });
    return { layer: { className: 'GlobalAveragePooling2D', config: { name: ctx.name } }, outputShape: [channels], weights: [] };
  },
  BatchNormalization(ctx) {
    const { name, config: c, inputShape, source } = ctx;
    const rank = inputShape.length + 1; // with the batch axis
    const axes = Array.isArray(c.axis) ? c.axis : [c.axis ?? -1];
    if (axes.length !== 1 || !(axes[0] === -1 || axes[0] === rank - 1)) {
      throw new InteropError('unsupported', `${source}: BatchNormalization layer '${name}' normalizes axis ${JSON.stringify(c.axis)} of a rank-${rank} input; Loom normalizes the last axis only (-1, the channels)`, { path: source });
    }
    noExtras(ctx, 'BatchNormalization', ['beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint', 'virtual_batch_size', 'adjustment']);
    for (const key of ['renorm', 'synchronized']) {
      if (c[key] === true) throw new InteropError('unsupported', `${source}: BatchNormalization layer '${name}' has ${key} true, which Loom does not support`, { path: source });
    }
    const momentum = c.momentum ?? 0.99, epsilon = c.epsilon ?? 1e-3;
    if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) throw new InteropError('invalid', `${source}: BatchNormalization layer '${name}': momentum must be a number in [0, 1], got ${JSON.stringify(momentum)}`, { path: source });
    if (typeof epsilon !== 'number' || !(epsilon > 0)) throw new InteropError('invalid', `${source}: BatchNormalization layer '${name}': epsilon must be a positive number, got ${JSON.stringify(epsilon)}`, { path: source });
    const center = booleanKey(ctx, 'BatchNormalization', 'center', true);
    const scale = booleanKey(ctx, 'BatchNormalization', 'scale', true);
    const channels = inputShape[inputShape.length - 1]!;
    const config: Record<string, unknown> = {
      name, axis: -1, momentum, epsilon, center, scale,
      betaInitializer: loomInitializer(c.beta_initializer, 'zeros'),
      gammaInitializer: loomInitializer(c.gamma_initializer, 'ones'),
      movingMeanInitializer: loomInitializer(c.moving_mean_initializer, 'zeros'),
      movingVarianceInitializer: loomInitializer(c.moving_variance_initializer, 'ones'),
    };
    const weights: { name: string; shape: number[] }[] = [];
    if (scale) weights.push({ name: `${name}/gamma`, shape: [channels] });
    if (center) weights.push({ name: `${name}/beta`, shape: [channels] });
    weights.push({ name: `${name}/moving_mean`, shape: [channels] }, { name: `${name}/moving_variance`, shape: [channels] });
    return { layer: { className: 'BatchNormalization', config }, outputShape: [...inputShape], weights };
  },
  Activation(ctx) {
    return { layer: { className: 'Activation', config: { name: ctx.name, activation: activationOf(ctx.config.activation, ctx.name, ctx.source) } }, outputShape: ctx.inputShape, weights: [] };
  },
  LeakyReLU(ctx) {
    const alpha = ctx.config.alpha ?? KERAS_LEAKY_RELU_ALPHA;
    if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new InteropError('invalid', `${ctx.source}: LeakyReLU layer '${ctx.name}': alpha must be a number`, { path: ctx.source });
    const prev = ctx.built[ctx.built.length - 1];
    // Loom's own export of Dense or Conv2D (leaky_relu): fold the pair back into one layer.
    if (prev && (prev.className === 'Dense' || prev.className === 'Conv2D') && prev.config.activation === 'linear' && ctx.name === `${String(prev.config.name)}${LEAKY_RELU_SUFFIX}`) {
      prev.config.activation = 'leaky_relu';
      if (alpha !== LOOM_LEAKY_RELU_ALPHA) prev.config.alpha = alpha;
      return { layer: null, outputShape: ctx.inputShape, weights: [] };
    }
    const config: Record<string, unknown> = { name: ctx.name, activation: 'leaky_relu' };
    if (alpha !== LOOM_LEAKY_RELU_ALPHA) config.alpha = alpha;
    return { layer: { className: 'Activation', config }, outputShape: ctx.inputShape, weights: [] };
  },
  ELU(ctx) {
    const alpha = ctx.config.alpha ?? 1;
    if (alpha !== 1) throw new InteropError('unsupported', `${ctx.source}: ELU layer '${ctx.name}' has alpha ${String(alpha)}; only 1 is supported`, { path: ctx.source });
    return { layer: { className: 'Activation', config: { name: ctx.name, activation: 'elu' } }, outputShape: ctx.inputShape, weights: [] };
  },
  Dropout(ctx) {
    const { rate, noise_shape: noiseShape } = ctx.config;
    if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw new InteropError('invalid', `${ctx.source}: Dropout layer '${ctx.name}': rate must be a number in [0, 1), got ${JSON.stringify(rate)}`, { path: ctx.source });
    if (noiseShape !== undefined && noiseShape !== null) throw new InteropError('unsupported', `${ctx.source}: Dropout layer '${ctx.name}' has a noise_shape, which Loom does not support`, { path: ctx.source });
    return { layer: { className: 'Dropout', config: { name: ctx.name, rate } }, outputShape: ctx.inputShape, weights: [] };
  },
  Flatten(ctx) {
    channelsLast(ctx, 'Flatten');
    return { layer: { className: 'Flatten', config: { name: ctx.name } }, outputShape: [ctx.inputShape.reduce((p, d) => p * d, 1)], weights: [] };
  },
};

/** The Keras layer classes `fromTfjsLayers` reads. */
export const tfjsImportableLayers: readonly string[] = Object.keys(importers);

function pooling(ctx: ImportContext, className: 'MaxPooling2D' | 'AveragePooling2D'): Imported {
  const [h, w, channels] = imageInput(ctx, className);
  channelsLast(ctx, className);
  const poolSize = pairKey(ctx, className, 'pool_size', 2);
  // Keras writes strides null for "the pool size".
  const strides = ctx.config.strides === null ? poolSize : pairKey(ctx, className, 'strides', poolSize);
  const padding = paddingKey(ctx, className);
  const win = windowKey(ctx, className, h, w, poolSize, strides, padding);
  return { layer: { className, config: { name: ctx.name, poolSize, strides, padding } }, outputShape: [win.outH, win.outW, channels], weights: [] };
}

function fail(ctx: ImportContext, kind: 'invalid' | 'unsupported', message: string): InteropError {
  return new InteropError(kind, `${ctx.source}: ${message}`, { path: ctx.source });
}

function imageInput(ctx: ImportContext, className: string): [number, number, number] {
  if (ctx.inputShape.length !== 3) throw fail(ctx, 'invalid', `${className} layer '${ctx.name}' gets a [${ctx.inputShape.join(', ')}] input; it needs images [height, width, channels]`);
  return ctx.inputShape as [number, number, number];
}

function channelsLast(ctx: ImportContext, className: string): void {
  const format = ctx.config.data_format;
  if (format !== undefined && format !== null && format !== 'channels_last') {
    throw fail(ctx, 'unsupported', `${className} layer '${ctx.name}' has data_format ${JSON.stringify(format)}; Loom is channels_last`);
  }
}

/** Refuses any of `keys` set to something other than null (a regularizer, a constraint…). */
function noExtras(ctx: ImportContext, className: string, keys: string[]): void {
  for (const key of keys) {
    const v = ctx.config[key];
    if (v !== undefined && v !== null) throw fail(ctx, 'unsupported', `${className} layer '${ctx.name}' has a ${key}, which Loom does not support`);
  }
}

function booleanKey(ctx: ImportContext, className: string, key: string, dflt: boolean): boolean {
  const v = ctx.config[key] ?? dflt;
  if (typeof v !== 'boolean') throw fail(ctx, 'invalid', `${className} layer '${ctx.name}': ${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** A Keras pair (`3`, `[3, 2]`; `dflt` when absent) as `[rows, columns]` of positive integers. */
function pairKey(ctx: ImportContext, className: string, key: string, dflt: number | [number, number] | undefined): [number, number] {
  const v = ctx.config[key] ?? dflt;
  const p = Array.isArray(v) ? v : [v, v];
  if (p.length !== 2 || !p.every((d) => Number.isSafeInteger(d) && (d as number) >= 1)) {
    throw fail(ctx, 'invalid', `${className} layer '${ctx.name}': ${key} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0] as number, p[1] as number];
}

function paddingKey(ctx: ImportContext, className: string): 'valid' | 'same' {
  const v = ctx.config.padding ?? 'valid';
  if (v !== 'valid' && v !== 'same') throw fail(ctx, 'unsupported', `${className} layer '${ctx.name}' has padding ${JSON.stringify(v)}; Loom supports 'valid' and 'same'`);
  return v;
}

function windowKey(ctx: ImportContext, className: string, h: number, w: number, [kh, kw]: [number, number], [sh, sw]: [number, number], padding: 'valid' | 'same') {
  const win = windowOf(h, w, kh, kw, sh, sw, padding);
  if (!win) throw fail(ctx, 'invalid', `${className} layer '${ctx.name}': a ${kh}×${kw} window is larger than its ${h}×${w} input under padding 'valid'`);
  return win;
}

function activationOf(value: unknown, layer: string, source: string): string {
  const a = value === undefined || value === null ? 'linear' : value;
  if (typeof a !== 'string' || !SHARED_ACTIVATIONS.includes(a)) {
    throw new InteropError('unsupported', `${source}: layer '${layer}': activation ${JSON.stringify(a)} is not one Loom has (supported: ${SHARED_ACTIVATIONS.join(', ')}; leaky_relu as a LeakyReLU layer)`, { path: source });
  }
  return a;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A per-sample shape from Keras's `batch_input_shape` ([null, …]): every other entry a positive integer. */
function sampleShape(batchShape: unknown, layer: string, source: string): number[] {
  if (!Array.isArray(batchShape) || batchShape.length < 2 || batchShape.slice(1).some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new InteropError('invalid', `${source}: layer '${layer}': batch_input_shape must be [null, positive integers…], got ${JSON.stringify(batchShape)}`, { path: source });
  }
  return batchShape.slice(1) as number[];
}

/** The Sequential topology inside `modelTopology` (tfjs writes it bare; Keras's converter wraps it in `model_config`). */
function sequentialLayers(topology: unknown, source: string): { name: string; layers: KerasLayerJson[] } {
  let t = topology;
  if (isObject(t) && isObject(t.model_config)) t = t.model_config;
  if (!isObject(t)) throw new InteropError('invalid', `${source}: modelTopology is missing or not an object`, { path: source });
  if (t.class_name !== 'Sequential') {
    throw new InteropError('unsupported', `${source}: the model is a ${JSON.stringify(t.class_name)}; Loom reads Sequential models only`, { path: source });
  }
  const config = t.config;
  // Old Keras wrote a Sequential's config as the bare list of layers.
  const list = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(list)) throw new InteropError('invalid', `${source}: modelTopology.config.layers is not a list`, { path: source });
  if (list.length > MAX_LAYERS) throw new InteropError('too-large', `${source}: ${list.length} layers is more than the ${MAX_LAYERS} accepted`, { path: source });
  list.forEach((l, i) => {
    if (!isObject(l) || typeof l.class_name !== 'string' || !isObject(l.config)) {
      throw new InteropError('invalid', `${source}: layer ${i} is not { class_name, config }`, { path: source });
    }
  });
  const name = isObject(config) && typeof config.name === 'string' ? config.name : 'sequential';
  return { name, layers: list as KerasLayerJson[] };
}

interface ManifestEntry {
  name: string;
  shape: number[];
  count: number;
  group: number;
  /** Byte offset within its group's concatenated shards. */
  offset: number;
}

/** Checks the manifest and totals its sizes without allocating: every count is checked against the cap first. */
function readManifest(manifest: unknown, maxBytes: number, source: string): { entries: Map<string, ManifestEntry>; groups: { paths: string[]; bytes: number }[] } {
  if (!Array.isArray(manifest)) throw new InteropError('invalid', `${source}: weightsManifest is missing or not a list`, { path: source });
  const entries = new Map<string, ManifestEntry>();
  const groups: { paths: string[]; bytes: number }[] = [];
  let total = 0;
  manifest.forEach((g, gi) => {
    if (!isObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw new InteropError('invalid', `${source}: weightsManifest[${gi}] is not { paths, weights }`, { path: source });
    }
    for (const p of g.paths) {
      // A manifest names files beside model.json; nothing from a file may point elsewhere.
      if (typeof p !== 'string' || p === '' || p.startsWith('/') || p.includes('\\') || p.split('/').includes('..') || /^[a-z]+:/i.test(p)) {
        throw new InteropError('invalid', `${source}: weightsManifest[${gi}] names a weight file ${JSON.stringify(p)} outside the model's folder`, { path: source });
      }
    }
    let offset = 0;
    for (const w of g.weights) {
      if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape)) {
        throw new InteropError('invalid', `${source}: weightsManifest[${gi}] has a weight that is not { name, shape, dtype }`, { path: source });
      }
      if (w.shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
        throw new InteropError('invalid', `${source}: weight '${w.name}' has shape ${JSON.stringify(w.shape)}: dimensions must be non-negative integers`, { path: source });
      }
      const count = (w.shape as number[]).reduce((p, d) => p * d, 1);
      if (!Number.isSafeInteger(count) || count * 4 > maxBytes || total + count * 4 > maxBytes) {
        throw new InteropError('too-large', `${source}: weight '${w.name}' claims shape [${(w.shape as number[]).join(', ')}] (${count.toExponential(2)} values), past the ${maxBytes}-byte limit for weights; refused before reading`, { path: source });
      }
      if ((w.dtype ?? 'float32') !== 'float32') throw new InteropError('unsupported', `${source}: weight '${w.name}' is ${String(w.dtype)}; Loom reads float32 weights only`, { path: source });
      if (w.quantization !== undefined && w.quantization !== null) throw new InteropError('unsupported', `${source}: weight '${w.name}' is quantized; Loom reads unquantized float32 weights only`, { path: source });
      if (entries.has(w.name)) throw new InteropError('invalid', `${source}: weight '${w.name}' appears twice in the manifest`, { path: source });
      entries.set(w.name, { name: w.name, shape: w.shape as number[], count, group: gi, offset });
      offset += count * 4;
      total += count * 4;
    }
    if (offset > 0 && g.paths.length === 0) throw new InteropError('invalid', `${source}: weightsManifest[${gi}] has weights but no files`, { path: source });
    groups.push({ paths: g.paths as string[], bytes: offset });
  });
  return { entries, groups };
}

/**
 * A TensorFlow.js Layers model (`model.json`'s object, or its text) as an `InteropModel`.
 * Everything is checked before a weight is allocated: the JSON, every layer class (one Loom
 * cannot read is refused by name with the supported list), every weight's size against the
 * cap, and every weight's shape against its layer. Then `readShard` reads each file, and a
 * file shorter than the manifest says is an error. Weights are renamed `<layer>/kernel`,
 * `<layer>/bias` (tfjs's own names) and listed in layer order.
 */
export async function fromTfjsLayers(modelJson: unknown, readShard: ReadShard, options: TfjsImportOptions = {}): Promise<InteropModel> {
  const source = options.source ?? 'model.json';
  const maxBytes = options.maxWeightBytes ?? DEFAULT_MAX_WEIGHT_BYTES;
  let json = modelJson;
  if (typeof json === 'string') {
    try {
      json = JSON.parse(json) as unknown;
    } catch (e) {
      throw new InteropError('invalid-json', `${source}: not valid JSON (${(e as Error).message})`, { path: source, cause: e });
    }
  }
  if (!isObject(json)) throw new InteropError('invalid', `${source}: not a TensorFlow.js model.json (expected an object with modelTopology and weightsManifest)`, { path: source });
  if (json.format !== undefined && json.format !== 'layers-model') {
    throw new InteropError('unsupported', `${source}: format ${JSON.stringify(json.format)} is not a TensorFlow.js Layers model (graph models cannot be trained)`, { path: source });
  }
  const { name, layers: keras } = sequentialLayers(json.modelTopology, source);
  const { entries, groups } = readManifest(json.weightsManifest, maxBytes, source);

  // Walk the layers: classes, configs, shapes, and the weights each needs.
  const built: InteropLayer[] = [];
  const needed: { name: string; shape: number[] }[] = [];
  let shape: number[] | null = null;
  let inputShape: number[] | null = null;
  keras.forEach((k, i) => {
    const layerName = typeof k.config.name === 'string' && k.config.name !== '' ? k.config.name : `${k.class_name.toLowerCase()}_${i + 1}`;
    const importer = Object.prototype.hasOwnProperty.call(importers, k.class_name) ? importers[k.class_name] : undefined;
    if (!importer) {
      throw new InteropError('unsupported-layer', `${source}: layer '${layerName}' is a ${k.class_name}, which Loom cannot read; supported: ${tfjsImportableLayers.join(', ')}`, { path: source });
    }
    if (shape === null) {
      const batch = k.config.batch_input_shape ?? k.config.batch_shape;
      if (batch === undefined) throw new InteropError('invalid', `${source}: the first layer ('${layerName}') has no batch_input_shape, so the input shape is unknown`, { path: source });
      shape = sampleShape(batch, layerName, source);
      inputShape = [...shape];
    }
    if (k.config.trainable === false) throw new InteropError('unsupported', `${source}: layer '${layerName}' is frozen (trainable: false), which Loom does not support`, { path: source });
    const out = importer({ name: layerName, config: k.config, inputShape: shape, built, source });
    if (out.layer) built.push(out.layer);
    needed.push(...out.weights);
    shape = out.outputShape;
  });
  if (inputShape === null || built.length === 0) throw new InteropError('invalid', `${source}: the model has no layers Loom can build`, { path: source });
  const firstConfig = built[0]!.config;
  built[0]!.config = { ...firstConfig, inputShape: [...(inputShape as number[])] };

  const expected = new Set(needed.map((w) => w.name));
  const unexpected = [...entries.keys()].filter((n) => !expected.has(n));
  if (unexpected.length) throw new InteropError('invalid', `${source}: the manifest has weights no layer uses: ${unexpected.join(', ')}`, { path: source });
  for (const w of needed) {
    const e = entries.get(w.name);
    if (!e) throw new InteropError('invalid', `${source}: weight '${w.name}' is missing from the manifest`, { path: source });
    if (e.shape.join() !== w.shape.join()) {
      throw new InteropError('shape-mismatch', `${source}: weight '${w.name}' has shape [${e.shape.join(', ')}], but its layer needs [${w.shape.join(', ')}]`, { path: source });
    }
  }

  // Read each group's files; only now is memory taken, as much as the files hold.
  const groupBytes: Uint8Array[] = [];
  for (const [gi, g] of groups.entries()) {
    const parts: Uint8Array[] = [];
    let got = 0;
    for (const p of g.paths) {
      let bytes: Uint8Array;
      try {
        bytes = await readShard(p);
      } catch (e) {
        if (e instanceof InteropError) throw e;
        throw new InteropError('missing-shard', `${source}: cannot read weight file '${p}' (${(e as Error).message})`, { path: source, cause: e });
      }
      parts.push(bytes);
      got += bytes.length;
      if (got > g.bytes) break;
    }
    if (got < g.bytes) {
      throw new InteropError('truncated-shard', `${source}: the weight files of weightsManifest[${gi}] (${g.paths.join(', ')}) hold ${got} bytes, but the manifest needs ${g.bytes}`, { path: source });
    }
    if (got > g.bytes) {
      throw new InteropError('invalid', `${source}: the weight files of weightsManifest[${gi}] hold more bytes than the manifest describes (${g.bytes}): they belong to another model`, { path: source });
    }
    groupBytes.push(concat(parts, g.bytes));
  }
  const weights: InteropWeight[] = needed.map((w) => {
    const e = entries.get(w.name)!;
    return { name: w.name, shape: [...w.shape], data: leFloat32(groupBytes[e.group]!, e.offset, e.count) };
  });
  return { name, inputShape: inputShape as number[], layers: built, weights };
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A fresh Float32Array of `count` little-endian floats at `offset` (copied: the offset may be unaligned). */
function leFloat32(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * 4));
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}
