import { Activation, type ActivationConfig } from './activation-layer.js';
import { Dense, type DenseConfig } from './dense.js';
import { Dropout, type DropoutConfig } from './dropout.js';
import { Flatten, type FlattenConfig } from './flatten.js';
import type { Layer, LayerConfig } from './layer.js';
import { Maxout, type MaxoutConfig } from './maxout.js';
import { Conv2D, type Conv2DConfig } from './conv2d.js';
import { AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D, type GlobalAveragePooling2DConfig, type Pooling2DConfig } from './pooling.js';
import { BatchNormalization, type BatchNormalizationConfig } from './batch-norm.js';

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
  ['Conv2D', Conv2D],
  ['MaxPooling2D', MaxPooling2D],
  ['AveragePooling2D', AveragePooling2D],
  ['GlobalAveragePooling2D', GlobalAveragePooling2D],
  ['BatchNormalization', BatchNormalization],
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
  conv2d: (config: Conv2DConfig): Conv2D => new Conv2D(config),
  maxPooling2d: (config: Pooling2DConfig = {}): MaxPooling2D => new MaxPooling2D(config),
  averagePooling2d: (config: Pooling2DConfig = {}): AveragePooling2D => new AveragePooling2D(config),
  globalAveragePooling2d: (config: GlobalAveragePooling2DConfig = {}): GlobalAveragePooling2D => new GlobalAveragePooling2D(config),
  batchNormalization: (config: BatchNormalizationConfig = {}): BatchNormalization => new BatchNormalization(config),
};
