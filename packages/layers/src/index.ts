export { Layer, positiveInt, type BatchStatsBuffer, type LayerConfig, type StepInfo, type WeightSpec } from './layer.js';
export { Dense, type DenseConfig } from './dense.js';
export { Activation, type ActivationConfig } from './activation-layer.js';
export { Dropout, type DropoutConfig } from './dropout.js';
export { Flatten, type FlattenConfig } from './flatten.js';
export { Maxout, type MaxoutConfig } from './maxout.js';
export { Conv2D, type Conv2DConfig } from './conv2d.js';
export { MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, type Pooling2DConfig, type GlobalAveragePooling2DConfig } from './pooling.js';
export { BatchNormalization, type BatchNormalizationConfig } from './batch-norm.js';
export {
  initialize, initializerNames, type Initializer, InitializerSpec, Zeros, Ones, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
  LecunUniform, LecunNormal, RandomNormal, RandomUniform,
} from './initializers.js';
export {
  getLoss, lossNames, EPSILON, type LossKernel, Loss, CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy,
  MeanSquaredError, MeanAbsoluteError,
} from './losses.js';
export { getMetric, metricNames, type MetricKernel, Accuracy } from './metrics.js';
export { identifierOf, type Identified } from './identifiers.js';
export { layers, registerLayer, serializeLayer, deserializeLayer, type LayerRecord } from './registry.js';
export { Sequential, type SequentialConfig, type WeightSlot } from './sequential.js';
export { activationNames, activationKernels as activations } from '@loom/autodiff';
export { checkModelGradient } from './testing.js';
