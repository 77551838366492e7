/** Shared test helpers (not part of the package: tsc builds src/ only). */
import { expect } from 'vitest';
import type { Optimizer } from '../src/index.js';

/** Rounds to float32, as storing into a Float32Array does. */
export const f32 = Math.fround;

/** Starting parameters for the hand-computed 3-step tests. */
export const P0: readonly number[] = [0.5, -1.5, 2, 0.25];

/** Gradients of steps 1, 2, 3: mixed signs, a zero, and a sign change between steps. */
export const GRADS: readonly (readonly number[])[] = [
  [0.1, -0.2, 0.3, 0],
  [-0.05, 0.4, 0.3, 0.2],
  [0.2, 0.1, -0.6, -0.1],
];

/** Applies `GRADS` (or the given ones) to one parameter starting at `P0`, through `opt.apply`. */
export function runSteps(opt: Optimizer, grads: readonly (readonly number[])[] = GRADS, start: readonly number[] = P0): Float32Array {
  const param = Float32Array.from(start);
  for (const g of grads) opt.apply([param], [Float32Array.from(g)]);
  return param;
}

/**
 * Element-wise comparison with a relative tolerance: the hand computation and the implementation
 * round to float32 at slightly different points, so they may differ in the last bit or two.
 */
export function expectClose(actual: ArrayLike<number>, expected: readonly number[], rel = 1e-6, label = 'value'): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const tolerance = rel * Math.max(Math.abs(e), 1e-30);
    expect(Math.abs(a - e), `${label}[${i}]: got ${a}, expected ${e}`).toBeLessThanOrEqual(tolerance);
  }
}

/** Same bits (NaN payloads included): the sharding and resume tests need equality, not closeness. */
export function expectSameBits(actual: Float32Array, expected: Float32Array, label = 'value'): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) expect.fail(`${label}[${i}]: got ${actual[i]}, expected ${expected[i]} (bits differ)`);
  }
}
