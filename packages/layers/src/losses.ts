/**
 * Losses as Keras defines them, over flat [rows, cols] predictions. Each kernel returns the SUM
 * of per-sample losses (so shards can be added) and, when asked, writes d(sum)/d(pred) scaled
 * by `gradScale` (1 / global batch size gives the gradient of the batch mean).
 *
 * Probabilities are clipped to [ε, 1 − ε] with Keras's ε = 1e-7 before taking logs. When the
 * model's last activation is the loss's natural partner (softmax for the cross-entropies,
 * sigmoid for binary cross-entropy), `fusedActivation` names it and `preActivationGrad` writes
 * the gradient of the pre-activation directly: the exact (p − y)-form that never divides by a
 * vanishing probability.
 */
export const EPSILON = 1e-7;

export interface LossKernel {
  readonly name: string;
  /** How many label values per sample: `cols` for dense labels, 1 for sparse class indices. */
  labelWidth(cols: number): number;
  /** Sum over `rows` of the per-sample loss; writes the gradient into `dPred` when given. */
  compute(pred: Float32Array, labels: Float32Array, rows: number, cols: number, dPred: Float32Array | null, gradScale: number): number;
  readonly fusedActivation?: string;
  preActivationGrad?(pred: Float32Array, labels: Float32Array, rows: number, cols: number, dz: Float32Array, gradScale: number): void;
}

function clipP(p: number): number {
  return p < EPSILON ? EPSILON : p > 1 - EPSILON ? 1 - EPSILON : p;
}

const categoricalCrossentropy: LossKernel = {
  name: 'categorical_crossentropy',
  labelWidth: (cols) => cols,
  fusedActivation: 'softmax',
  compute(pred, y, rows, cols, dPred, gradScale) {
    let total = 0;
    for (let r = 0, o = 0; r < rows; r++, o += cols) {
      for (let j = 0; j < cols; j++) {
        const t = y[o + j]!;
        const p = pred[o + j]!;
        if (t !== 0) total -= t * Math.log(clipP(p));
        if (dPred) dPred[o + j] = p > EPSILON && p < 1 - EPSILON ? (-t / p) * gradScale : 0;
      }
    }
    return total;
  },
  preActivationGrad(pred, y, rows, cols, dz, gradScale) {
    for (let r = 0, o = 0; r < rows; r++, o += cols) {
      let ysum = 0;
      for (let j = 0; j < cols; j++) ysum += y[o + j]!;
      for (let j = 0; j < cols; j++) dz[o + j] = (pred[o + j]! * ysum - y[o + j]!) * gradScale;
    }
  },
};

const sparseCategoricalCrossentropy: LossKernel = {
  name: 'sparse_categorical_crossentropy',
  labelWidth: () => 1,
  fusedActivation: 'softmax',
  compute(pred, y, rows, cols, dPred, gradScale) {
    let total = 0;
    if (dPred) dPred.fill(0, 0, rows * cols);
    for (let r = 0, o = 0; r < rows; r++, o += cols) {
      const k = y[r]!;
      const p = pred[o + k]!;
      total -= Math.log(clipP(p));
      if (dPred && p > EPSILON && p < 1 - EPSILON) dPred[o + k] = (-1 / p) * gradScale;
    }
    return total;
  },
  preActivationGrad(pred, y, rows, cols, dz, gradScale) {
    for (let r = 0, o = 0; r < rows; r++, o += cols) {
      const k = y[r]!;
      for (let j = 0; j < cols; j++) dz[o + j] = (pred[o + j]! - (j === k ? 1 : 0)) * gradScale;
    }
  },
};

const binaryCrossentropy: LossKernel = {
  name: 'binary_crossentropy',
  labelWidth: (cols) => cols,
  fusedActivation: 'sigmoid',
  compute(pred, y, rows, cols, dPred, gradScale) {
    let total = 0;
    const s = gradScale / cols;
    for (let r = 0, o = 0; r < rows; r++, o += cols) {
      let row = 0;
      for (let j = 0; j < cols; j++) {
        const t = y[o + j]!;
        const raw = pred[o + j]!;
        const p = clipP(raw);
        row -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
        if (dPred) dPred[o + j] = raw === p ? ((p - t) / (p * (1 - p))) * s : 0;
      }
      total += row / cols;
    }
    return total;
  },
  preActivationGrad(pred, y, rows, cols, dz, gradScale) {
    const s = gradScale / cols;
    const n = rows * cols;
    for (let i = 0; i < n; i++) dz[i] = (pred[i]! - y[i]!) * s;
  },
};

const meanSquaredError: LossKernel = {
  name: 'mean_squared_error',
  labelWidth: (cols) => cols,
  compute(pred, y, rows, cols, dPred, gradScale) {
    let total = 0;
    const s = (2 * gradScale) / cols;
    for (let r = 0, o = 0; r < rows; r++, o += cols) {
      let row = 0;
      for (let j = 0; j < cols; j++) {
        const d = pred[o + j]! - y[o + j]!;
        row += d * d;
        if (dPred) dPred[o + j] = d * s;
      }
      total += row / cols;
    }
    return total;
  },
};

const meanAbsoluteError: LossKernel = {
  name: 'mean_absolute_error',
  labelWidth: (cols) => cols,
  compute(pred, y, rows, cols, dPred, gradScale) {
    let total = 0;
    const s = gradScale / cols;
    for (let r = 0, o = 0; r < rows; r++, o += cols) {
      let row = 0;
      for (let j = 0; j < cols; j++) {
        const d = pred[o + j]! - y[o + j]!;
        row += Math.abs(d);
        if (dPred) dPred[o + j] = (d > 0 ? 1 : d < 0 ? -1 : 0) * s;
      }
      total += row / cols;
    }
    return total;
  },
};

const lossTable: Record<string, LossKernel> = {
  categorical_crossentropy: categoricalCrossentropy,
  sparse_categorical_crossentropy: sparseCategoricalCrossentropy,
  binary_crossentropy: binaryCrossentropy,
  mean_squared_error: meanSquaredError,
  mse: meanSquaredError,
  mean_absolute_error: meanAbsoluteError,
  mae: meanAbsoluteError,
};

export const lossNames: readonly string[] = Object.freeze(Object.keys(lossTable));

/** A loss by its Keras name (`'mse'` and `'mae'` are aliases); unknown names list the known ones. */
export function getLoss(name: string): LossKernel {
  const l = typeof name === 'string' && Object.prototype.hasOwnProperty.call(lossTable, name) ? lossTable[name] : undefined;
  if (!l) throw new Error(`Unknown loss '${String(name)}'. Known: ${lossNames.join(', ')}`);
  return l;
}

/**
 * The typed form of a loss (Keras's `keras.losses.CategoricalCrossentropy()`): `compile` and
 * `metrics` take one wherever they take the loss's name.
 */
export abstract class Loss {
  abstract readonly name: string;
}
export class CategoricalCrossentropy extends Loss { readonly name = 'categorical_crossentropy'; }
export class SparseCategoricalCrossentropy extends Loss { readonly name = 'sparse_categorical_crossentropy'; }
export class BinaryCrossentropy extends Loss { readonly name = 'binary_crossentropy'; }
export class MeanSquaredError extends Loss { readonly name = 'mean_squared_error'; }
export class MeanAbsoluteError extends Loss { readonly name = 'mean_absolute_error'; }
