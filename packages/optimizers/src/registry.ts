/**
 * Optimizers by name, as Keras's `optimizers.get`: `'adam'`, a ready `Optimizer`, or
 * `{ name, config }` (what a checkpoint stores).
 */
import { Adadelta } from './adadelta.js';
import { Adagrad } from './adagrad.js';
import { Adam } from './adam.js';
import { Adamax } from './adamax.js';
import { Nadam } from './nadam.js';
import { Optimizer } from './optimizer.js';
import { formatValue } from './options.js';
import { RMSprop } from './rmsprop.js';
import { SGD } from './sgd.js';

type Factory = (config: Record<string, unknown>) => Optimizer;

// Keyed by Keras's identifier; the class name (`'Adam'`, `'RMSprop'`) is accepted too, as in Keras.
const REGISTRY: ReadonlyMap<string, { className: string; create: Factory }> = new Map([
  ['sgd', { className: 'SGD', create: (c: Record<string, unknown>) => new SGD(c) }],
  ['rmsprop', { className: 'RMSprop', create: (c: Record<string, unknown>) => new RMSprop(c) }],
  ['adagrad', { className: 'Adagrad', create: (c: Record<string, unknown>) => new Adagrad(c) }],
  ['adadelta', { className: 'Adadelta', create: (c: Record<string, unknown>) => new Adadelta(c) }],
  ['adam', { className: 'Adam', create: (c: Record<string, unknown>) => new Adam(c) }],
  ['adamax', { className: 'Adamax', create: (c: Record<string, unknown>) => new Adamax(c) }],
  ['nadam', { className: 'Nadam', create: (c: Record<string, unknown>) => new Nadam(c) }],
]);

/** The Keras identifiers of the optimizers Loom has. */
export const optimizerNames: readonly string[] = Object.freeze([...REGISTRY.keys()]);

function lookup(name: unknown, where: string): Factory {
  if (typeof name === 'string') {
    const byId = REGISTRY.get(name);
    if (byId !== undefined) return byId.create;
    for (const entry of REGISTRY.values()) if (entry.className === name) return entry.create;
  }
  throw new RangeError(`${where}: unknown optimizer ${formatValue(name)}; known optimizers: ${optimizerNames.join(', ')}`);
}

/**
 * Builds an optimizer from its name and config (as `getConfig()` returns it). Missing options
 * take Keras's defaults; unknown options or bad values throw.
 */
export function optimizerFromConfig(name: string, config: Record<string, unknown> = {}): Optimizer {
  return lookup(name, 'optimizerFromConfig')(config);
}

/**
 * Resolves what `compile({ optimizer })` accepts: a Keras identifier (`'adam'`, or the class name
 * `'Adam'`) for the defaults, an `Optimizer` (returned as is), or `{ name, config }`.
 */
export function getOptimizer(identifier: string | Optimizer | { name: string; config?: Record<string, unknown> }): Optimizer {
  if (identifier instanceof Optimizer) return identifier;
  if (typeof identifier === 'string') return lookup(identifier, 'getOptimizer')({});
  if (identifier !== null && typeof identifier === 'object' && typeof identifier.name === 'string') {
    return lookup(identifier.name, 'getOptimizer')(identifier.config ?? {});
  }
  throw new TypeError(
    `getOptimizer: expected an optimizer name (${optimizerNames.join(', ')}), an Optimizer, or { name, config }, got ${formatValue(identifier)}`,
  );
}
