import { getActivationKernel, type ActivationKernel } from '@loom/autodiff';
import { col2im, formatShape, gemm, im2col, window2d, type Padding, type Window2d } from '@loom/tensor';
import { activationGrad, biasActivation } from './epilogue.js';
import { identifierOf, type Identified } from './identifiers.js';
import { initializerOption } from './initializers.js';
import { KernelGradient } from './weight-gradient.js';
import { Layer, positiveInt, type LayerConfig, type StepInfo, type WeightSpec } from './layer.js';

export interface Conv2DConfig extends LayerConfig {
  filters: number;
  /** A number for a square kernel, or `[kh, kw]`. */
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: Padding;
  activation?: string | Identified;
  alpha?: number;
  useBias?: boolean;
  kernelInitializer?: string | Identified;
  biasInitializer?: string | Identified;
  inputShape?: number[];
}

/** A Keras pair option (`kernelSize: 3` or `[3, 2]`) as `[rows, columns]`, each a positive integer. */
export function pairOption(value: unknown, what: string): [number, number] {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw new RangeError(`${what} must be a positive integer or a pair of them, got [${value.join(', ')}]`);
    return [positiveInt(value[0], what), positiveInt(value[1], what)];
  }
  const n = positiveInt(value, what);
  return [n, n];
}

/** Checks that a per-sample input is an image `[h, w, channels]`; names the layer, and hints at MNIST's image shape. */
export function imageInput(inputShape: readonly number[], layer: string): [number, number, number] {
  if (inputShape.length !== 3) {
    throw new RangeError(
      `${layer}: expects images [height, width, channels] per sample, got ${formatShape([...inputShape])}` +
      (inputShape.length === 1 ? ` (flat rows: load MNIST with loadMnist({ shape: 'image' }), which gives [28, 28, 1])` : ''),
    );
  }
  return [inputShape[0]!, inputShape[1]!, inputShape[2]!];
}

export function paddingOption(value: unknown, what: string): Padding {
  if (value !== 'valid' && value !== 'same') throw new RangeError(`${what} must be 'valid' or 'same', got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Keras's `Conv2D`, channels last: y = activation(conv(x, W) + b) with the kernel `[kh, kw, cin,
 * filters]` and the bias `[filters]`. Each sample is unfolded into its patches (`im2col`), so
 * the convolution is one matrix product with the kernel read as `[kh·kw·cin, filters]`: the
 * packed gemm the Dense layers use, its epilogue, and its split of the weight gradient (the
 * kernel's patch rows, a contiguous range each). The input gradient is the patches' gradient
 * dz·Wᵀ folded back (`col2im`).
 */
export class Conv2D extends Layer {
  readonly className = 'Conv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  readonly activation: string;
  readonly alpha: number;
  readonly useBias: boolean;
  readonly kernelInitializer: string;
  readonly biasInitializer: string;
  readonly declaredInputShape?: number[];
  private readonly act: ActivationKernel;
  private geometry!: Window2d;
  /** Output positions per sample (outH·outW) and patch length (kh·kw·cin). */
  private positions = 0;
  private patch = 0;
  private kernel!: WeightSpec;
  private bias: WeightSpec | null = null;
  private readonly gradient = new KernelGradient();
  private cols: Float32Array = new Float32Array(0);
  private z: Float32Array = new Float32Array(0);
  private y: Float32Array = new Float32Array(0);
  private dz: Float32Array = new Float32Array(0);
  private dcols: Float32Array = new Float32Array(0);
  private dx: Float32Array = new Float32Array(0);

  constructor(config: Conv2DConfig) {
    super(config);
    if (config === null || typeof config !== 'object') throw new TypeError('conv2d: config must be an object with filters and kernelSize');
    const what = `conv2d ${this.name}`;
    this.filters = positiveInt(config.filters, `${what}: filters`);
    this.kernelSize = pairOption(config.kernelSize, `${what}: kernelSize`);
    this.strides = pairOption(config.strides ?? 1, `${what}: strides`);
    this.padding = paddingOption(config.padding ?? 'valid', `${what}: padding`);
    this.activation = identifierOf(config.activation ?? 'linear', `activation of ${this.name}`);
    this.act = getActivationKernel(this.activation);
    if (this.activation === 'softmax') throw new RangeError(`${what}: activation 'softmax' is not supported on a convolution's output (use a Dense layer after Flatten)`);
    this.alpha = config.alpha ?? this.act.defaultAlpha;
    this.useBias = config.useBias ?? true;
    this.kernelInitializer = initializerOption(config.kernelInitializer, 'glorot_uniform', `kernelInitializer of ${this.name}`);
    this.biasInitializer = initializerOption(config.biasInitializer, 'zeros', `biasInitializer of ${this.name}`);
    if (config.inputShape) this.declaredInputShape = [...config.inputShape];
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    const [h, w, c] = imageInput(inputShape, `conv2d ${this.name}`);
    const g = window2d(h, w, c, this.kernelSize[0], this.kernelSize[1], this.strides[0], this.strides[1], this.padding, `conv2d ${this.name}`);
    return [g.outH, g.outW, this.filters];
  }

  override build(inputShape: readonly number[]): void {
    super.build(inputShape);
    const [h, w, c] = imageInput(inputShape, `conv2d ${this.name}`);
    const [kh, kw] = this.kernelSize;
    this.geometry = window2d(h, w, c, kh, kw, this.strides[0], this.strides[1], this.padding, `conv2d ${this.name}`);
    this.positions = this.geometry.outH * this.geometry.outW;
    this.patch = kh * kw * c;
    this.kernel = this.addWeight('kernel', [kh, kw, c, this.filters], this.kernelInitializer);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], this.biasInitializer);
  }

  override get workPerSample(): number {
    return this.paramCount * this.positions;
  }

  override get outputActivation(): string {
    return this.activation;
  }

  // Step buffers: the patches, z (pre-activation), y (z itself when linear), dz, the patches'
  // gradient, dx. The weight gradient reads every row of the patches and of dz.
  protected bufferWidths(): number[] {
    const cols = this.positions * this.patch, out = this.outputSize;
    return [cols, out, this.activation === 'linear' ? 0 : out, out, cols, this.inputSize];
  }

  protected bindWindow([cols, z, y, dz, dcols, dx]: Float32Array[]): void {
    this.cols = cols!;
    this.z = z!;
    this.y = this.activation === 'linear' ? z! : y!;
    this.dz = dz!;
    this.dcols = dcols!;
    this.dx = dx!;
  }

  wholeOutput(): Float32Array {
    return this.wholeBuffer(this.activation === 'linear' ? 1 : 2);
  }

  forward(x: Float32Array, rows: number, _info: StepInfo): Float32Array {
    this.checkBuilt();
    this.ensureCapacity(rows);
    const m = rows * this.positions, f = this.filters;
    im2col(x, rows, this.geometry, this.cols);
    gemm(m, f, this.patch, this.cols, false, this.kernel.value, false, this.z);
    biasActivation(this.z, this.y, this.bias ? this.bias.value : null, m, f, this.act, this.alpha);
    return this.y;
  }

  backward(dy: Float32Array, rows: number, needInputGrad: boolean, preActivation = false): Float32Array | null {
    const m = rows * this.positions, f = this.filters;
    activationGrad(this.z, this.y, dy, this.dz, m, f, this.act, preActivation ? 'linear' : this.activation, this.alpha);
    if (!needInputGrad) return null;
    // The patches' gradient dz·Wᵀ (the transpose is a gemm flag), folded back onto the input.
    gemm(m, this.patch, f, this.dz, false, this.kernel.value, true, this.dcols);
    col2im(this.dcols, rows, this.geometry, this.dx);
    return this.dx;
  }

  override weightGradients(_input: Float32Array, rows: number, part: number, parts: number): void {
    this.gradient.compute(this.kernel, this.bias, this.wholeBuffer(0), this.wholeBuffer(3), rows * this.positions, part, parts);
  }

  override getConfig(): Conv2DConfig {
    const c: Conv2DConfig = {
      name: this.name, filters: this.filters, kernelSize: [...this.kernelSize], strides: [...this.strides], padding: this.padding,
      activation: this.activation, useBias: this.useBias, kernelInitializer: this.kernelInitializer, biasInitializer: this.biasInitializer,
    };
    if (this.alpha !== this.act.defaultAlpha) c.alpha = this.alpha;
    if (this.declaredInputShape) c.inputShape = this.declaredInputShape;
    return c;
  }
}
