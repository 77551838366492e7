import { poolBackward, poolForward, window2d, type Padding, type PoolKind, type Window2d } from '@loom/tensor';
import { imageInput, pairOption, paddingOption } from './conv2d.js';
import { Layer, type LayerConfig, type StepInfo } from './layer.js';

export interface Pooling2DConfig extends LayerConfig {
  /** A number for a square window, or `[ph, pw]` (default 2). */
  poolSize?: number | [number, number];
  /** Default: the pool size, as in Keras. */
  strides?: number | [number, number];
  padding?: Padding;
  inputShape?: number[];
}

/**
 * Keras's `MaxPooling2D` and `AveragePooling2D`, channels last: each channel's window, its
 * maximum or the mean of the inputs it covers (padding never counts, as in TensorFlow). The
 * max routes its gradient to the input that won, remembered per output in a step buffer.
 */
abstract class Pooling2D extends Layer {
  abstract readonly kind: PoolKind;
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;
  readonly declaredInputShape?: number[];
  private geometry!: Window2d;
  private y: Float32Array = new Float32Array(0);
  private argmax: Float32Array = new Float32Array(0);
  private dx: Float32Array = new Float32Array(0);

  constructor(config: Pooling2DConfig = {}, factory: string) {
    super(config);
    if (config === null || typeof config !== 'object') throw new TypeError(`${factory}: config must be an object`);
    const what = `${factory} ${this.name}`;
    this.poolSize = pairOption(config.poolSize ?? 2, `${what}: poolSize`);
    this.strides = pairOption(config.strides ?? this.poolSize, `${what}: strides`);
    this.padding = paddingOption(config.padding ?? 'valid', `${what}: padding`);
    if (config.inputShape) this.declaredInputShape = [...config.inputShape];
  }

  private window(inputShape: readonly number[]): Window2d {
    const what = `${this.className} ${this.name}`;
    const [h, w, c] = imageInput(inputShape, what);
    return window2d(h, w, c, this.poolSize[0], this.poolSize[1], this.strides[0], this.strides[1], this.padding, what);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    const g = this.window(inputShape);
    return [g.outH, g.outW, g.channels];
  }

  override build(inputShape: readonly number[]): void {
    super.build(inputShape);
    this.geometry = this.window(inputShape);
  }

  // Step buffers: y, the max's winners (none for a mean), dx.
  protected bufferWidths(): number[] {
    return [this.outputSize, this.kind === 'max' ? this.outputSize : 0, this.inputSize];
  }

  protected bindWindow([y, argmax, dx]: Float32Array[]): void {
    this.y = y!;
    this.argmax = argmax!;
    this.dx = dx!;
  }

  wholeOutput(): Float32Array {
    return this.wholeBuffer(0);
  }

  forward(x: Float32Array, rows: number, _info: StepInfo): Float32Array {
    this.checkBuilt();
    this.ensureCapacity(rows);
    poolForward(this.kind, x, rows, this.geometry, this.y, this.kind === 'max' ? this.argmax : null);
    return this.y;
  }

  backward(dy: Float32Array, rows: number, needInputGrad: boolean): Float32Array | null {
    if (!needInputGrad) return null;
    poolBackward(this.kind, dy, rows, this.geometry, this.kind === 'max' ? this.argmax : null, this.dx);
    return this.dx;
  }

  override getConfig(): Pooling2DConfig {
    const c: Pooling2DConfig = { name: this.name, poolSize: [...this.poolSize], strides: [...this.strides], padding: this.padding };
    if (this.declaredInputShape) c.inputShape = this.declaredInputShape;
    return c;
  }
}

export class MaxPooling2D extends Pooling2D {
  readonly className = 'MaxPooling2D';
  readonly kind = 'max';

  constructor(config: Pooling2DConfig = {}) {
    super(config, 'maxPooling2d');
  }
}

export class AveragePooling2D extends Pooling2D {
  readonly className = 'AveragePooling2D';
  readonly kind = 'average';

  constructor(config: Pooling2DConfig = {}) {
    super(config, 'averagePooling2d');
  }
}

export interface GlobalAveragePooling2DConfig extends LayerConfig {
  inputShape?: number[];
}

/** Keras's `GlobalAveragePooling2D`: each channel's mean over the whole image, `[h, w, c]` → `[c]`. */
export class GlobalAveragePooling2D extends Layer {
  readonly className = 'GlobalAveragePooling2D';
  readonly declaredInputShape?: number[];
  private pixels = 0;
  private channels = 0;
  private y: Float32Array = new Float32Array(0);
  private dx: Float32Array = new Float32Array(0);

  constructor(config: GlobalAveragePooling2DConfig = {}) {
    super(config);
    if (config.inputShape) this.declaredInputShape = [...config.inputShape];
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    const [, , c] = imageInput(inputShape, `globalAveragePooling2d ${this.name}`);
    return [c];
  }

  override build(inputShape: readonly number[]): void {
    super.build(inputShape);
    const [h, w, c] = imageInput(inputShape, `globalAveragePooling2d ${this.name}`);
    this.pixels = h * w;
    this.channels = c;
  }

  protected bufferWidths(): number[] {
    return [this.channels, this.inputSize];
  }

  protected bindWindow([y, dx]: Float32Array[]): void {
    this.y = y!;
    this.dx = dx!;
  }

  wholeOutput(): Float32Array {
    return this.wholeBuffer(0);
  }

  forward(x: Float32Array, rows: number, _info: StepInfo): Float32Array {
    this.checkBuilt();
    this.ensureCapacity(rows);
    const p = this.pixels, c = this.channels, y = this.y;
    for (let r = 0; r < rows; r++) {
      const xb = r * p * c, yb = r * c;
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        for (let i = 0, o = xb + ch; i < p; i++, o += c) sum += x[o]!;
        y[yb + ch] = sum / p;
      }
    }
    return y;
  }

  backward(dy: Float32Array, rows: number, needInputGrad: boolean): Float32Array | null {
    if (!needInputGrad) return null;
    const p = this.pixels, c = this.channels, dx = this.dx;
    for (let r = 0; r < rows; r++) {
      const xb = r * p * c, yb = r * c;
      for (let i = 0; i < p; i++) for (let ch = 0; ch < c; ch++) dx[xb + i * c + ch] = dy[yb + ch]! / p;
    }
    return dx;
  }

  override getConfig(): GlobalAveragePooling2DConfig {
    return this.declaredInputShape ? { name: this.name, inputShape: this.declaredInputShape } : { name: this.name };
  }
}
