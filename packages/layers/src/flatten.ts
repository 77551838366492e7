import { Layer, type LayerConfig, type StepInfo } from './layer.js';

export interface FlattenConfig extends LayerConfig {
  inputShape?: number[];
}

/** Flattens each sample to one dimension. Data is already row-major, so no values move. */
export class Flatten extends Layer {
  readonly className = 'Flatten';
  readonly declaredInputShape?: number[];

  constructor(config: FlattenConfig = {}) {
    super(config);
    if (config.inputShape) this.declaredInputShape = [...config.inputShape];
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [inputShape.reduce((p, d) => p * d, 1)];
  }

  protected bufferWidths(): number[] {
    return [];
  }

  protected bindWindow(): void {}

  wholeOutput(input: Float32Array): Float32Array {
    return input;
  }

  forward(x: Float32Array): Float32Array {
    return x;
  }

  backward(dy: Float32Array, _rows: number, needInputGrad: boolean): Float32Array | null {
    return needInputGrad ? dy : null;
  }

  override getConfig(): FlattenConfig {
    return this.declaredInputShape ? { name: this.name, inputShape: this.declaredInputShape } : { name: this.name };
  }
}

export type { StepInfo };
