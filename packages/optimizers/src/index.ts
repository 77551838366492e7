/** @loom/optimizers: the seven Keras optimizers over flat Float32Arrays. */
export { Optimizer, type OptimizerConfig, type OptimizerState, type SlotAllocator } from './optimizer.js';
export { SGD, sgdUpdate, type SGDConfig, type SGDOptions } from './sgd.js';
export { RMSprop, rmspropUpdate, type RMSpropConfig, type RMSpropOptions } from './rmsprop.js';
export { Adagrad, adagradUpdate, type AdagradConfig, type AdagradOptions } from './adagrad.js';
export { Adadelta, adadeltaUpdate, type AdadeltaConfig, type AdadeltaOptions } from './adadelta.js';
export { Adam, adamUpdate, type AdamConfig, type AdamOptions } from './adam.js';
export { Adamax, adamaxUpdate, type AdamaxConfig, type AdamaxOptions } from './adamax.js';
export { Nadam, nadamUpdate, nadamMomentum, nadamMomentumProduct, type NadamConfig, type NadamOptions } from './nadam.js';
export { getOptimizer, optimizerFromConfig, optimizerNames } from './registry.js';
