import { maxPiecesBackwardKernel, maxPiecesKernel } from '@loom/autodiff';
import { allocFloat32, gemm } from '@loom/tensor';
import { identifierOf, type Identified } from './identifiers.js';
import { checkInitializer } from './initializers.js';
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
  private z: Float32Array = new Float32Array(0);
  private y: Float32Array = new Float32Array(0);
  private argmax: Int32Array = new Int32Array(0);
  private dz: Float32Array = new Float32Array(0);
  private dx: Float32Array = new Float32Array(0);

  constructor(config: MaxoutConfig) {
    super(config);
    this.units = positiveInt(config?.units, `maxout ${this.name}: units`);
    this.pieces = positiveInt(config.pieces, `maxout ${this.name}: pieces`);
    this.kernelInitializer = identifierOf(config.kernelInitializer ?? 'glorot_uniform', `kernelInitializer of ${this.name}`);
    this.biasInitializer = identifierOf(config.biasInitializer ?? 'zeros', `biasInitializer of ${this.name}`);
    checkInitializer(this.kernelInitializer, `kernelInitializer of ${this.name}`);
    checkInitializer(this.biasInitializer, `biasInitializer of ${this.name}`);
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

  protected allocate(rows: number): void {
    const wide = rows * this.units * this.pieces;
    this.z = allocFloat32(wide);
    this.dz = allocFloat32(wide);
    this.y = allocFloat32(rows * this.units);
    this.argmax = new Int32Array(rows * this.units);
    this.dx = allocFloat32(rows * this.inputSize);
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
    gemm(this.inputSize, width, rows, this.x, true, dz, false, this.kernel.grad);
    const db = this.bias.grad;
    db.fill(0);
    for (let r = 0, o = 0; r < rows; r++, o += width) for (let j = 0; j < width; j++) db[j] += dz[o + j]!;
    if (!needInputGrad) return null;
    gemm(rows, this.inputSize, width, dz, false, this.kernel.value, true, this.dx);
    return this.dx;
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
