/** Adam, Keras 3's rule (bias correction folded into the step size, "epsilon hat"); Kingma & Ba, 2014, "Adam: A Method for Stochastic Optimization", arXiv:1412.6980. */
import { wasmAdamUpdate } from '@loom/tensor';
import { checkRange, checkSlot, checkStep, Optimizer } from './optimizer.js';
import { atLeast, flag, resolveOptions, unitInterval, type OptionSchema } from './options.js';

/** Adam's full config. */
export type AdamConfig = { learningRate: number; beta1: number; beta2: number; epsilon: number; amsgrad: boolean };
/** Adam's options; each defaults to Keras's value. */
export type AdamOptions = Partial<AdamConfig>;

const SCHEMA: OptionSchema<AdamConfig> = {
  learningRate: atLeast(0.001, 0),
  beta1: unitInterval(0.9),
  beta2: unitInterval(0.999),
  epsilon: atLeast(1e-7, 0, false),
  amsgrad: flag(false),
};

/**
 * Adam over `param[from..to)` at step `t` (1-based): `m += (g - m) * (1 - beta1)`,
 * `v += (g² - v) * (1 - beta2)`, `alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)`,
 * `p -= alpha * m / (sqrt(v) + eps)`. With `amsgrad`, `vHat = max(vHat, v)` replaces `v` in the
 * denominator (the `vHat` slot is then required).
 */
export function adamUpdate(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  from: number,
  to: number,
  t: number,
  hyper: Readonly<AdamConfig>,
  vHat?: Float32Array,
): void {
  checkRange('adamUpdate', from, to, param, grad);
  checkSlot('adamUpdate', 'momentum', m, to);
  checkSlot('adamUpdate', 'velocity', v, to);
  checkStep('adamUpdate', t);
  const { beta1, beta2, epsilon: eps, amsgrad } = hyper;
  if (amsgrad) checkSlot('adamUpdate', 'velocity_hat', vHat, to);
  const alpha = (hyper.learningRate * Math.sqrt(1 - Math.pow(beta2, t))) / (1 - Math.pow(beta1, t));
  const oneMinusBeta1 = 1 - beta1;
  const oneMinusBeta2 = 1 - beta2;
  if (!amsgrad) {
    // The same rule in wasm SIMD (float32) when the engine put these arrays in wasm memory.
    if (wasmAdamUpdate(param, grad, m, v, from, to, alpha, oneMinusBeta1, oneMinusBeta2, eps)) return;
    // The common case gets its own loop: a branch in the body costs ~20% of this pass.
    for (let i = from; i < to; i++) {
      const g = grad[i]!;
      const mi = m[i]! + (g - m[i]!) * oneMinusBeta1;
      const vi = v[i]! + (g * g - v[i]!) * oneMinusBeta2;
      m[i] = mi;
      v[i] = vi;
      param[i] = param[i]! - (mi * alpha) / (Math.sqrt(vi) + eps);
    }
    return;
  }
  for (let i = from; i < to; i++) {
    const g = grad[i]!;
    const mi = m[i]! + (g - m[i]!) * oneMinusBeta1;
    let vi = v[i]! + (g * g - v[i]!) * oneMinusBeta2;
    m[i] = mi;
    v[i] = vi;
    vi = Math.max(vHat![i]!, vi);
    vHat![i] = vi;
    param[i] = param[i]! - (mi * alpha) / (Math.sqrt(vi) + eps);
  }
}

/** Adam: `new Adam({ learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false })`. */
export class Adam extends Optimizer {
  override readonly name = 'adam';
  override readonly className = 'Adam';
  override readonly config: Readonly<AdamConfig>;
  /** `momentum`, `velocity`, and `velocity_hat` with amsgrad (Keras's slots). */
  override readonly slotNames: readonly string[];

  constructor(options: AdamOptions = {}) {
    super();
    this.config = resolveOptions('Adam', options, SCHEMA);
    this.slotNames = this.config.amsgrad ? ['momentum', 'velocity', 'velocity_hat'] : ['momentum', 'velocity'];
  }

  override updateRange(param: Float32Array, grad: Float32Array, slots: readonly Float32Array[], from: number, to: number, t: number): void {
    adamUpdate(param, grad, slots[0]!, slots[1]!, from, to, t, this.config, slots[2]);
  }
}
