import { allocFloat32 } from './allocator.js';
import { assertShape, formatShape, sizeOf, type Shape } from './shape.js';

/** Nested arrays of numbers, as users write them: `[[1, 2], [3, 4]]`. */
export type NestedArray = number | readonly NestedArray[];

/**
 * An n-dimensional array of float32: a shape and a contiguous row-major `Float32Array`.
 * The data may be a view on a larger buffer (a shared parameter block); a Tensor never copies
 * on construction.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;

  constructor(data: Float32Array, shape: Shape) {
    assertShape(shape, 'shape');
    if (!(data instanceof Float32Array)) {
      throw new TypeError(`data must be a Float32Array, got ${Object.prototype.toString.call(data)}`);
    }
    const size = sizeOf(shape);
    if (data.length !== size) {
      throw new RangeError(
        `data length ${data.length} does not match shape ${formatShape(shape)} (${size} elements)`,
      );
    }
    this.shape = Object.freeze([...shape]);
    this.data = data;
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** A tensor with the same data and a new shape of the same size (-1 infers one dimension). */
  reshape(shape: Shape): Tensor {
    return new Tensor(this.data, inferShape(shape, this.size));
  }

  /** A deep copy whose data comes from the allocator. */
  clone(): Tensor {
    const data = allocFloat32(this.size);
    data.set(this.data);
    return new Tensor(data, this.shape);
  }

  /** The value of a tensor with exactly one element. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`item() needs a tensor of one element, got shape ${formatShape(this.shape)}`);
    return this.data[0]!;
  }

  /** Nested arrays, for printing and tests. */
  toArray(): NestedArray {
    if (this.rank === 0) return this.data[0]!;
    const build = (dim: number, offset: number): NestedArray[] => {
      const n = this.shape[dim]!;
      const stride = sizeOf(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < n; i++) {
        out.push(dim === this.rank - 1 ? this.data[offset + i]! : build(dim + 1, offset + i * stride));
      }
      return out;
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor(${formatShape(this.shape)})`;
  }
}

function inferShape(shape: Shape, size: number): number[] {
  const out = [...shape];
  const unknown = out.indexOf(-1);
  if (unknown >= 0) {
    const known = out.reduce((p, d, i) => (i === unknown ? p : p * d), 1);
    if (known === 0 || size % known !== 0) {
      throw new RangeError(`reshape: cannot infer -1 in ${formatShape(shape)} for ${size} elements`);
    }
    out[unknown] = size / known;
  }
  assertShape(out, 'shape');
  if (sizeOf(out) !== size) {
    throw new RangeError(`reshape: shape ${formatShape(shape)} has ${sizeOf(out)} elements, the tensor has ${size}`);
  }
  return out;
}

function flattenNested(value: NestedArray, shape: number[], depth: number, out: number[]): void {
  if (typeof value === 'number') {
    if (depth !== shape.length) throw new RangeError(`tensor: ragged nested array at depth ${depth}`);
    out.push(value);
    return;
  }
  if (!Array.isArray(value)) throw new TypeError(`tensor: expected a number or an array, got ${typeof value}`);
  if (depth === shape.length) shape.push(value.length);
  else if (shape[depth] !== value.length) {
    throw new RangeError(`tensor: ragged nested array: length ${value.length} at depth ${depth}, expected ${shape[depth]}`);
  }
  for (const v of value) flattenNested(v, shape, depth + 1, out);
}

/**
 * Creates a tensor from a Float32Array (no copy), any array-like of numbers, or nested arrays.
 * `shape` is required for flat data and inferred from nested arrays.
 */
export function tensor(values: Float32Array | ArrayLike<number> | NestedArray, shape?: Shape): Tensor {
  if (values instanceof Float32Array) {
    return new Tensor(values, shape ?? [values.length]);
  }
  if (typeof values === 'number' || (Array.isArray(values) && values.some((v) => Array.isArray(v)))) {
    const inferred: number[] = [];
    const flat: number[] = [];
    flattenNested(values as NestedArray, inferred, 0, flat);
    const data = allocFloat32(flat.length);
    data.set(flat);
    return new Tensor(data, shape ?? inferred);
  }
  const arr = values as ArrayLike<number>;
  const data = allocFloat32(arr.length);
  for (let i = 0; i < arr.length; i++) data[i] = arr[i]!;
  return new Tensor(data, shape ?? [arr.length]);
}

/** A tensor of zeros. */
export function zeros(shape: Shape): Tensor {
  assertShape(shape, 'shape');
  return new Tensor(allocFloat32(sizeOf(shape)), shape);
}

/** A tensor filled with `value`. */
export function fill(shape: Shape, value: number): Tensor {
  const t = zeros(shape);
  t.data.fill(value);
  return t;
}

/** A tensor of ones. */
export function ones(shape: Shape): Tensor {
  return fill(shape, 1);
}

/** A scalar tensor (shape `[]`). */
export function scalar(value: number): Tensor {
  const data = allocFloat32(1);
  data[0] = value;
  return new Tensor(data, []);
}

/** A tensor with the same shape as `t`, its data from the allocator (zero-filled). */
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape);
}
