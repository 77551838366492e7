import { getActivationKernel, type ActivationKernel } from '@loom/autodiff';
import { gemm, wasmActivationGradBias, wasmBiasActivation } from '@loom/tensor';
import { identifierOf, type Identified } from './identifiers.js';
import { checkInitializer } from './initializers.js';
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

  // Step buffers: z (pre-activation), y (output; z itself when linear), dz, dx.
  protected bufferWidths(): number[] {
    return [this.units, this.activation === 'linear' ? 0 : this.units, this.units, this.inputSize];
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
    const dz = this.dz;
    // dz lands in the layer's own buffer even when it equals dy, because the weight gradient
    // reads every worker's rows of it. In one wasm pass, or the JavaScript kernels.
    if (!wasmActivationGradBias(this.z, dy, dz, null, rows, units, through, this.alpha)) {
      if (through === 'linear') for (let i = 0, n = rows * units; i < n; i++) dz[i] = dy[i]!;
      else this.act.backward(this.z, this.y, dy, dz, rows * units, units, this.alpha);
    }
    if (!needInputGrad) return null;
    // dx = dz·Wᵀ: the transpose is a gemm flag, not a copy.
    gemm(rows, inSize, units, dz, false, this.kernel.value, true, this.dx);
    return this.dx;
  }

  override weightGradients(input: Float32Array, rows: number, part: number, parts: number): void {
    this.gradient.compute(this.kernel, this.bias, input, this.wholeBuffer(2), rows, part, parts);
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
