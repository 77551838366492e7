import type { InteropLayer, InteropModel, InteropWeight } from '../records.js';
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
  Dense(ctx) {
    const { name, config: c, inputShape, source } = ctx;
    if (inputShape.length !== 1) {
      throw new InteropError('unsupported', `${source}: Dense layer '${name}' gets a [${inputShape.join(', ')}] input; Loom's Dense takes flat inputs only (tfjs applies it to the last axis): a Flatten before it is needed`, { path: source });
    }
    for (const key of ['kernel_regularizer', 'bias_regularizer', 'activity_regularizer', 'kernel_constraint', 'bias_constraint']) {
      if (c[key] !== undefined && c[key] !== null) throw new InteropError('unsupported', `${source}: Dense layer '${name}' has a ${key}, which Loom does not support`, { path: source });
    }
    const units = c.units;
    if (!Number.isInteger(units) || (units as number) <= 0) throw new InteropError('invalid', `${source}: Dense layer '${name}': units must be a positive integer, got ${JSON.stringify(units)}`, { path: source });
    const useBias = c.use_bias ?? true;
    if (typeof useBias !== 'boolean') throw new InteropError('invalid', `${source}: Dense layer '${name}': use_bias must be true or false`, { path: source });
    const config: Record<string, unknown> = {
      name, units, activation: activationOf(c.activation, name, source), useBias,
      kernelInitializer: loomInitializer(c.kernel_initializer, 'glorot_uniform'),
      biasInitializer: loomInitializer(c.bias_initializer, 'zeros'),
    };
    const weights = [{ name: `${name}/kernel`, shape: [inputShape[0]!, units as number] }];
    if (useBias) weights.push({ name: `${name}/bias`, shape: [units as number] });
    return { layer: { className: 'Dense', config }, outputShape: [units as number], weights };
  },
  Activation(ctx) {
    return { layer: { className: 'Activation', config: { name: ctx.name, activation: activationOf(ctx.config.activation, ctx.name, ctx.source) } }, outputShape: ctx.inputShape, weights: [] };
  },
  LeakyReLU(ctx) {
    const alpha = ctx.config.alpha ?? KERAS_LEAKY_RELU_ALPHA;
    if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new InteropError('invalid', `${ctx.source}: LeakyReLU layer '${ctx.name}': alpha must be a number`, { path: ctx.source });
    const prev = ctx.built[ctx.built.length - 1];
    // Loom's own export of Dense(leaky_relu): fold the pair back into one layer.
    if (prev && prev.className === 'Dense' && prev.config.activation === 'linear' && ctx.name === `${String(prev.config.name)}${LEAKY_RELU_SUFFIX}`) {
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
    const format = ctx.config.data_format;
    if (format !== undefined && format !== null && format !== 'channels_last') throw new InteropError('unsupported', `${ctx.source}: Flatten layer '${ctx.name}' has data_format ${String(format)}; Loom is channels_last`, { path: ctx.source });
    return { layer: { className: 'Flatten', config: { name: ctx.name } }, outputShape: [ctx.inputShape.reduce((p, d) => p * d, 1)], weights: [] };
  },
};

/** The Keras layer classes `fromTfjsLayers` reads. */
export const tfjsImportableLayers: readonly string[] = Object.keys(importers);

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
