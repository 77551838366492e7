/** Adagrad, Keras 3's rule (accumulator starts at 0.1, epsilon inside the square root); Duchi, Hazan & Singer, 2011, "Adaptive Subgradient Methods", JMLR 12. */
import { checkRange, checkSlot, Optimizer } from './optimizer.js';
import { atLeast, resolveOptions, type OptionSchema } from './options.js';

/** Adagrad's full config. */
export type AdagradConfig = { learningRate: number; initialAccumulatorValue: number; epsilon: number };
/** Adagrad's options; each defaults to Keras's value. */
export type AdagradOptions = Partial<AdagradConfig>;

const SCHEMA: OptionSchema<AdagradConfig> = {
  learningRate: atLeast(0.001, 0),
  initialAccumulatorValue: atLeast(0.1, 0),
  epsilon: atLeast(1e-7, 0, false),
};

/** Adagrad over `param[from..to)`: `acc += g²`, `p -= lr * g / sqrt(acc + eps)`. */
export function adagradUpdate(
  param: Float32Array,
  grad: Float32Array,
  accumulator: Float32Array,
  from: number,
  to: number,
  hyper: Readonly<AdagradConfig>,
): void {
  checkRange('adagradUpdate', from, to, param, grad);
  checkSlot('adagradUpdate', 'accumulator', accumulator, to);
  const lr = hyper.learningRate;
  const eps = hyper.epsilon;
  for (let i = from; i < to; i++) {
    const g = grad[i]!;
    const acc = accumulator[i]! + g * g;
    accumulator[i] = acc;
    param[i] = param[i]! - (lr * g) / Math.sqrt(acc + eps);
  }
}

/** Adagrad: `new Adagrad({ learningRate: 0.001, initialAccumulatorValue: 0.1, epsilon: 1e-7 })`. */
export class Adagrad extends Optimizer {
  override readonly name = 'adagrad';
  override readonly className = 'Adagrad';
  override readonly config: Readonly<AdagradConfig>;
  override readonly slotNames: readonly string[] = ['accumulator'];

  constructor(options: AdagradOptions = {}) {
    super();
    this.config = resolveOptions('Adagrad', options, SCHEMA);
  }

  protected override slotInitialValue(): number {
    return this.config.initialAccumulatorValue;
  }

  override updateRange(param: Float32Array, grad: Float32Array, slots: readonly Float32Array[], from: number, to: number): void {
    adagradUpdate(param, grad, slots[0]!, from, to, this.config);
  }
}
