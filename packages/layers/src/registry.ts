import { Activation, type ActivationConfig } from './activation-layer.js';
import { Dense, type DenseConfig } from './dense.js';
import { Dropout, type DropoutConfig } from './dropout.js';
import { Flatten, type FlattenConfig } from './flatten.js';
import type { Layer, LayerConfig } from './layer.js';
import { Maxout, type MaxoutConfig } from './maxout.js';

/** What a checkpoint stores per layer: its class name and `getConfig()`. */
export interface LayerRecord {
  className: string;
  config: LayerConfig;
}

type LayerConstructor = new (config: never) => Layer;

// Explicit registration by class name (Keras's serialization registry): loading a model
// never guesses a layer's type.
const registry = new Map<string, LayerConstructor>([
  ['Dense', Dense],
  ['Activation', Activation],
  ['Dropout', Dropout],
  ['Flatten', Flatten],
  ['Maxout', Maxout],
]);

/** Makes a custom layer class loadable from checkpoints. */
export function registerLayer(className: string, ctor: LayerConstructor): void {
  registry.set(className, ctor);
}

export function serializeLayer(layer: Layer): LayerRecord {
  return { className: layer.className, config: layer.getConfig() };
}

export function deserializeLayer(record: LayerRecord): Layer {
  const ctor = registry.get(record.className);
  if (!ctor) {
    throw new Error(`Unknown layer class '${record.className}'. Known: ${[...registry.keys()].join(', ')}`);
  }
  return new ctor(record.config as never);
}

/** Keras-style factories: `layers.dense({ units: 10, activation: 'softmax' })`. */
export const layers = {
  dense: (config: DenseConfig): Dense => new Dense(config),
  activation: (config: ActivationConfig): Activation => new Activation(config),
  dropout: (config: DropoutConfig): Dropout => new Dropout(config),
  flatten: (config: FlattenConfig = {}): Flatten => new Flatten(config),
  maxout: (config: MaxoutConfig): Maxout => new Maxout(config),
};
