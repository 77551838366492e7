/** Shape helpers shared by every kernel; errors name the argument and the shapes involved. */

export type Shape = readonly number[];

/** Throws unless every entry of `shape` is a non-negative integer. */
export function assertShape(shape: Shape, argName = 'shape'): void {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${argName} must be an array of non-negative integers, got ${String(shape)}`);
  }
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `${argName} must contain non-negative integers, got [${shape.join(', ')}] (entry ${i} is ${d})`,
      );
    }
  }
}

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/**
 * NumPy broadcasting: dimensions are aligned from the right and must be equal or 1.
 * `op` names the operation in the error message.
 */
export function broadcastShapes(a: Shape, b: Shape, op = 'broadcast'): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast (dimension ${i}: ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Normalizes a possibly negative axis against `rank`. */
export function normalizeAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) {
    throw new RangeError(`${op}: axis must be an integer in [${-rank}, ${rank - 1}], got ${axis}`);
  }
  return a;
}

/**
 * First index of part `index` when `length` items are cut into `parts` contiguous near-equal
 * parts (the first `length % parts` parts get one more); part `index` ends where part
 * `index + 1` starts. A number rather than a pair, so a training step can call it without
 * allocating.
 */
export function partStart(length: number, parts: number, index: number): number {
  const base = Math.floor(length / parts), extra = length % parts;
  return index * base + Math.min(index, extra);
}

/** [from, to) of part `index` of `parts` contiguous near-equal parts of `length` items. */
export function partBounds(length: number, parts: number, index: number): [number, number] {
  return [partStart(length, parts, index), partStart(length, parts, index + 1)];
}
