/** Adadelta, Keras 3's rule (with a learning rate, default 0.001); Zeiler, 2012, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701. */
import { checkRange, checkSlot, Optimizer } from './optimizer.js';
import { atLeast, resolveOptions, unitInterval, type OptionSchema } from './options.js';

/** Adadelta's full config. */
export type AdadeltaConfig = { learningRate: number; rho: number; epsilon: number };
/** Adadelta's options; each defaults to Keras's value. */
export type AdadeltaOptions = Partial<AdadeltaConfig>;

const SCHEMA: OptionSchema<AdadeltaConfig> = {
  learningRate: atLeast(0.001, 0),
  rho: unitInterval(0.95),
  epsilon: atLeast(1e-7, 0, false),
};

/**
 * Adadelta over `param[from..to)`: `Eg = rho * Eg + (1 - rho) * g²`;
 * `d = -sqrt(Ed + eps) * g / sqrt(Eg + eps)`; `Ed = rho * Ed + (1 - rho) * d²`; `p += lr * d`.
 */
export function adadeltaUpdate(
  param: Float32Array,
  grad: Float32Array,
  accumulatedGrad: Float32Array,
  accumulatedDelta: Float32Array,
  from: number,
  to: number,
  hyper: Readonly<AdadeltaConfig>,
): void {
  checkRange('adadeltaUpdate', from, to, param, grad);
  checkSlot('adadeltaUpdate', 'accumulated_grad', accumulatedGrad, to);
  checkSlot('adadeltaUpdate', 'accumulated_delta_var', accumulatedDelta, to);
  const { learningRate: lr, rho, epsilon: eps } = hyper;
  const oneMinusRho = 1 - rho;
  for (let i = from; i < to; i++) {
    const g = grad[i]!;
    const eg = rho * accumulatedGrad[i]! + oneMinusRho * g * g;
    accumulatedGrad[i] = eg;
    const delta = -((Math.sqrt(accumulatedDelta[i]! + eps) * g) / Math.sqrt(eg + eps));
    accumulatedDelta[i] = rho * accumulatedDelta[i]! + oneMinusRho * delta * delta;
    param[i] = param[i]! + lr * delta;
  }
}

/** Adadelta: `new Adadelta({ learningRate: 1.0, rho: 0.95, epsilon: 1e-7 })` (1.0 is the paper's form). */
export class Adadelta extends Optimizer {
  override readonly name = 'adadelta';
  override readonly className = 'Adadelta';
  override readonly config: Readonly<AdadeltaConfig>;
  override readonly slotNames: readonly string[] = ['accumulated_grad', 'accumulated_delta_var'];

  constructor(options: AdadeltaOptions = {}) {
    super();
    this.config = resolveOptions('Adadelta', options, SCHEMA);
  }

  override updateRange(param: Float32Array, grad: Float32Array, slots: readonly Float32Array[], from: number, to: number): void {
    adadeltaUpdate(param, grad, slots[0]!, slots[1]!, from, to, this.config);
  }
}
