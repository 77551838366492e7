import type { InteropWeight } from '../records.js';
import { activationExport } from './activations.js';
import type { GraphBuilder } from './builder.js';

/** What a layer's mapping sees: its name, its config, and the per-sample shape coming in. */
export interface LayerContext {
  name: string;
  config: Record<string, unknown>;
  inShape: number[];
}

/** A checked layer: its per-sample output shape, the weights it expects, and how it emits its nodes. */
export interface LayerPlan {
  outShape: number[];
  /** In Loom's order; each is named `<layer name>/<suffix>`. */
  weights: { suffix: string; shape: number[] }[];
  emit(g: GraphBuilder, x: string, weights: InteropWeight[]): string;
}

type LayerMapping = (ctx: LayerContext) => LayerPlan;

/**
 * One mapping per Loom layer class (as torch.onnx keeps one symbolic function per op). Each
 * checks its config first, so a bad record fails before anything is emitted.
 */
const LAYERS: Readonly<Record<string, LayerMapping>> = Object.freeze({
  Dense: ({ name, config, inShape }) => {
    const units = positiveInt(config['units'], name, 'units');
    const useBias = optionalBoolean(config['useBias'], name, 'useBias') ?? true;
    const activation = activationExport(config['activation'] ?? 'linear', name);
    const alpha = optionalNumber(config['alpha'], name, 'alpha');
    const inSize = product(inShape);
    return {
      outShape: [units],
      weights: useBias ? [{ suffix: 'kernel', shape: [inSize, units] }, { suffix: 'bias', shape: [units] }]
        : [{ suffix: 'kernel', shape: [inSize, units] }],
      emit(g, x, [kernel, bias]) {
        const flat = flattenIfNeeded(g, name, x, inShape);
        const inputs = [flat, g.floatInitializer(kernel!.name, kernel!.shape, kernel!.data)];
        if (bias) inputs.push(g.floatInitializer(bias.name, bias.shape, bias.data));
        // Gemm's C broadcasts [units] over the rows; its transA/transB stay 0 (kernel is [in, units]).
        const z = g.node('Gemm', `${name}/Gemm`, inputs, `${name}/gemm`);
        return activation(g, name, z, alpha);
      },
    };
  },

  Activation: ({ name, config, inShape }) => {
    if (config['activation'] === undefined) throw new Error(`toOnnx: layer '${name}' (Activation) has no activation`);
    const activation = activationExport(config['activation'], name);
    const alpha = optionalNumber(config['alpha'], name, 'alpha');
    return { outShape: [...inShape], weights: [], emit: (g, x) => activation(g, name, x, alpha) };
  },

  // Inference is the identity: nothing to emit.
  Dropout: ({ inShape }) => ({ outShape: [...inShape], weights: [], emit: (_g, x) => x }),

  // Loom's tensors are row-major NHWC, and ONNX's Flatten(axis 1) keeps row-major order: the
  // same [n, prod] reshape, with no transposition (unlike a Flatten after an NCHW Conv).
  Flatten: ({ name, inShape }) => ({
    outShape: [product(inShape)],
    weights: [],
    emit: (g, x) => g.node('Flatten', `${name}/Flatten`, [x], `${name}/flatten`, { axis: { i: 1 } }),
  }),

  // One [in, units·pieces] kernel, unit-major (column u·pieces + k is piece k of unit u; see
  // packages/layers/src/maxout.ts): so z reshaped to [n, units, pieces] puts each unit's pieces
  // on the last axis, and ReduceMax over axis 2 is Loom's max over pieces.
  Maxout: ({ name, config, inShape }) => {
    const units = positiveInt(config['units'], name, 'units');
    const pieces = positiveInt(config['pieces'], name, 'pieces');
    const inSize = product(inShape), width = units * pieces;
    return {
      outShape: [units],
      weights: [{ suffix: 'kernel', shape: [inSize, width] }, { suffix: 'bias', shape: [width] }],
      emit(g, x, [kernel, bias]) {
        const flat = flattenIfNeeded(g, name, x, inShape);
        const xw = g.node('MatMul', `${name}/MatMul`, [flat, g.floatInitializer(kernel!.name, kernel!.shape, kernel!.data)], `${name}/matmul`);
        const z = g.node('Add', `${name}/Add`, [xw, g.floatInitializer(bias!.name, bias!.shape, bias!.data)], `${name}/add`);
        // 0 copies the batch dimension from z, so the batch stays dynamic.
        const shape = g.int64Initializer(`${name}/pieces_shape`, [0, units, pieces]);
        const grouped = g.node('Reshape', `${name}/Reshape`, [z, shape], `${name}/pieces`);
        // ReduceMax took its axes as an attribute until opset 18, and as an input from then on.
        if (g.opset < 18) {
          return g.node('ReduceMax', `${name}/ReduceMax`, [grouped], `${name}/max`, { axes: { ints: [2] }, keepdims: { i: 0 } });
        }
        const axes = g.int64Initializer(`${name}/max_axes`, [2]);
        return g.node('ReduceMax', `${name}/ReduceMax`, [grouped, axes], `${name}/max`, { keepdims: { i: 0 } });
      },
    };
  },
});

export const supportedLayers: readonly string[] = Object.freeze(Object.keys(LAYERS));

/** The mapping of a layer class, or an error naming the layer and the classes ONNX export supports. */
export function layerMapping(className: unknown, where: string): LayerMapping {
  const fn = typeof className === 'string' && Object.prototype.hasOwnProperty.call(LAYERS, className) ? LAYERS[className] : undefined;
  if (!fn) {
    throw new Error(
      `toOnnx: ${where} is a ${JSON.stringify(className)} layer, which ONNX export does not support. ` +
        `Supported: ${supportedLayers.join(', ')}`,
    );
  }
  return fn;
}

// Loom's Dense and Maxout flatten each sample themselves; in ONNX, Gemm and MatMul need [n, in].
function flattenIfNeeded(g: GraphBuilder, name: string, x: string, inShape: number[]): string {
  return inShape.length === 1 ? x : g.node('Flatten', `${name}/Flatten`, [x], `${name}/flatten`, { axis: { i: 1 } });
}

function product(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

function positiveInt(v: unknown, layer: string, key: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new Error(`toOnnx: layer '${layer}': ${key} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function optionalNumber(v: unknown, layer: string, key: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new Error(`toOnnx: layer '${layer}': ${key} must be a finite number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function optionalBoolean(v: unknown, layer: string, key: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new Error(`toOnnx: layer '${layer}': ${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}
