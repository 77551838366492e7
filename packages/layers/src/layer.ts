import { formatShape } from '@loom/tensor';
import { checkInitializer } from './initializers.js';

/** Where a forward pass runs: training or inference, and the keys dropout masks are drawn from. */
export interface StepInfo {
  training: boolean;
  seed: number;
  step: number;
  /** Index within the whole batch of this shard's first row, so masks do not depend on sharding. */
  rowOffset: number;
}

/** A weight a layer asks for; the model places its value and gradient in flat parameter buffers. */
export interface WeightSpec {
  name: string;
  shape: number[];
  initializer: string;
  size: number;
  value: Float32Array;
  grad: Float32Array;
}

export type LayerConfig = Record<string, unknown> & { name?: string };

let nameCounter = 0;
const EMPTY = new Float32Array(0);

/**
 * Keras's lifecycle: the constructor stores the config, `build(inputShape)` asks for weights
 * with `addWeight`, `forward` is the forward pass, `getConfig()` is what a checkpoint stores.
 *
 * Forward and backward run on flat, row-major Float32Arrays that the layer owns and reuses
 * (sized for the largest batch seen): a training step allocates nothing once warm. Shapes are
 * per sample; the batch dimension is the `rows` argument.
 */
export abstract class Layer {
  abstract readonly className: string;
  readonly name: string;
  readonly weights: WeightSpec[] = [];
  inputShape: number[] | null = null;
  outputShape: number[] | null = null;
  protected capacity = 0;

  constructor(config: LayerConfig = {}) {
    this.name = config?.name ?? `${this.constructor.name.toLowerCase()}_${++nameCounter}`;
  }

  get built(): boolean {
    return this.outputShape !== null;
  }

  // Computed once in build: the step reads them every call, and a reduce would allocate.
  private inSize = 1;
  private outSize = 1;

  get inputSize(): number {
    return this.inSize;
  }

  get outputSize(): number {
    return this.outSize;
  }

  /** Number of trainable values. */
  get paramCount(): number {
    return this.weights.reduce((p, w) => p + w.size, 0);
  }

  /** Creates the weights for a per-sample input shape. Called once by the model. */
  build(inputShape: readonly number[]): void {
    this.inputShape = [...inputShape];
    this.outputShape = this.computeOutputShape(inputShape);
    this.inSize = this.inputShape.reduce((p, d) => p * d, 1);
    this.outSize = this.outputShape.reduce((p, d) => p * d, 1);
  }

  /** Declares a weight; its storage is bound later by the model (`WeightSpec.value`/`grad`). */
  protected addWeight(name: string, shape: number[], initializer: string): WeightSpec {
    checkInitializer(initializer, `${this.name}.${name} initializer`);
    const w: WeightSpec = { name: `${this.name}/${name}`, shape, initializer, size: shape.reduce((p, d) => p * d, 1), value: EMPTY, grad: EMPTY };
    this.weights.push(w);
    return w;
  }

  abstract computeOutputShape(inputShape: readonly number[]): number[];

  /** Forward pass over `rows` samples of `x`; returns a buffer the layer owns. */
  abstract forward(x: Float32Array, rows: number, info: StepInfo): Float32Array;

  /**
   * Backward pass for the last forward: writes the weights' gradients (overwriting them) and,
   * when `needInputGrad`, returns dL/dx in a buffer the layer owns.
   */
  abstract backward(dy: Float32Array, rows: number, needInputGrad: boolean, preActivation?: boolean): Float32Array | null;

  /**
   * The activation applied last by this layer. A loss fused with it (softmax + cross-entropy,
   * sigmoid + binary cross-entropy) passes the gradient of the pre-activation and
   * `preActivation = true` to `backward`, for numerical stability.
   */
  get outputActivation(): string {
    return 'linear';
  }

  /** The constructor options that rebuild this layer (Keras's `get_config`). */
  getConfig(): LayerConfig {
    return { name: this.name };
  }

  /** Grows the layer's buffers to hold `rows` samples; a no-op once large enough. */
  ensureCapacity(rows: number): void {
    if (rows <= this.capacity) return;
    this.capacity = rows;
    this.allocate(rows);
  }

  /** Allocates fresh buffers for `rows` samples from the current allocator (e.g. wasm memory). */
  reallocate(rows: number): void {
    this.capacity = rows;
    this.allocate(rows);
  }

  /** Allocates the layer's per-row buffers for `rows` samples. */
  protected abstract allocate(rows: number): void;

  protected checkBuilt(): void {
    if (!this.built) throw new Error(`Layer ${this.name} is not built: add it to a model and build the model first`);
  }

  toString(): string {
    return `${this.className}(${this.name}, output ${this.outputShape ? formatShape(this.outputShape) : '?'})`;
  }
}

/** Validates a positive integer option, naming the layer and the option. */
export function positiveInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${what} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
