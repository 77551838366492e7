import { maxPiecesBackwardKernel, maxPiecesKernel } from '@loom/autodiff';
import { gemm } from '@loom/tensor';
import type { Identified } from './identifiers.js';
import { initializerOption } from './initializers.js';
import { KernelGradient } from './weight-gradient.js';
import { Layer, positiveInt, type LayerConfig, type StepInfo, type WeightSpec } from './layer.js';

export interface MaxoutConfig extends LayerConfig {
  units: number;
  pieces: number;
  kernelInitializer?: string | Identified;
  biasInitializer?: string | Identified;
  inputShape?: number[];
}

/**
 * Maxout (Goodfellow et al., 2013): y_u = max_k (x·W_{u,k} + b_{u,k}) over `pieces` linear
 * pieces. One [in, units·pieces] kernel holds every piece, unit-major, so the whole layer is
 * one matrix product followed by the max over each group of `pieces` columns.
 */
export class Maxout extends Layer {
  readonly className = 'Maxout';
  readonly units: number;
  readonly pieces: number;
  readonly kernelInitializer: string;
  readonly biasInitializer: string;
  readonly declaredInputShape?: number[];
  private kernel!: WeightSpec;
  private bias!: WeightSpec;
  private x: Float32Array = new Float32Array(0);
  private readonly gradient = new KernelGradient();
  private z: Float32Array = new Float32Array(0);
  private y: Float32Array = new Float32Array(0);
  private argmax: Int32Array = new Int32Array(0);
  private dz: Float32Array = new Float32Array(0);
  private dx: Float32Array = new Float32Array(0);

  constructor(config: MaxoutConfig) {
    super(config);
    this.units = positiveInt(config?.units, `maxout ${this.name}: units`);
    this.pieces = positiveInt(config.pieces, `maxout ${this.name}: pieces`);
    this.kernelInitializer = initializerOption(config.kernelInitializer, 'glorot_uniform', `kernelInitializer of ${this.name}`);
    this.biasInitializer = initializerOption(config.biasInitializer, 'zeros', `biasInitializer of ${this.name}`);
    if (config.inputShape) this.declaredInputShape = [...config.inputShape];
  }

  computeOutputShape(): number[] {
    return [this.units];
  }

  override build(inputShape: readonly number[]): void {
    const inSize = inputShape.reduce((p, d) => p * d, 1);
    super.build([inSize]);
    this.kernel = this.addWeight('kernel', [inSize, this.units * this.pieces], this.kernelInitializer);
    this.bias = this.addWeight('bias', [this.units * this.pieces], this.biasInitializer);
  }

  // Step buffers: z, dz (units·pieces wide), y, the winning piece of each unit (int32 bits in
  // a float buffer, so it lives in the same memory as the rest), dx.
  protected bufferWidths(): number[] {
    const wide = this.units * this.pieces;
    return [wide, wide, this.units, this.units, this.inputSize];
  }

  protected bindWindow([z, dz, y, argmax, dx]: Float32Array[]): void {
    this.z = z!;
    this.dz = dz!;
    this.y = y!;
    this.argmax = new Int32Array(argmax!.buffer, argmax!.byteOffset, argmax!.length);
    this.dx = dx!;
  }

  wholeOutput(): Float32Array {
    return this.wholeBuffer(2);
  }

  forward(x: Float32Array, rows: number, _info: StepInfo): Float32Array {
    this.ensureCapacity(rows);
    this.x = x;
    const width = this.units * this.pieces, z = this.z, b = this.bias.value;
    gemm(rows, width, this.inputSize, x, false, this.kernel.value, false, z);
    for (let r = 0, o = 0; r < rows; r++, o += width) for (let j = 0; j < width; j++) z[o + j] += b[j]!;
    maxPiecesKernel(z, this.y, this.argmax, rows, this.units, this.pieces);
    return this.y;
  }

  backward(dy: Float32Array, rows: number, needInputGrad: boolean): Float32Array | null {
    const width = this.units * this.pieces, dz = this.dz;
    maxPiecesBackwardKernel(dy, this.argmax, dz, rows * this.units);
    if (!needInputGrad) return null;
    gemm(rows, this.inputSize, width, dz, false, this.kernel.value, true, this.dx);
    return this.dx;
  }

  override weightGradients(input: Float32Array, rows: number, part: number, parts: number): void {
    this.gradient.compute(this.kernel, this.bias, input, this.wholeBuffer(1), rows, part, parts);
  }


  override getConfig(): MaxoutConfig {
    const c: MaxoutConfig = {
      name: this.name, units: this.units, pieces: this.pieces,
      kernelInitializer: this.kernelInitializer, biasInitializer: this.biasInitializer,
    };
    if (this.declaredInputShape) c.inputShape = this.declaredInputShape;
    return c;
  }
}
