import { allocFloat32 } from '@loom/tensor';
import type { Engine, EngineOptions } from './engine.js';
import { Replica } from './replica.js';

/** workers = 1: the same replica code, in the main thread, no workers and no shared memory. */
export class LocalEngine implements Engine {
  readonly workers = 1;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly stats: Float64Array;
  private readonly replica: Replica;
  private readonly options: EngineOptions;

  constructor(options: EngineOptions) {
    this.options = options;
    const { model, optimizer } = options;
    this.replica = new Replica(specOf(options), model, optimizer);
    if (!optimizer.built) optimizer.build([model.countParams()]);
    this.x = allocFloat32(options.maxRows * model.inputSize);
    this.y = allocFloat32(options.maxRows * options.labelWidth);
    this.stats = new Float64Array(this.replica.statsWidth);
  }

  async trainStep(rows: number, seed: number, step: number): Promise<void> {
    const { model, optimizer } = this.replica;
    const t = optimizer.iterations + 1;
    const fault = this.options.faultInjection;
    if (fault && fault.worker === 0 && fault.atStep === t) throw new Error(`injected fault at step ${t}`);
    this.replica.trainShard(this.x, this.y, rows, 0, 1, seed, step, this.stats, 0);
    optimizer.updateRange(model.params, model.grads, optimizer.slots[0]!, 0, model.params.length, t);
    optimizer.iterations = t;
  }

  async evaluate(x: Float32Array, y: Float32Array, n: number, batchSize: number): Promise<Float64Array> {
    return this.replica.evaluateRange(x, y, 0, n, batchSize);
  }

  async predict(x: Float32Array, n: number, batchSize: number): Promise<Float32Array> {
    const out = allocFloat32(n * this.replica.model.outputSize);
    this.replica.predictRange(x, out, 0, n, batchSize);
    return out;
  }

  async close(): Promise<void> {}
}

export function specOf(options: EngineOptions) {
  return {
    model: options.model.getConfig(),
    inputShape: options.model.inputShape,
    loss: options.loss,
    metrics: options.metrics,
    optimizer: { name: options.optimizer.name, config: options.optimizer.getConfig() },
    maxRows: options.maxRows,
    labelWidth: options.labelWidth,
  };
}
