import type { InteropModel, InteropWeight } from '../records.js';

/**
 * Shared test helpers (not exported from the package's door): a seeded generator, and the
 * float64 forward pass, written from Loom's definitions of each layer, that the tests hold
 * onnxruntime's outputs against.
 */

// mulberry32: a seeded generator, so a failure reproduces.
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomWeight(next: () => number, name: string, shape: number[], scale: number): InteropWeight {
  const n = shape.reduce((p, d) => p * d, 1);
  return { name, shape, data: Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale) };
}

// Float64 reference, from Loom's layer definitions (packages/layers, packages/autodiff).
function activate(name: string, alpha: number | undefined, row: number[]): number[] {
  switch (name) {
    case 'linear': return row;
    case 'sigmoid': return row.map((v) => 1 / (1 + Math.exp(-v)));
    case 'tanh': return row.map(Math.tanh);
    case 'relu': return row.map((v) => (v > 0 ? v : 0));
    case 'leaky_relu': return row.map((v) => (v > 0 ? v : (alpha ?? 0.1) * v));
    case 'elu': return row.map((v) => (v > 0 ? v : (alpha ?? 1) * Math.expm1(v)));
    case 'softmax': {
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    }
    default: throw new Error(`reference: no activation ${name}`);
  }
}

function affine(x: number[], kernel: InteropWeight, bias: InteropWeight | undefined): number[] {
  const [inSize, width] = kernel.shape as [number, number];
  const out = new Array<number>(width).fill(0);
  for (let j = 0; j < width; j++) {
    let s = bias ? bias.data[j]! : 0;
    for (let i = 0; i < inSize; i++) s += x[i]! * kernel.data[i * width + j]!;
    out[j] = s;
  }
  return out;
}

/** Loom's Dense: the kernel applies to the last axis, each run of `in` values of a longer sample its own row. */
function dense(x: number[], kernel: InteropWeight, bias: InteropWeight | undefined, activation: string, alpha: number | undefined): number[] {
  const inSize = kernel.shape[0]!;
  const out: number[] = [];
  for (let at = 0; at < x.length; at += inSize) out.push(...activate(activation, alpha, affine(x.slice(at, at + inSize), kernel, bias)));
  return out;
}

/** One sample through the model in float64. */
export function referenceRow(model: InteropModel, sample: number[]): number[] {
  let x = sample, w = 0;
  for (const { className, config } of model.layers) {
    const alpha = config['alpha'] as number | undefined;
    if (className === 'Dense') {
      const kernel = model.weights[w++]!;
      const bias = config['useBias'] === false ? undefined : model.weights[w++]!;
      x = dense(x, kernel, bias, config['activation'] as string, alpha);
    } else if (className === 'Maxout') {
      const units = config['units'] as number, pieces = config['pieces'] as number;
      const z = affine(x, model.weights[w++]!, model.weights[w++]!);
      // Unit-major: column u·pieces + k is piece k of unit u.
      x = Array.from({ length: units }, (_, u) => Math.max(...z.slice(u * pieces, (u + 1) * pieces)));
    } else if (className === 'Activation') {
      x = activate(config['activation'] as string, alpha, x);
    } // Dropout and Flatten leave a flat row-major sample as it is.
  }
  return x;
}

/** `rows` samples of uniform values in [−2, 2). */
export function randomInputs(seed: number, rows: number, perSample: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: rows * perSample }, () => next() * 4 - 2);
}

/** The largest |got − reference| over `rows` samples of `x` (`perSample` values in, `outSize` out). */
export function maxAbsDiff(got: Float32Array, model: InteropModel, x: Float32Array, rows: number, perSample: number, outSize: number): number {
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    const want = referenceRow(model, Array.from(x.subarray(r * perSample, (r + 1) * perSample)));
    for (let j = 0; j < outSize; j++) worst = Math.max(worst, Math.abs(got[r * outSize + j]! - want[j]!));
  }
  return worst;
}
