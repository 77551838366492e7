/** loom: the Keras-style entry point. Re-exports the public API of every Loom package. */
export { Sequential, type SaveOptions, type CompileOptions, type FitOptions, type EvaluateOptions, type TrainingProgress } from './model.js';
export { Callback, CallbackList, History, LambdaCallback, EarlyStopping, type Logs, type CallbackHooks, type EarlyStoppingOptions } from './callbacks.js';
export type { TrainingModel } from './training-model.js';
export { ProgressBar } from './progress.js';
export { loadModel, modelFromCheckpointBytes, ModelCheckpoint, inspectCheckpoint, latestCheckpoint, toCheckpointRecord, fromCheckpointRecord, saveModelSync, CheckpointError, type ModelCheckpointOptions } from './checkpointing.js';
export type { InputData } from './inputs.js';
export { toInteropModel } from './interop-record.js';
export { fromInteropModel } from './interop.js';
export { InteropError, writeTfjsModel, readTfjsModel, type InteropErrorKind, type InteropModel } from '@loom/interop';
/** The whole `@loom/interop` package (the formats over plain records), for code that depends on `@loom/loom` alone, such as the CLI. */
export * as interop from '@loom/interop';
export { fitScaling, applyScaling, assertScalingMethod, scalingMethods, type FeatureScaling, type ScalingMethod } from '@loom/data';
export {
  layers, Layer, Dense, Activation, Dropout, Flatten, Maxout, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, BatchNormalization, activationNames, lossNames, metricNames, initializerNames, registerLayer,
  activations, Loss, CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError, MeanAbsoluteError,
  Accuracy, InitializerSpec, Zeros, Ones, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, RandomNormal,
  RandomUniform, type Identified,
} from '@loom/layers';
export { SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam, Optimizer, getOptimizer, optimizerNames } from '@loom/optimizers';
export { Tensor, tensor, zeros, ones, fill, setSeed, randomNormal, randomUniform, matmul } from '@loom/tensor';
export { grad, valueAndGrad } from '@loom/autodiff';
export { loadMnist, readIdx, readCsv, Dataset, toCategorical, normalize } from '@loom/data';
export { defaultWorkers } from '@loom/coordinator';
export { shutdown, processGroupFromEnv } from './distributed.js';
export { initProcessGroup, groupOptionsFromEnv, ProcessGroup, CollectiveError, type GroupOptions } from '@loom/collective';
