export { defineOp, grad, valueAndGrad, isRecording, type OpDefinition } from './tape.js';
export * from './activations.js';
export * from './ops.js';
export { checkGradient, type GradientCheckOptions, type GradientCheckResult } from './gradient-check.js';
