/** Adamax, Adam with the infinity norm, Keras 3's rule; Kingma & Ba, 2014, "Adam: A Method for Stochastic Optimization", arXiv:1412.6980, section 7.1. */
import { checkRange, checkSlot, checkStep, Optimizer } from './optimizer.js';
import { atLeast, resolveOptions, unitInterval, type OptionSchema } from './options.js';

/** Adamax's full config. */
export type AdamaxConfig = { learningRate: number; beta1: number; beta2: number; epsilon: number };
/** Adamax's options; each defaults to Keras's value. */
export type AdamaxOptions = Partial<AdamaxConfig>;

const SCHEMA: OptionSchema<AdamaxConfig> = {
  learningRate: atLeast(0.001, 0),
  beta1: unitInterval(0.9),
  beta2: unitInterval(0.999),
  epsilon: atLeast(1e-7, 0, false),
};

/**
 * Adamax over `param[from..to)` at step `t` (1-based): `m += (g - m) * (1 - beta1)`,
 * `u = max(beta2 * u, |g|)`, `p -= lr * m / ((1 - beta1^t) * (u + eps))`.
 */
export function adamaxUpdate(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  u: Float32Array,
  from: number,
  to: number,
  t: number,
  hyper: Readonly<AdamaxConfig>,
): void {
  checkRange('adamaxUpdate', from, to, param, grad);
  checkSlot('adamaxUpdate', 'momentum', m, to);
  checkSlot('adamaxUpdate', 'norm', u, to);
  checkStep('adamaxUpdate', t);
  const { learningRate: lr, beta1, beta2, epsilon: eps } = hyper;
  const correction = 1 - Math.pow(beta1, t);
  const oneMinusBeta1 = 1 - beta1;
  for (let i = from; i < to; i++) {
    const g = grad[i]!;
    const mi = m[i]! + (g - m[i]!) * oneMinusBeta1;
    const ui = Math.max(beta2 * u[i]!, Math.abs(g));
    m[i] = mi;
    u[i] = ui;
    param[i] = param[i]! - (lr * mi) / (correction * (ui + eps));
  }
}

/** Adamax: `new Adamax({ learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 })`. */
export class Adamax extends Optimizer {
  override readonly name = 'adamax';
  override readonly className = 'Adamax';
  override readonly config: Readonly<AdamaxConfig>;
  override readonly slotNames: readonly string[] = ['momentum', 'norm'];

  constructor(options: AdamaxOptions = {}) {
    super();
    this.config = resolveOptions('Adamax', options, SCHEMA);
  }

  override updateRange(param: Float32Array, grad: Float32Array, slots: readonly Float32Array[], from: number, to: number, t: number): void {
    adamaxUpdate(param, grad, slots[0]!, slots[1]!, from, to, t, this.config);
  }
}
