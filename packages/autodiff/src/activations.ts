import { sigmoidScalar, softmaxRows } from '@loom/tensor';

/**
 * Activation kernels over flat Float32Arrays: forward and backward side by side. The tape's
 * activation ops wrap these, and layers call them directly on their own preallocated buffers,
 * so there is one definition of each activation in Loom.
 *
 * `backward` receives the input x, the output y and dy, and writes dx; each uses whichever of
 * x and y gives the cheapest exact derivative (sigmoid and tanh from y, relu from x).
 * `cols` is the row length (only softmax needs it).
 */
export interface ActivationKernel {
  name: string;
  forward(x: Float32Array, y: Float32Array, n: number, cols: number, alpha: number): void;
  backward(x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array, n: number, cols: number, alpha: number): void;
  /** Default alpha for parameterized activations (leaky_relu, elu). */
  defaultAlpha: number;
}

const linear: ActivationKernel = {
  name: 'linear',
  defaultAlpha: 0,
  forward(x, y, n) {
    if (x !== y) for (let i = 0; i < n; i++) y[i] = x[i]!;
  },
  backward(_x, _y, dy, dx, n) {
    if (dy !== dx) for (let i = 0; i < n; i++) dx[i] = dy[i]!;
  },
};

const sigmoid: ActivationKernel = {
  name: 'sigmoid',
  defaultAlpha: 0,
  forward(x, y, n) {
    for (let i = 0; i < n; i++) y[i] = sigmoidScalar(x[i]!);
  },
  backward(_x, y, dy, dx, n) {
    for (let i = 0; i < n; i++) {
      const s = y[i]!;
      dx[i] = dy[i]! * s * (1 - s);
    }
  },
};

const tanh: ActivationKernel = {
  name: 'tanh',
  defaultAlpha: 0,
  forward(x, y, n) {
    for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]!);
  },
  backward(_x, y, dy, dx, n) {
    for (let i = 0; i < n; i++) {
      const t = y[i]!;
      dx[i] = dy[i]! * (1 - t * t);
    }
  },
};

const relu: ActivationKernel = {
  name: 'relu',
  defaultAlpha: 0,
  forward(x, y, n) {
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      y[i] = v > 0 ? v : 0;
    }
  },
  backward(x, _y, dy, dx, n) {
    for (let i = 0; i < n; i++) dx[i] = x[i]! > 0 ? dy[i]! : 0;
  },
};

/** max(alpha·x, x) as in the seed slides; Loom's default alpha is 0.1 (Keras's LeakyReLU layer uses 0.3). */
const leakyRelu: ActivationKernel = {
  name: 'leaky_relu',
  defaultAlpha: 0.1,
  forward(x, y, n, _cols, alpha) {
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      y[i] = v > 0 ? v : alpha * v;
    }
  },
  backward(x, _y, dy, dx, n, _cols, alpha) {
    for (let i = 0; i < n; i++) dx[i] = x[i]! > 0 ? dy[i]! : alpha * dy[i]!;
  },
};

const elu: ActivationKernel = {
  name: 'elu',
  defaultAlpha: 1,
  forward(x, y, n, _cols, alpha) {
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      y[i] = v > 0 ? v : alpha * Math.expm1(v);
    }
  },
  backward(x, y, dy, dx, n, _cols, alpha) {
    // For x ≤ 0, d/dx α(eˣ−1) = αeˣ = y + α.
    for (let i = 0; i < n; i++) dx[i] = x[i]! > 0 ? dy[i]! : dy[i]! * (y[i]! + alpha);
  },
};

const softmax: ActivationKernel = {
  name: 'softmax',
  defaultAlpha: 0,
  forward(x, y, n, cols) {
    softmaxRows(x, y, n / cols, cols);
  },
  backward(_x, y, dy, dx, n, cols) {
    // dx = y ⊙ (dy − ⟨dy, y⟩) per row: the Jacobian-vector product without forming the Jacobian.
    for (let o = 0; o < n; o += cols) {
      let dot = 0;
      for (let j = 0; j < cols; j++) dot += dy[o + j]! * y[o + j]!;
      for (let j = 0; j < cols; j++) dx[o + j] = y[o + j]! * (dy[o + j]! - dot);
    }
  },
};

/**
 * Every activation by its Keras string identifier. Keyed explicitly (not a string record) so
 * `activationKernels.relu`, the typed form layers accept, is never undefined to TypeScript.
 */
export const activationKernels = Object.freeze({
  linear,
  sigmoid,
  tanh,
  relu,
  leaky_relu: leakyRelu,
  elu,
  softmax,
});

export const activationNames: readonly string[] = Object.freeze(Object.keys(activationKernels));

/** Looks up an activation kernel; unknown names get an error listing the known ones. */
export function getActivationKernel(name: string, argName = 'activation'): ActivationKernel {
  const table: Readonly<Record<string, ActivationKernel>> = activationKernels;
  const k = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
  if (!k) {
    throw new Error(`Unknown ${argName} '${name}'. Known: ${activationNames.join(', ')}`);
  }
  return k;
}
