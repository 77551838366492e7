/** SGD with optional (Nesterov) momentum, Keras 3's rule; momentum as in Sutskever et al., 2013, "On the importance of initialization and momentum in deep learning". */
import { checkRange, checkSlot, Optimizer } from './optimizer.js';
import { atLeast, flag, resolveOptions, unitInterval, type OptionSchema } from './options.js';

/** SGD's full config. */
export type SGDConfig = { learningRate: number; momentum: number; nesterov: boolean };
/** SGD's options; each defaults to Keras's value. */
export type SGDOptions = Partial<SGDConfig>;

const SCHEMA: OptionSchema<SGDConfig> = {
  learningRate: atLeast(0.01, 0),
  momentum: unitInterval(0),
  nesterov: flag(false),
};

/**
 * SGD over `param[from..to)`. With `momentum` 0: `p -= lr * g` (no slot needed). Otherwise, with
 * the velocity slot `v`: `v = momentum * v - lr * g`, then `p += v`, or with `nesterov`
 * `p += momentum * v - lr * g`.
 */
export function sgdUpdate(
  param: Float32Array,
  grad: Float32Array,
  from: number,
  to: number,
  hyper: Readonly<SGDConfig>,
  velocity?: Float32Array,
): void {
  checkRange('sgdUpdate', from, to, param, grad);
  const lr = hyper.learningRate;
  const mu = hyper.momentum;
  if (mu === 0) {
    for (let i = from; i < to; i++) param[i] = param[i]! - lr * grad[i]!;
    return;
  }
  checkSlot('sgdUpdate', 'momentum', velocity, to);
  const nesterov = hyper.nesterov;
  for (let i = from; i < to; i++) {
    const g = grad[i]!;
    const v = mu * velocity[i]! - lr * g;
    velocity[i] = v;
    param[i] = nesterov ? param[i]! + (mu * v - lr * g) : param[i]! + v;
  }
}

/** Gradient descent with optional momentum: `new SGD({ learningRate: 0.01, momentum: 0.9, nesterov: true })`. */
export class SGD extends Optimizer {
  override readonly name = 'sgd';
  override readonly className = 'SGD';
  override readonly config: Readonly<SGDConfig>;
  /** Keras keeps a `momentum` slot only when momentum is not 0. */
  override readonly slotNames: readonly string[];

  constructor(options: SGDOptions = {}) {
    super();
    this.config = resolveOptions('SGD', options, SCHEMA);
    this.slotNames = this.config.momentum === 0 ? [] : ['momentum'];
  }

  override updateRange(param: Float32Array, grad: Float32Array, slots: readonly Float32Array[], from: number, to: number): void {
    sgdUpdate(param, grad, from, to, this.config, slots[0]);
  }
}
