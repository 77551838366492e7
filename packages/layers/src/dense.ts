import { getActivationKernel, type ActivationKernel } from '@loom/autodiff';
import { gemm } from '@loom/tensor';
import { activationGrad, biasActivation } from './epilogue.js';
import { identifierOf, type Identified } from './identifiers.js';
import { initializerOption } from './initializers.js';
import { KernelGradient } from './weight-gradient.js';
import { Layer, positiveInt, type LayerConfig, type StepInfo, type WeightSpec } from './layer.js';

export interface DenseConfig extends LayerConfig {
  units: number;
  /** A name (`'relu'`) or its typed form (`activations.relu`). */
  activation?: string | Identified;
  alpha?: number;
  useBias?: boolean;
  /** A name (`'he_normal'`) or its typed form (`new HeNormal()`). */
  kernelInitializer?: string | Identified;
  biasInitializer?: string | Identified;
  inputShape?: number[];
}

/**
 * y = activation(x·W + b), Keras's `Dense` (kernel [in, units], then bias [units]).
 * Forward and backward are fused by hand (matrix product, bias and activation in one pass over
 * buffers the layer owns) because this is where a training step spends its time.
 */
export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: string;
  readonly alpha: number;
  readonly useBias: boolean;
  readonly kernelInitializer: string;
  readonly biasInitializer: string;
  readonly declaredInputShape?: number[];
  private readonly act: ActivationKernel;
  private kernel!: WeightSpec;
  private bias: WeightSpec | null = null;
  private x: Float32Array = new Float32Array(0);
  private readonly gradient = new KernelGradient();
  private z: Float32Array = new Float32Array(0);
  private y: Float32Array = new Float32Array(0);
  private dz: Float32Array = new Float32Array(0);
  private dx: Float32Array = new Float32Array(0);

  constructor(config: DenseConfig) {
    super(config);
    if (config === null || typeof config !== 'object') throw new TypeError('dense: config must be an object with units');
    this.units = positiveInt(config.units, `dense ${this.name}: units`);
    this.activation = identifierOf(config.activation ?? 'linear', `activation of ${this.name}`);
    this.act = getActivationKernel(this.activation);
    this.alpha = config.alpha ?? this.act.defaultAlpha;
    this.useBias = config.useBias ?? true;
    this.kernelInitializer = initializerOption(config.kernelInitializer, 'glorot_uniform', `kernelInitializer of ${this.name}`);
    this.biasInitializer = initializerOption(config.biasInitializer, 'zeros', `biasInitializer of ${this.name}`);
    if (config.inputShape) this.declaredInputShape = [...config.inputShape];
  }

  /** Keras's rule: the last axis becomes `units`; the axes before it are positions, each its own row. */
  computeOutputShape(inputShape: readonly number[]): number[] {
    return [...inputShape.slice(0, -1), this.units];
  }

  override build(inputShape: readonly number[]): void {
    if (inputShape.length === 0) throw new RangeError(`dense ${this.name}: needs an input with at least one axis, got a scalar`);
    super.build(inputShape);
    const features = inputShape[inputShape.length - 1]!;
    this.positions = features === 0 ? 0 : this.inputSize / features;
    this.kernel = this.addWeight('kernel', [features, this.units], this.kernelInitializer);
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], this.biasInitializer);
  }

  /**
   * Rows of the layer's matrix products per sample: 1 for a vector input, h·w for `[h, w, c]`
   * (Keras applies Dense to the last axis of any input), so a step works on rows · positions.
   */
  private positions = 1;

  override get workPerSample(): number {
    return this.paramCount * this.positions;
  }

  override get outputActivation(): string {
    return this.activation;
  }

  // Step buffers: z (pre-activation), y (output; z itself when linear), dz, dx.
  protected bufferWidths(): number[] {
    const out = this.outputSize;
    return [out, this.activation === 'linear' ? 0 : out, out, this.inputSize];
  }

  protected bindWindow([z, y, dz, dx]: Float32Array[]): void {
    this.z = z!;
    this.y = this.activation === 'linear' ? z! : y!;
    this.dz = dz!;
    this.dx = dx!;
  }

  wholeOutput(): Float32Array {
    return this.wholeBuffer(this.activation === 'linear' ? 0 : 1);
  }

  forward(x: Float32Array, rows: number, _info: StepInfo): Float32Array {
    this.checkBuilt();
    this.ensureCapacity(rows);
    this.x = x;
    const inSize = this.kernel.shape[0]!, units = this.units, z = this.z;
    rows *= this.positions;
    gemm(rows, units, inSize, x, false, this.kernel.value, false, z);
    biasActivation(z, this.y, this.bias ? this.bias.value : null, rows, units, this.act, this.alpha);
    return this.y;
  }

  backward(dy: Float32Array, rows: number, needInputGrad: boolean, preActivation = false): Float32Array | null {
    const inSize = this.kernel.shape[0]!, units = this.units;
    rows *= this.positions;
    const through = preActivation ? 'linear' : this.activation;
    const dz = this.dz;
    activationGrad(this.z, this.y, dy, dz, rows, units, this.act, through, this.alpha);
    if (!needInputGrad) return null;
    // dx = dz·Wᵀ: the transpose is a gemm flag, not a copy.
    gemm(rows, inSize, units, dz, false, this.kernel.value, true, this.dx);
    return this.dx;
  }

  override weightGradients(input: Float32Array, rows: number, part: number, parts: number): void {
    this.gradient.compute(this.kernel, this.bias, input, this.wholeBuffer(2), rows * this.positions, part, parts);
  }

  override getConfig(): DenseConfig {
    const c: DenseConfig = {
      name: this.name, units: this.units, activation: this.activation, useBias: this.useBias,
      kernelInitializer: this.kernelInitializer, biasInitializer: this.biasInitializer,
    };
    if (this.alpha !== this.act.defaultAlpha) c.alpha = this.alpha;
    if (this.declaredInputShape) c.inputShape = this.declaredInputShape;
    return c;
  }
}
