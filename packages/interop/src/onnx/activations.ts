import type { GraphBuilder } from './builder.js';

/** Emits one activation after tensor `x` of layer `layer`; returns the output tensor's name. */
type ActivationExport = (g: GraphBuilder, layer: string, x: string, alpha: number | undefined) => string;

// Loom's activations (packages/autodiff/src/activations.ts) and the ONNX op of each. Alphas are
// always written: ONNX's LeakyRelu defaults to 0.01 where Loom's leaky_relu uses 0.1.
const ACTIVATIONS: Readonly<Record<string, ActivationExport>> = Object.freeze({
  linear: (_g, _layer, x) => x,
  sigmoid: (g, layer, x) => g.node('Sigmoid', `${layer}/Sigmoid`, [x], `${layer}/sigmoid`),
  tanh: (g, layer, x) => g.node('Tanh', `${layer}/Tanh`, [x], `${layer}/tanh`),
  relu: (g, layer, x) => g.node('Relu', `${layer}/Relu`, [x], `${layer}/relu`),
  leaky_relu: (g, layer, x, alpha) =>
    g.node('LeakyRelu', `${layer}/LeakyRelu`, [x], `${layer}/leaky_relu`, { alpha: { f: alpha ?? 0.1 } }),
  elu: (g, layer, x, alpha) => g.node('Elu', `${layer}/Elu`, [x], `${layer}/elu`, { alpha: { f: alpha ?? 1 } }),
  // Opset 13's Softmax normalizes along one axis, as Loom's does along the last.
  softmax: (g, layer, x) => g.node('Softmax', `${layer}/Softmax`, [x], `${layer}/softmax`, { axis: { i: -1 } }),
});

export const supportedActivations: readonly string[] = Object.freeze(Object.keys(ACTIVATIONS));

/** The exporter of an activation, or an error naming the layer and the activations ONNX export supports. */
export function activationExport(name: unknown, layer: string): ActivationExport {
  const fn = typeof name === 'string' && Object.prototype.hasOwnProperty.call(ACTIVATIONS, name) ? ACTIVATIONS[name] : undefined;
  if (!fn) {
    throw new Error(
      `toOnnx: layer '${layer}' has activation ${JSON.stringify(name)}, which ONNX export does not support. ` +
        `Supported: ${supportedActivations.join(', ')}`,
    );
  }
  return fn;
}
