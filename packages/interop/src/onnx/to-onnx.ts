import type { InteropModel, InteropWeight } from '../records.js';
import { GraphBuilder } from './builder.js';
import { layerMapping, nhwc, type LayerPlan } from './layers.js';
import { encodeModelProto, FLOAT, type ModelProto, type ValueInfoProto } from './schema.js';

/** Options for `toOnnx` and `writeOnnxFile`. */
export interface OnnxExportOptions {
  /** The default-domain opset the graph declares: 13 (the default) to 18. */
  opset?: number;
  /** `producer_name` in the model (default `'loom'`). */
  producerName?: string;
}

export const DEFAULT_OPSET = 13;
// The opsets whose ops this exporter writes, each with the IR version ONNX released it under
// (opset 13–14: IR 7; 15–18: IR 8). onnx-proto's schema is IR 8, so 18 is as far as it goes.
const IR_VERSION_OF_OPSET: Readonly<Record<number, number>> = Object.freeze({ 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8 });
// A protobuf message cannot exceed 2 GiB; bigger models need ONNX's external data files.
const MAX_WEIGHT_BYTES = 2 ** 31 - 2 ** 24;
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'output';
export const BATCH_DIM = 'batch';

interface CheckedLayer {
  plan: LayerPlan;
  weights: InteropWeight[];
}

/**
 * An ONNX ModelProto's bytes for a Sequential InteropModel: graph input `input` [batch, …inputShape]
 * (the batch a `dim_param`), output `output`, weights as initializers under Loom's names. The
 * whole record is checked first; a layer or activation ONNX cannot express is an error naming it.
 */
export function toOnnx(model: InteropModel, options: OnnxExportOptions = {}): Uint8Array {
  const { opset, irVersion, producerName } = checkOptions(options);
  const inputShape = checkModel(model);
  const layers = checkLayers(model, inputShape);

  const g = new GraphBuilder(opset, INPUT_NAME);
  let x = INPUT_NAME;
  for (const { plan, weights } of layers) x = plan.emit(g, x, weights);
  // The graph's output is in Loom's layout whatever the last op kept.
  x = nhwc(g, 'output', x);
  if (x === INPUT_NAME) g.node('Identity', 'Identity', [x], OUTPUT_NAME);
  else g.renameOutput(x, OUTPUT_NAME);
  const outShape = layers.length ? layers[layers.length - 1]!.plan.outShape : inputShape;

  const proto: ModelProto = {
    irVersion,
    opsetImport: [{ domain: '', version: opset }],
    producerName,
    graph: {
      name: model.name || 'loom_model',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(INPUT_NAME, inputShape)],
      output: [valueInfo(OUTPUT_NAME, outShape)],
    },
  };
  return encodeModelProto(proto);
}

function valueInfo(name: string, perSample: number[]): ValueInfoProto {
  const dim = [{ dimParam: BATCH_DIM }, ...perSample.map((d) => ({ dimValue: d }))];
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}

function checkOptions(options: OnnxExportOptions): { opset: number; irVersion: number; producerName: string } {
  if (options === null || typeof options !== 'object') throw new TypeError('toOnnx: options must be an object');
  const opset = options.opset ?? DEFAULT_OPSET;
  const irVersion = IR_VERSION_OF_OPSET[opset];
  if (irVersion === undefined) {
    throw new Error(`toOnnx: opset must be one of ${Object.keys(IR_VERSION_OF_OPSET).join(', ')}, got ${JSON.stringify(options.opset)}`);
  }
  const producerName = options.producerName ?? 'loom';
  if (typeof producerName !== 'string') throw new TypeError(`toOnnx: producerName must be a string, got ${typeof producerName}`);
  return { opset, irVersion, producerName };
}

function checkModel(model: InteropModel): number[] {
  if (model === null || typeof model !== 'object') throw new TypeError('toOnnx: model must be an InteropModel record');
  if (typeof model.name !== 'string') throw new TypeError(`toOnnx: model.name must be a string, got ${typeof model.name}`);
  const s = model.inputShape;
  if (!Array.isArray(s) || s.length === 0 || !s.every((d) => Number.isSafeInteger(d) && d >= 1)) {
    throw new Error(`toOnnx: model.inputShape must be a non-empty list of positive integers (per sample, no batch), got ${JSON.stringify(s)}`);
  }
  if (!Array.isArray(model.layers)) throw new TypeError('toOnnx: model.layers must be an array');
  if (!Array.isArray(model.weights)) throw new TypeError('toOnnx: model.weights must be an array');
  return [...s];
}

// Walks the layers with the per-sample shape, giving each layer its weights in order, and
// refuses missing, misnamed, misshapen and leftover weights.
function checkLayers(model: InteropModel, inputShape: number[]): CheckedLayer[] {
  const out: CheckedLayer[] = [];
  const names = new Set<string>();
  let shape = inputShape, cursor = 0, bytes = 0;
  model.layers.forEach((layer, i) => {
    if (layer === null || typeof layer !== 'object') throw new TypeError(`toOnnx: model.layers[${i}] must be a { className, config } record`);
    const config = layer.config;
    const name = config !== null && typeof config === 'object' ? config['name'] : undefined;
    if (typeof name !== 'string' || name === '') {
      throw new Error(`toOnnx: model.layers[${i}] (${JSON.stringify(layer.className)}) needs config.name, a non-empty string`);
    }
    if (names.has(name)) throw new Error(`toOnnx: two layers are named '${name}'; ONNX tensor names are built from layer names`);
    names.add(name);
    const plan = layerMapping(layer.className, `layer '${name}' (model.layers[${i}])`)({ name, config, inShape: shape });
    const weights = plan.weights.map(({ suffix, shape: expected }) => {
      const want = `${name}/${suffix}`;
      const w = model.weights[cursor];
      if (w === undefined) throw new Error(`toOnnx: layer '${name}' needs weight '${want}' ${fmt(expected)}, but model.weights has only ${cursor}`);
      if (w === null || typeof w !== 'object' || w.name !== want) {
        throw new Error(`toOnnx: model.weights[${cursor}] is ${JSON.stringify(w?.name)}, expected '${want}' (weights go in layer order: kernel, then bias)`);
      }
      if (!Array.isArray(w.shape) || w.shape.length !== expected.length || w.shape.some((d, k) => d !== expected[k])) {
        throw new Error(`toOnnx: weight '${want}' has shape ${fmt(w.shape)}, but layer '${name}' needs ${fmt(expected)}`);
      }
      const size = expected.reduce((p, d) => p * d, 1);
      if (!(w.data instanceof Float32Array) || w.data.length !== size) {
        const got = w.data instanceof Float32Array ? `${w.data.length} values` : 'no Float32Array';
        throw new Error(`toOnnx: weight '${want}' ${fmt(expected)} needs a Float32Array of ${size} values, got ${got}`);
      }
      bytes += w.data.byteLength;
      cursor++;
      return w;
    });
    out.push({ plan, weights });
    shape = plan.outShape;
  });
  if (cursor < model.weights.length) {
    const extra = model.weights.slice(cursor).map((w) => `'${w?.name}'`).join(', ');
    throw new Error(`toOnnx: model.weights has ${model.weights.length - cursor} weight(s) no layer uses: ${extra}`);
  }
  if (bytes > MAX_WEIGHT_BYTES) {
    throw new Error(`toOnnx: the weights take ${bytes} bytes; an ONNX file over 2 GiB needs external data, which toOnnx does not write`);
  }
  return out;
}

function fmt(shape: unknown): string {
  return Array.isArray(shape) ? `[${shape.join(', ')}]` : JSON.stringify(shape);
}
