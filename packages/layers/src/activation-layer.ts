import { getActivationKernel, type ActivationKernel } from '@loom/autodiff';
import { identifierOf, type Identified } from './identifiers.js';
import { Layer, type LayerConfig, type StepInfo } from './layer.js';

export interface ActivationConfig extends LayerConfig {
  /** A name (`'relu'`) or its typed form (`activations.relu`). */
  activation: string | Identified;
  alpha?: number;
  inputShape?: number[];
}

/** Applies an activation by name (Keras's `Activation` layer); softmax runs over the last axis. */
export class Activation extends Layer {
  readonly className = 'Activation';
  readonly activation: string;
  readonly alpha: number;
  readonly declaredInputShape?: number[];
  private readonly act: ActivationKernel;
  private x: Float32Array = new Float32Array(0);
  private y: Float32Array = new Float32Array(0);
  private dx: Float32Array = new Float32Array(0);

  constructor(config: ActivationConfig) {
    super(config);
    this.activation = identifierOf(config?.activation, `activation of ${this.name}`);
    this.act = getActivationKernel(this.activation);
    this.alpha = config.alpha ?? this.act.defaultAlpha;
    if (config.inputShape) this.declaredInputShape = [...config.inputShape];
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  override get outputActivation(): string {
    return this.activation;
  }

  protected bufferWidths(): number[] {
    return [this.outputSize, this.outputSize];
  }

  protected bindWindow([y, dx]: Float32Array[]): void {
    this.y = y!;
    this.dx = dx!;
  }

  wholeOutput(): Float32Array {
    return this.wholeBuffer(0);
  }

  forward(x: Float32Array, rows: number, _info: StepInfo): Float32Array {
    this.ensureCapacity(rows);
    this.x = x;
    const cols = this.outputShape![this.outputShape!.length - 1] ?? 1;
    this.act.forward(x, this.y, rows * this.outputSize, cols, this.alpha);
    return this.y;
  }

  backward(dy: Float32Array, rows: number, needInputGrad: boolean, preActivation = false): Float32Array | null {
    if (!needInputGrad) return null;
    if (preActivation) return dy;
    const cols = this.outputShape![this.outputShape!.length - 1] ?? 1;
    this.act.backward(this.x, this.y, dy, this.dx, rows * this.outputSize, cols, this.alpha);
    return this.dx;
  }

  override getConfig(): ActivationConfig {
    const c: ActivationConfig = { name: this.name, activation: this.activation };
    if (this.alpha !== this.act.defaultAlpha) c.alpha = this.alpha;
    if (this.declaredInputShape) c.inputShape = this.declaredInputShape;
    return c;
  }
}
