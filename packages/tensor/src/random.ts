import { allocFloat32 } from './allocator.js';
import { assertShape, sizeOf, type Shape } from './shape.js';
import { Tensor } from './tensor.js';

/**
 * A counter-based generator: the n-th number is a pure hash of (seed, n), so the state is just
 * two integers that a checkpoint can store, and any element can be drawn without the ones before
 * it (dropout masks keyed by step and sample index do not depend on how a batch is sharded).
 */

/** Mixes three 32-bit words into one (a murmur3-style finalizer chained over the keys). */
export function hash3(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ b, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h ^ Math.imul(c, 0x27d4eb2f), 0x165667b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const TWO_POW_32 = 4294967296;

/** A uniform number in [0, 1) that depends only on its three keys. */
export function uniformAt(seed: number, k1: number, k2: number): number {
  return hash3(seed | 0, k1 | 0, k2 | 0) / TWO_POW_32;
}

/** What a checkpoint stores to continue a generator exactly. */
export interface RandomState {
  seed: number;
  counter: number;
}

/** Seeded uniform and normal numbers; `getState`/`setState` save and restore it exactly. */
export class Random {
  private seed: number;
  private counter = 0;

  constructor(seed = 0) {
    if (!Number.isFinite(seed)) throw new RangeError(`Random: seed must be a finite number, got ${seed}`);
    this.seed = seed >>> 0;
  }

  /** A 32-bit unsigned integer. */
  nextUint32(): number {
    const c = this.counter++;
    // The counter can exceed 2^32 in long runs; its high word becomes the second key.
    return hash3(this.seed, c >>> 0, Math.floor(c / TWO_POW_32));
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Standard normal, by Box–Muller (pairs are not cached, so the state is just the counter). */
  normal(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  getState(): RandomState {
    return { seed: this.seed, counter: this.counter };
  }

  setState(state: RandomState): void {
    this.seed = state.seed >>> 0;
    this.counter = state.counter;
  }
}

let globalRandom = new Random(Date.now() >>> 0);

/** Fixes the generator behind weight initialization and the creation functions (Keras's `set_random_seed`). */
export function setSeed(seed: number): void {
  globalRandom = new Random(seed);
}

/** The process-wide generator used when no `Random` is passed. */
export function getGlobalRandom(): Random {
  return globalRandom;
}

/** A tensor of uniform numbers in [minval, maxval). */
export function randomUniform(shape: Shape, minval = 0, maxval = 1, rng: Random = globalRandom): Tensor {
  assertShape(shape, 'shape');
  const data = allocFloat32(sizeOf(shape));
  const span = maxval - minval;
  for (let i = 0; i < data.length; i++) data[i] = minval + span * rng.uniform();
  return new Tensor(data, shape);
}

/** A tensor of normal numbers with the given mean and standard deviation. */
export function randomNormal(shape: Shape, mean = 0, stddev = 1, rng: Random = globalRandom): Tensor {
  assertShape(shape, 'shape');
  const data = allocFloat32(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = mean + stddev * rng.normal();
  return new Tensor(data, shape);
}

/** Normal numbers redrawn until within two standard deviations, as Keras's `TruncatedNormal`. */
export function truncatedNormal(shape: Shape, mean = 0, stddev = 1, rng: Random = globalRandom): Tensor {
  assertShape(shape, 'shape');
  const data = allocFloat32(sizeOf(shape));
  for (let i = 0; i < data.length; i++) {
    let z = rng.normal();
    while (z < -2 || z > 2) z = rng.normal();
    data[i] = mean + stddev * z;
  }
  return new Tensor(data, shape);
}

/** A permutation of 0..n-1 (Fisher–Yates) written into `out`, drawn from `rng`. */
export function permutation(n: number, rng: Random, out: Uint32Array = new Uint32Array(n)): Uint32Array {
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}
