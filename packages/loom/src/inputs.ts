import { Dataset, checkFinite } from '@loom/data';
import { Tensor, formatShape, tensor, type NestedArray } from '@loom/tensor';

/** What `fit`, `evaluate` and `predict` accept as features or labels. */
export type InputData = Tensor | Float32Array | ArrayLike<number> | NestedArray | Dataset;

/** Flat float32 rows and their per-sample shape. */
export interface Rows {
  data: Float32Array;
  rows: number;
  sampleShape: number[];
}

/**
 * Converts features (`part` 'x') or labels ('y') to flat rows. A flat array (Float32Array or numbers) is cut into samples of
 * `sampleSize` (the model's input size, when known); nested arrays and tensors keep their shape.
 */
export function toRows(value: unknown, argName: string, part: 'x' | 'y', sampleSize?: number): Rows {
  let t: Tensor;
  if (value instanceof Dataset) {
    if (part === 'y' && !value.y) throw new TypeError(`${argName}: the Dataset has no labels`);
    t = part === 'y' ? value.y! : value.x;
  }
  else if (value instanceof Tensor) t = value;
  else if (value instanceof Float32Array || (ArrayBuffer.isView(value) && !(value instanceof DataView)) || (Array.isArray(value) && !Array.isArray(value[0]))) {
    const arr = value as ArrayLike<number>;
    const data = value instanceof Float32Array ? value : Float32Array.from(arr);
    const width = sampleSize ?? 1;
    if (data.length % width !== 0) {
      throw new RangeError(`${argName}: ${data.length} values are not a whole number of samples of ${width} features`);
    }
    t = new Tensor(data, width === 1 ? [data.length / width] : [data.length / width, width]);
  } else if (Array.isArray(value)) {
    t = tensor(value as NestedArray);
  } else {
    throw new TypeError(`${argName} must be a Tensor, a Float32Array, nested number arrays or a Dataset, got ${value === null ? 'null' : typeof value}`);
  }
  if (t.rank < 1) throw new RangeError(`${argName} must have a sample dimension, got shape ${formatShape(t.shape)}`);
  return { data: t.data, rows: t.shape[0]!, sampleShape: t.shape.slice(1) };
}

/** Throws unless every value is finite, naming the argument and the first bad position. */
export function assertFinite(rows: Rows, argName: string): void {
  checkFinite(rows.data, argName);
}

/** Per-sample features and labels checked against the model and the loss, before any step. */
export function checkFeatures(x: Rows, inputShape: readonly number[] | undefined, argName = 'x'): void {
  if (!inputShape) return;
  const want = inputShape.reduce((p, d) => p * d, 1);
  const got = x.sampleShape.reduce((p, d) => p * d, 1);
  // An image model takes images: the same number of values as flat rows is not the same input.
  if (inputShape.length > 1 && x.sampleShape.join() !== inputShape.join()) {
    throw new RangeError(
      `${argName}: samples of shape ${formatShape(x.sampleShape)}, but the model's input shape is ${formatShape(inputShape)}` +
      (x.sampleShape.length === 1 && want === got ? ` (flat rows: reshape them, or load MNIST with loadMnist({ shape: 'image' }), which gives [28, 28, 1])` : ''),
    );
  }
  if (want !== got) {
    throw new RangeError(
      `${argName}: each sample has ${got} features (shape ${formatShape(x.sampleShape)}), but the model's input shape is ${formatShape(inputShape)} (${want} features)`,
    );
  }
}

export function checkLabels(y: Rows, loss: string, outputSize: number, argName = 'y'): void {
  const width = y.sampleShape.reduce((p, d) => p * d, 1);
  if (loss === 'sparse_categorical_crossentropy') {
    if (width !== 1) {
      throw new RangeError(`${argName}: sparse_categorical_crossentropy takes one class index per sample, got samples of shape ${formatShape(y.sampleShape)}`);
    }
    for (let i = 0; i < y.data.length; i++) {
      const v = y.data[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= outputSize) {
        throw new RangeError(`${argName}: label ${v} at index ${i} is not a class index in [0, ${outputSize}) (the model has ${outputSize} outputs)`);
      }
    }
    return;
  }
  if (width !== outputSize) {
    throw new RangeError(
      `${argName}: each label has ${width} values (shape ${formatShape(y.sampleShape)}), but the model outputs ${outputSize}` +
        (loss === 'categorical_crossentropy' && width === 1 ? ' (one-hot encode with toCategorical, or use sparse_categorical_crossentropy)' : ''),
    );
  }
}

/** Validates a positive integer option, naming it. */
export function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function nonNegativeInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}
