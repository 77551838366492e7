/** Nadam, Adam with Nesterov momentum and Keras 3's momentum schedule (0.96^t); Dozat, 2016, "Incorporating Nesterov Momentum into Adam", ICLR workshop. */
import { checkRange, checkSlot, checkStep, Optimizer } from './optimizer.js';
import { atLeast, resolveOptions, unitInterval, type OptionSchema } from './options.js';

/** Nadam's full config. */
export type NadamConfig = { learningRate: number; beta1: number; beta2: number; epsilon: number };
/** Nadam's options; each defaults to Keras's value. */
export type NadamOptions = Partial<NadamConfig>;

const SCHEMA: OptionSchema<NadamConfig> = {
  learningRate: atLeast(0.001, 0),
  beta1: unitInterval(0.9),
  beta2: unitInterval(0.999),
  epsilon: atLeast(1e-7, 0, false),
};

/** Keras's momentum schedule: `u_t = beta1 * (1 - 0.5 * 0.96^t)`. */
export function nadamMomentum(t: number, beta1: number): number {
  return beta1 * (1 - 0.5 * Math.pow(0.96, t));
}

/**
 * `u_1 * u_2 * ... * u_t` (1 for t = 0), multiplied in that order: Keras keeps it in a variable
 * updated once per step; here it is a function of `t`, so any thread or a resumed run gets it
 * without extra state.
 */
export function nadamMomentumProduct(t: number, beta1: number): number {
  let product = 1;
  for (let i = 1; i <= t; i++) product *= nadamMomentum(i, beta1);
  return product;
}

/**
 * Nadam over `param[from..to)` at step `t` (1-based), with `uProduct = u_1 * ... * u_t`
 * (`nadamMomentumProduct(t, beta1)`, computed when omitted): `m += (g - m) * (1 - beta1)`,
 * `v += (g² - v) * (1 - beta2)`,
 * `mHat = u_{t+1} * m / (1 - uProduct * u_{t+1}) + (1 - u_t) * g / (1 - uProduct)`,
 * `vHat = v / (1 - beta2^t)`, `p -= lr * mHat / (sqrt(vHat) + eps)`.
 */
export function nadamUpdate(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  from: number,
  to: number,
  t: number,
  hyper: Readonly<NadamConfig>,
  uProduct?: number,
): void {
  checkRange('nadamUpdate', from, to, param, grad);
  checkSlot('nadamUpdate', 'momentum', m, to);
  checkSlot('nadamUpdate', 'velocity', v, to);
  checkStep('nadamUpdate', t);
  const { learningRate: lr, beta1, beta2, epsilon: eps } = hyper;
  const product = uProduct ?? nadamMomentumProduct(t, beta1);
  const uT = nadamMomentum(t, beta1);
  const uNext = nadamMomentum(t + 1, beta1);
  const mScale = uNext / (1 - product * uNext);
  const gScale = (1 - uT) / (1 - product);
  const vCorrection = 1 - Math.pow(beta2, t);
  const oneMinusBeta1 = 1 - beta1;
  const oneMinusBeta2 = 1 - beta2;
  for (let i = from; i < to; i++) {
    const g = grad[i]!;
    const mi = m[i]! + (g - m[i]!) * oneMinusBeta1;
    const vi = v[i]! + (g * g - v[i]!) * oneMinusBeta2;
    m[i] = mi;
    v[i] = vi;
    const mHat = mScale * mi + gScale * g;
    param[i] = param[i]! - (mHat * lr) / (Math.sqrt(vi / vCorrection) + eps);
  }
}

/** Nadam: `new Nadam({ learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 })`. */
export class Nadam extends Optimizer {
  override readonly name = 'nadam';
  override readonly className = 'Nadam';
  override readonly config: Readonly<NadamConfig>;
  override readonly slotNames: readonly string[] = ['momentum', 'velocity'];
  // The running product for the last step seen: consecutive steps cost one multiply, and the
  // product is the same bits as nadamMomentumProduct (same factors, same order).
  private productStep = 0;
  private product = 1;

  constructor(options: NadamOptions = {}) {
    super();
    this.config = resolveOptions('Nadam', options, SCHEMA);
  }

  private momentumProduct(t: number): number {
    checkStep('Nadam.updateRange', t);
    if (t === this.productStep + 1) {
      this.product *= nadamMomentum(t, this.config.beta1);
      this.productStep = t;
    } else if (t !== this.productStep) {
      this.product = nadamMomentumProduct(t, this.config.beta1);
      this.productStep = t;
    }
    return this.product;
  }

  override updateRange(param: Float32Array, grad: Float32Array, slots: readonly Float32Array[], from: number, to: number, t: number): void {
    nadamUpdate(param, grad, slots[0]!, slots[1]!, from, to, t, this.config, this.momentumProduct(t));
  }
}
