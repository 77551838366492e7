import { hash3 } from '@loom/tensor';
import { Layer, type LayerConfig, type StepInfo } from './layer.js';

export interface DropoutConfig extends LayerConfig {
  rate: number;
  inputShape?: number[];
}

const TWO_POW_32 = 4294967296;

/**
 * Zeroes a fraction `rate` of the inputs in training and scales the rest by 1/(1−rate)
 * (inverted dropout, as Keras); the identity in inference. The keep/drop decision for element j
 * of sample s at step t is a pure hash of (seed, t, s·width + j), so a sample gets the same mask
 * whichever worker's shard it lands in, and a resumed run draws the same masks.
 */
export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;
  readonly declaredInputShape?: number[];
  private mask: Float32Array = new Float32Array(0);
  private y: Float32Array = new Float32Array(0);
  private dx: Float32Array = new Float32Array(0);
  private active = false;
  private salt = 0;

  constructor(config: DropoutConfig) {
    super(config);
    const rate = config?.rate;
    if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) {
      throw new RangeError(`dropout ${this.name}: rate must be a number in [0, 1), got ${String(rate)}`);
    }
    this.rate = rate;
    if (config.inputShape) this.declaredInputShape = [...config.inputShape];
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  /** Distinguishes the masks of several dropout layers in one model (set from the layer index). */
  setSalt(salt: number): void {
    this.salt = salt;
  }

  protected bufferWidths(): number[] {
    return [this.outputSize, this.outputSize, this.outputSize];
  }

  protected bindWindow([mask, y, dx]: Float32Array[]): void {
    this.mask = mask!;
    this.y = y!;
    this.dx = dx!;
  }

  // Inference, or rate 0, passes the input through (forward returns x).
  wholeOutput(input: Float32Array, training: boolean): Float32Array {
    return training && this.rate > 0 ? this.wholeBuffer(1) : input;
  }

  forward(x: Float32Array, rows: number, info: StepInfo): Float32Array {
    this.active = info.training && this.rate > 0;
    if (!this.active) return x;
    this.ensureCapacity(rows);
    const width = this.outputSize, keep = 1 - this.rate, scale = 1 / keep;
    const threshold = this.rate * TWO_POW_32;
    const seed = hash3(info.seed, this.salt, 0x0d20);
    const mask = this.mask, y = this.y;
    for (let r = 0; r < rows; r++) {
      const base = (info.rowOffset + r) * width;
      const o = r * width;
      for (let j = 0; j < width; j++) {
        const m = hash3(seed, info.step, base + j) >= threshold ? scale : 0;
        mask[o + j] = m;
        y[o + j] = x[o + j]! * m;
      }
    }
    return y;
  }

  backward(dy: Float32Array, rows: number, needInputGrad: boolean): Float32Array | null {
    if (!needInputGrad) return null;
    if (!this.active) return dy;
    const n = rows * this.outputSize, mask = this.mask, dx = this.dx;
    for (let i = 0; i < n; i++) dx[i] = dy[i]! * mask[i]!;
    return dx;
  }

  override getConfig(): DropoutConfig {
    const c: DropoutConfig = { name: this.name, rate: this.rate };
    if (this.declaredInputShape) c.inputShape = this.declaredInputShape;
    return c;
  }
}
