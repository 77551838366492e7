import { Random, getGlobalRandom } from '@loom/tensor';
import { identifierOf, type Identified } from './identifiers.js';

/**
 * Keras's weight initializers by name. Fan-in and fan-out follow Keras: for a kernel of shape
 * [in, out], fanIn = in and fanOut = out. All draw from the seeded global generator
 * (`setSeed`), so the same seed gives the same initial weights.
 */
export type Initializer = (out: Float32Array, shape: readonly number[], rng: Random) => void;

function fans(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0]!, shape[0]!];
  const receptive = shape.slice(0, -2).reduce((p, d) => p * d, 1);
  return [shape[shape.length - 2]! * receptive, shape[shape.length - 1]! * receptive];
}

function uniform(limit: number): Initializer {
  return (out, _shape, rng) => {
    for (let i = 0; i < out.length; i++) out[i] = (2 * rng.uniform() - 1) * limit;
  };
}

/** Normal truncated at two standard deviations, rescaled as Keras's VarianceScaling does. */
function truncated(stddev: number): Initializer {
  const s = stddev / 0.87962566103423978;
  return (out, _shape, rng) => {
    for (let i = 0; i < out.length; i++) {
      let z = rng.normal();
      while (z < -2 || z > 2) z = rng.normal();
      out[i] = z * s;
    }
  };
}

function varianceScaling(scale: number, mode: 'fan_in' | 'fan_out' | 'fan_avg', distribution: 'uniform' | 'normal'): (shape: readonly number[]) => Initializer {
  return (shape) => {
    const [fanIn, fanOut] = fans(shape);
    const n = mode === 'fan_in' ? fanIn : mode === 'fan_out' ? fanOut : (fanIn + fanOut) / 2;
    const variance = scale / Math.max(1, n);
    return distribution === 'uniform' ? uniform(Math.sqrt(3 * variance)) : truncated(Math.sqrt(variance));
  };
}

const table: Record<string, (shape: readonly number[]) => Initializer> = {
  zeros: () => (out) => out.fill(0),
  ones: () => (out) => out.fill(1),
  glorot_uniform: varianceScaling(1, 'fan_avg', 'uniform'),
  glorot_normal: varianceScaling(1, 'fan_avg', 'normal'),
  he_uniform: varianceScaling(2, 'fan_in', 'uniform'),
  he_normal: varianceScaling(2, 'fan_in', 'normal'),
  lecun_uniform: varianceScaling(1, 'fan_in', 'uniform'),
  lecun_normal: varianceScaling(1, 'fan_in', 'normal'),
  random_normal: () => (out, _s, rng) => {
    for (let i = 0; i < out.length; i++) out[i] = 0.05 * rng.normal();
  },
  random_uniform: () => uniform(0.05),
};

export const initializerNames: readonly string[] = Object.freeze(Object.keys(table));

/** Fills `out` (a weight of `shape`) by the named initializer. */
export function initialize(name: string, out: Float32Array, shape: readonly number[], rng: Random = getGlobalRandom()): void {
  const make = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
  if (!make) throw new Error(`Unknown initializer '${name}'. Known: ${initializerNames.join(', ')}`);
  make(shape)(out, shape, rng);
}

/** Throws unless `name` is a known initializer (checked when a layer is configured). */
export function checkInitializer(name: string, argName: string): void {
  if (!initializerNames.includes(name)) {
    throw new Error(`Unknown ${argName} '${name}'. Known: ${initializerNames.join(', ')}`);
  }
}

/**
 * A layer's initializer option: the name (or typed form) given, else `fallback`, checked against
 * the known names; `argName` ("kernelInitializer of dense_1") labels the error.
 */
export function initializerOption(value: string | Identified | undefined, fallback: string, argName: string): string {
  const name = identifierOf(value ?? fallback, argName);
  checkInitializer(name, argName);
  return name;
}

/** The typed form of an initializer (Keras's `keras.initializers.HeNormal()`); layers take it wherever they take the name. */
export abstract class InitializerSpec {
  abstract readonly name: string;
}
export class Zeros extends InitializerSpec { readonly name = 'zeros'; }
export class Ones extends InitializerSpec { readonly name = 'ones'; }
export class GlorotUniform extends InitializerSpec { readonly name = 'glorot_uniform'; }
export class GlorotNormal extends InitializerSpec { readonly name = 'glorot_normal'; }
export class HeUniform extends InitializerSpec { readonly name = 'he_uniform'; }
export class HeNormal extends InitializerSpec { readonly name = 'he_normal'; }
export class LecunUniform extends InitializerSpec { readonly name = 'lecun_uniform'; }
export class LecunNormal extends InitializerSpec { readonly name = 'lecun_normal'; }
export class RandomNormal extends InitializerSpec { readonly name = 'random_normal'; }
export class RandomUniform extends InitializerSpec { readonly name = 'random_uniform'; }
