/** RMSprop, Keras 3's rule (epsilon inside the square root, optional momentum and centering); Hinton, 2012, Neural Networks for Machine Learning, lecture 6e. */
import { checkRange, checkSlot, Optimizer } from './optimizer.js';
import { atLeast, flag, resolveOptions, unitInterval, type OptionSchema } from './options.js';

/** RMSprop's full config. */
export type RMSpropConfig = { learningRate: number; rho: number; momentum: number; epsilon: number; centered: boolean };
/** RMSprop's options; each defaults to Keras's value. */
export type RMSpropOptions = Partial<RMSpropConfig>;

const SCHEMA: OptionSchema<RMSpropConfig> = {
  learningRate: atLeast(0.001, 0),
  rho: unitInterval(0.9),
  momentum: unitInterval(0),
  epsilon: atLeast(1e-7, 0, false),
  centered: flag(false),
};

/**
 * RMSprop over `param[from..to)`: `v = rho * v + (1 - rho) * g²`; `inc = lr * g / sqrt(v + eps)`
 * (centered: `a = rho * a + (1 - rho) * g`, `inc = lr * g / sqrt(v - a² + eps)`); then
 * `p -= inc`, or with momentum `mom = momentum * mom + inc; p -= mom`. The `momentum` slot is
 * needed when `hyper.momentum > 0`, `averageGradient` when `hyper.centered`.
 */
export function rmspropUpdate(
  param: Float32Array,
  grad: Float32Array,
  velocity: Float32Array,
  from: number,
  to: number,
  hyper: Readonly<RMSpropConfig>,
  momentum?: Float32Array,
  averageGradient?: Float32Array,
): void {
  checkRange('rmspropUpdate', from, to, param, grad);
  checkSlot('rmspropUpdate', 'velocity', velocity, to);
  const { learningRate: lr, rho, epsilon: eps, centered } = hyper;
  const mu = hyper.momentum;
  const useMomentum = mu > 0;
  if (useMomentum) checkSlot('rmspropUpdate', 'momentum', momentum, to);
  if (centered) checkSlot('rmspropUpdate', 'average_gradient', averageGradient, to);
  const oneMinusRho = 1 - rho;
  for (let i = from; i < to; i++) {
    const g = grad[i]!;
    const v = rho * velocity[i]! + oneMinusRho * g * g;
    velocity[i] = v;
    let denominator: number;
    if (centered) {
      const a = rho * averageGradient![i]! + oneMinusRho * g;
      averageGradient![i] = a;
      denominator = v - a * a + eps;
    } else {
      denominator = v + eps;
    }
    const increment = (lr * g) / Math.sqrt(denominator);
    if (useMomentum) {
      const m = mu * momentum![i]! + increment;
      momentum![i] = m;
      param[i] = param[i]! - m;
    } else {
      param[i] = param[i]! - increment;
    }
  }
}

/** RMSprop: `new RMSprop({ learningRate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false })`. */
export class RMSprop extends Optimizer {
  override readonly name = 'rmsprop';
  override readonly className = 'RMSprop';
  override readonly config: Readonly<RMSpropConfig>;
  /** `velocity`, then `momentum` if momentum > 0, then `average_gradient` if centered (Keras's slots). */
  override readonly slotNames: readonly string[];
  private readonly momentumSlot: number;
  private readonly averageSlot: number;

  constructor(options: RMSpropOptions = {}) {
    super();
    this.config = resolveOptions('RMSprop', options, SCHEMA);
    const names = ['velocity'];
    this.momentumSlot = this.config.momentum > 0 ? names.push('momentum') - 1 : -1;
    this.averageSlot = this.config.centered ? names.push('average_gradient') - 1 : -1;
    this.slotNames = names;
  }

  override updateRange(param: Float32Array, grad: Float32Array, slots: readonly Float32Array[], from: number, to: number): void {
    rmspropUpdate(param, grad, slots[0]!, from, to, this.config, slots[this.momentumSlot], slots[this.averageSlot]);
  }
}
