import { windowOf, type Window } from '../geometry.js';
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
  // Loom's Dense, like Keras's, applies to the last axis (kernel [last, units]): Gemm on a
  // vector sample; on a longer one, MatMul (which broadcasts over the leading axes) and Add.
  Dense: ({ name, config, inShape }) => {
    const units = positiveInt(config['units'], name, 'units');
    const useBias = optionalBoolean(config['useBias'], name, 'useBias') ?? true;
    const activation = activationExport(config['activation'] ?? 'linear', name);
    const alpha = optionalNumber(config['alpha'], name, 'alpha');
    const inSize = inShape[inShape.length - 1]!;
    return {
      outShape: [...inShape.slice(0, -1), units],
      weights: useBias ? [{ suffix: 'kernel', shape: [inSize, units] }, { suffix: 'bias', shape: [units] }]
        : [{ suffix: 'kernel', shape: [inSize, units] }],
      emit(g, x, [kernel, bias]) {
        const w = g.floatInitializer(kernel!.name, kernel!.shape, kernel!.data);
        if (inShape.length === 1) {
          const inputs = [x, w];
          if (bias) inputs.push(g.floatInitializer(bias.name, bias.shape, bias.data));
          // Gemm's C broadcasts [units] over the rows; its transA/transB stay 0 (kernel is [in, units]).
          const z = g.node('Gemm', `${name}/Gemm`, inputs, `${name}/gemm`);
          return activation(g, name, z, alpha);
        }
        let z = g.node('MatMul', `${name}/MatMul`, [nhwc(g, name, x), w], `${name}/matmul`);
        if (bias) z = g.node('Add', `${name}/Add`, [z, g.floatInitializer(bias.name, bias.shape, bias.data)], `${name}/add`);
        return activation(g, name, z, alpha);
      },
    };
  },

  // Elementwise activations work in either layout; softmax is over Loom's last axis, so NHWC.
  Activation: ({ name, config, inShape }) => {
    if (config['activation'] === undefined) throw new Error(`toOnnx: layer '${name}' (Activation) has no activation`);
    const activation = activationExport(config['activation'], name);
    const alpha = optionalNumber(config['alpha'], name, 'alpha');
    const softmax = config['activation'] === 'softmax';
    return {
      outShape: [...inShape], weights: [],
      emit: (g, x) => (softmax ? activation(g, name, nhwc(g, name, x), alpha) : sameLayout(g, x, activation(g, name, x, alpha))),
    };
  },

  // ONNX's Conv is NCHW with an [out, in, kh, kw] kernel: the input is transposed (unless the
  // layer before already left it NCHW), the kernel is transposed once here, and 'same' becomes
  // explicit pads by TensorFlow's rule (the odd row/column at the bottom/right). auto_pad
  // SAME_UPPER would put it there too, but explicit pads say exactly what Loom does.
  Conv2D: ({ name, config, inShape }) => {
    const [h, w, cin] = image(inShape, name, 'Conv2D');
    const filters = positiveInt(config['filters'], name, 'filters');
    const [kh, kw] = pair(config['kernelSize'], name, 'kernelSize');
    const [sh, sw] = pair(config['strides'] ?? 1, name, 'strides');
    const win = window(h, w, kh, kw, sh, sw, config['padding'], name);
    const useBias = optionalBoolean(config['useBias'], name, 'useBias') ?? true;
    if (config['activation'] === 'softmax') throw new Error(`toOnnx: layer '${name}' (Conv2D) has activation "softmax", which Loom's Conv2D does not support`);
    const activation = activationExport(config['activation'] ?? 'linear', name);
    const alpha = optionalNumber(config['alpha'], name, 'alpha');
    const kernelShape = [kh, kw, cin, filters];
    return {
      outShape: [win.outH, win.outW, filters],
      weights: useBias ? [{ suffix: 'kernel', shape: kernelShape }, { suffix: 'bias', shape: [filters] }] : [{ suffix: 'kernel', shape: kernelShape }],
      emit(g, x, [kernel, bias]) {
        const inputs = [nchw(g, name, x), g.floatInitializer(kernel!.name, [filters, cin, kh, kw], oihw(kernel!.data, kh, kw, cin, filters))];
        if (bias) inputs.push(g.floatInitializer(bias.name, bias.shape, bias.data));
        const z = g.markNchw(g.node('Conv', `${name}/Conv`, inputs, `${name}/conv`, {
          kernel_shape: { ints: [kh, kw] }, strides: { ints: [sh, sw] }, pads: { ints: onnxPads(win) }, dilations: { ints: [1, 1] }, group: { i: 1 },
        }));
        return sameLayout(g, z, activation(g, name, z, alpha));
      },
    };
  },

  MaxPooling2D: (ctx) => pooling(ctx, 'MaxPool'),
  // Padding never counts in Loom's (and TensorFlow's) average: count_include_pad 0.
  AveragePooling2D: (ctx) => pooling(ctx, 'AveragePool'),

  // GlobalAveragePool gives [n, c, 1, 1]; Flatten(axis 1) makes it Loom's [n, c].
  GlobalAveragePooling2D: ({ name, inShape }) => {
    const [, , c] = image(inShape, name, 'GlobalAveragePooling2D');
    return {
      outShape: [c], weights: [],
      emit(g, x) {
        const pooled = g.markNchw(g.node('GlobalAveragePool', `${name}/GlobalAveragePool`, [nchw(g, name, x)], `${name}/pooled`));
        return g.node('Flatten', `${name}/Flatten`, [pooled], `${name}/flatten`, { axis: { i: 1 } });
      },
    };
  },

  // Inference form, with the moving statistics. On images, ONNX's BatchNormalization (channel
  // axis 1) in NCHW: it mostly follows a Conv whose output is NCHW already, so it costs no
  // transpose, and runtimes fold it into the Conv. On a vector sample [n, c] the channel is axis
  // 1 already. Any other rank: y = x·a + b per channel (a = γ/√(σ² + ε), b = β − μ·a, in float64),
  // which broadcasts over Loom's last axis.
  BatchNormalization: ({ name, config, inShape }) => {
    if (inShape.length === 0) throw new Error(`toOnnx: layer '${name}' (BatchNormalization) needs an input with a channel axis`);
    if (config['axis'] !== undefined && config['axis'] !== -1) throw new Error(`toOnnx: layer '${name}': axis must be -1 (the channels), got ${JSON.stringify(config['axis'])}`);
    const epsilon = optionalNumber(config['epsilon'], name, 'epsilon') ?? 1e-3;
    if (!(epsilon > 0)) throw new Error(`toOnnx: layer '${name}': epsilon must be positive, got ${epsilon}`);
    const center = optionalBoolean(config['center'], name, 'center') ?? true;
    const scale = optionalBoolean(config['scale'], name, 'scale') ?? true;
    const c = inShape[inShape.length - 1]!;
    const weights = [
      ...(scale ? [{ suffix: 'gamma', shape: [c] }] : []),
      ...(center ? [{ suffix: 'beta', shape: [c] }] : []),
      { suffix: 'moving_mean', shape: [c] }, { suffix: 'moving_variance', shape: [c] },
    ];
    return {
      outShape: [...inShape], weights,
      emit(g, x, ws) {
        let k = 0;
        const gamma = scale ? ws[k++]!.data : new Float32Array(c).fill(1);
        const beta = center ? ws[k++]!.data : new Float32Array(c);
        const mean = ws[k++]!, variance = ws[k++]!;
        if (inShape.length === 3 || inShape.length === 1) {
          const input = inShape.length === 3 ? nchw(g, name, x) : x;
          const y = g.node('BatchNormalization', `${name}/BatchNormalization`, [
            input,
            g.floatInitializer(scale ? ws[0]!.name : `${name}/gamma_ones`, [c], gamma),
            g.floatInitializer(center ? ws[scale ? 1 : 0]!.name : `${name}/beta_zeros`, [c], beta),
            g.floatInitializer(mean.name, [c], mean.data),
            g.floatInitializer(variance.name, [c], variance.data),
          ], `${name}/batchnorm`, { epsilon: { f: epsilon } });
          return inShape.length === 3 ? g.markNchw(y) : y;
        }
        const a = new Float32Array(c), b = new Float32Array(c);
        for (let ch = 0; ch < c; ch++) {
          const s = gamma[ch]! / Math.sqrt(variance.data[ch]! + epsilon);
          a[ch] = s;
          b[ch] = beta[ch]! - mean.data[ch]! * s;
        }
        const scaled = g.node('Mul', `${name}/Mul`, [x, g.floatInitializer(`${name}/multiplier`, [c], a)], `${name}/scaled`);
        return g.node('Add', `${name}/Add`, [scaled, g.floatInitializer(`${name}/offset`, [c], b)], `${name}/shifted`);
      },
    };
  },

  // Inference is the identity: nothing to emit.
  Dropout: ({ inShape }) => ({ outShape: [...inShape], weights: [], emit: (_g, x) => x }),

  // Loom's tensors are row-major NHWC, and ONNX's Flatten(axis 1) keeps row-major order: the
  // same [n, prod] reshape. After an NCHW op the tensor goes back to NHWC first, so the
  // values come out in Loom's h, w, c order.
  Flatten: ({ name, inShape }) => ({
    outShape: [product(inShape)],
    weights: [],
    emit: (g, x) => g.node('Flatten', `${name}/Flatten`, [nhwc(g, name, x)], `${name}/flatten`, { axis: { i: 1 } }),
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
        const flat = flattenIfNeeded(g, name, nhwc(g, name, x), inShape);
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

// Loom's Maxout flattens each sample itself; in ONNX, its MatMul needs [n, in].
function flattenIfNeeded(g: GraphBuilder, name: string, x: string, inShape: number[]): string {
  return inShape.length === 1 ? x : g.node('Flatten', `${name}/Flatten`, [x], `${name}/flatten`, { axis: { i: 1 } });
}

/** `x` in NCHW: a Transpose from Loom's NHWC, unless the op before left it NCHW. */
function nchw(g: GraphBuilder, name: string, x: string): string {
  if (g.isNchw(x)) return x;
  return g.markNchw(g.node('Transpose', `${name}/ToNCHW`, [x], `${name}/nchw`, { perm: { ints: [0, 3, 1, 2] } }));
}

/** `x` in Loom's NHWC: a Transpose back if an NCHW op made it. */
export function nhwc(g: GraphBuilder, name: string, x: string): string {
  if (!g.isNchw(x)) return x;
  return g.node('Transpose', `${name}/ToNHWC`, [x], `${name}/nhwc`, { perm: { ints: [0, 2, 3, 1] } });
}

/** An elementwise op's output `y` is in the layout of its input `x`. */
function sameLayout(g: GraphBuilder, x: string, y: string): string {
  if (y !== x && g.isNchw(x)) g.markNchw(y);
  return y;
}

function pooling({ name, config, inShape }: LayerContext, op: 'MaxPool' | 'AveragePool'): LayerPlan {
  const [h, w, c] = image(inShape, name, op === 'MaxPool' ? 'MaxPooling2D' : 'AveragePooling2D');
  const [ph, pw] = pair(config['poolSize'] ?? 2, name, 'poolSize');
  const [sh, sw] = pair(config['strides'] ?? [ph, pw], name, 'strides');
  const win = window(h, w, ph, pw, sh, sw, config['padding'], name);
  return {
    outShape: [win.outH, win.outW, c], weights: [],
    emit(g, x) {
      const attributes = { kernel_shape: { ints: [ph, pw] }, strides: { ints: [sh, sw] }, pads: { ints: onnxPads(win) }, ...(op === 'AveragePool' ? { count_include_pad: { i: 0 } } : {}) };
      return g.markNchw(g.node(op, `${name}/${op}`, [nchw(g, name, x)], `${name}/${op === 'MaxPool' ? 'maxpool' : 'avgpool'}`, attributes));
    },
  };
}

/** Loom's kernel [kh, kw, cin, cout] as ONNX's Conv wants it, [cout, cin, kh, kw]. */
function oihw(k: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let ci = 0; ci < cin; ci++) {
    const src = ((i * kw + j) * cin + ci) * cout;
    for (let o = 0; o < cout; o++) out[((o * cin + ci) * kh + i) * kw + j] = k[src + o]!;
  }
  return out;
}

/** ONNX's pads order is [top, left, bottom, right]: begins of every spatial axis, then ends. */
function onnxPads(win: Window): number[] {
  return [...win.pads];
}

function image(inShape: number[], name: string, className: string): [number, number, number] {
  if (inShape.length !== 3) throw new Error(`toOnnx: layer '${name}' (${className}) needs images [height, width, channels] per sample, got [${inShape.join(', ')}]`);
  return inShape as [number, number, number];
}

function pair(v: unknown, layer: string, key: string): [number, number] {
  const p = Array.isArray(v) ? v : [v, v];
  if (p.length !== 2) throw new Error(`toOnnx: layer '${layer}': ${key} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
  return [positiveInt(p[0], layer, key), positiveInt(p[1], layer, key)];
}

function window(h: number, w: number, kh: number, kw: number, sh: number, sw: number, padding: unknown, layer: string): Window {
  const p = padding ?? 'valid';
  if (p !== 'valid' && p !== 'same') throw new Error(`toOnnx: layer '${layer}': padding must be 'valid' or 'same', got ${JSON.stringify(padding)}`);
  const win = windowOf(h, w, kh, kw, sh, sw, p);
  if (!win) throw new Error(`toOnnx: layer '${layer}': a ${kh}×${kw} window is larger than its ${h}×${w} input under padding 'valid'`);
  return win;
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
