import { getActivationKernel, type ActivationKernel } from '@loom/autodiff';
import { allocFloat32, gemm, wasmActivationGradBias, wasmBiasActivation } from '@loom/tensor';
import { identifierOf, type Identified } from './identifiers.js';
import { checkInitializer } from './initializers.js';
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
    this.kernelInitializer = identifierOf(config.kernelInitializer ?? 'glorot_uniform', `kernelInitializer of ${this.name}`);
    this.biasInitializer = identifierOf(config.biasInitializer ?? 'zeros', `biasInitializer of ${this.name}`);
    checkInitializer(this.kernelInitializer, `kernelInitializer of ${this.name}`);
    checkInitializer(this.biasInitializer, `biasInitializer of ${this.name}`);
    if (config.inputShape) this.declaredInputShape = [...config.inputShape];
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [this.units];
  }

  override build(inputShape: readonly number[]): void {
    const inSize = inputShape.reduce((p, d) => p * d, 1);
    super.build([inSize]);
    this.kernel = this.addWeight('kernel', [inSize, this.units], this.kernelInitializer);
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], this.biasInitializer);
  }

  override get outputActivation(): string {
    return this.activation;
  }

  protected allocate(rows: number): void {
    const n = rows * this.units;
    this.z = allocFloat32(n);
    this.y = this.activation === 'linear' ? this.z : allocFloat32(n);
    this.dz = allocFloat32(n);
    this.dx = allocFloat32(rows * this.inputSize);
  }

  forward(x: Float32Array, rows: number, _info: StepInfo): Float32Array {
    this.checkBuilt();
    this.ensureCapacity(rows);
    this.x = x;
    const inSize = this.inputSize, units = this.units, z = this.z;
    gemm(rows, units, inSize, x, false, this.kernel.value, false, z);
    // Bias and activation in one wasm pass when the buffers live there and it has the activation.
    if (wasmBiasActivation(z, this.y, this.bias ? this.bias.value : null, rows, units, this.activation, this.alpha)) return this.y;
    if (this.bias) {
      const b = this.bias.value;
      for (let r = 0, o = 0; r < rows; r++, o += units) for (let j = 0; j < units; j++) z[o + j] += b[j]!;
    }
    this.act.forward(z, this.y, rows * units, units, this.alpha);
    return this.y;
  }

  backward(dy: Float32Array, rows: number, needInputGrad: boolean, preActivation = false): Float32Array | null {
    const inSize = this.inputSize, units = this.units;
    const through = preActivation ? 'linear' : this.activation;
    const dz = through === 'linear' ? dy : this.dz;
    const db = this.bias ? this.bias.grad : null;
    // The activation's gradient and the bias gradient in one wasm pass, or the JavaScript kernels.
    if (!wasmActivationGradBias(this.z, dy, dz, db, rows, units, through, this.alpha)) {
      if (dz !== dy) this.act.backward(this.z, this.y, dy, dz, rows * units, units, this.alpha);
      if (db) {
        db.fill(0);
        for (let r = 0, o = 0; r < rows; r++, o += units) for (let j = 0; j < units; j++) db[j] += dz[o + j]!;
      }
    }
    // dW = xᵀ·dz and dx = dz·Wᵀ: transposes are gemm flags, not copies.
    gemm(inSize, units, rows, this.x, true, dz, false, this.kernel.grad);
    if (!needInputGrad) return null;
    gemm(rows, inSize, units, dz, false, this.kernel.value, true, this.dx);
    return this.dx;
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
