import { allocFloat32, heapAllocator, withAllocator } from '@loom/tensor';
import { estimateBytes, setUpBackend, tearDownBackend, type WasmSetup } from './backend.js';
import type { Engine, EngineOptions } from './engine.js';
import { Replica } from './replica.js';

/**
 * workers = 1: the same replica code, in the main thread, no workers. With the wasm backend the
 * model's parameters, gradients, optimizer slots, batch and activations move into the wasm
 * memory for the engine's life.
 */
export class LocalEngine implements Engine {
  readonly workers = 1;
  readonly backend: 'wasm' | 'js';
  private readonly wasm: WasmSetup | null;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly stats: Float64Array;
  private readonly replica: Replica;
  private readonly options: EngineOptions;

  constructor(options: EngineOptions) {
    this.options = options;
    const { model, optimizer } = options;
    const p = model.countParams();
    if (!optimizer.built) optimizer.build([p]);
    const activations = model.layers.reduce((sum, l) => sum + 4 * l.outputSize, model.inputSize);
    const { wasm, allocator } = setUpBackend(options.backend, estimateBytes(p, 1, optimizer.slotNames.length, options.maxRows, activations));
    this.wasm = wasm;
    this.backend = wasm ? 'wasm' : 'js';
    const alloc = wasm ? allocator : heapAllocator;
    [this.x, this.y] = withAllocator(alloc, () => {
      if (wasm) {
        const params = allocFloat32(p);
        params.set(model.params);
        model.bindParameters(params, allocFloat32(p));
        optimizer.setSlots([optimizer.slots[0]!.map((s) => {
          const moved = allocFloat32(s.length);
          moved.set(s);
          return moved;
        })]);
      }
      return [allocFloat32(options.maxRows * model.inputSize), allocFloat32(options.maxRows * options.labelWidth)];
    });
    this.replica = new Replica(specOf(options), model, optimizer, alloc);
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

  async close(): Promise<void> {
    releaseToHeap(this.options);
    tearDownBackend(this.wasm);
  }
}

/**
 * After an engine: the model's parameters and the optimizer's slots back in ordinary memory
 * (copies), and its layer buffers too, so the engine's shared or wasm memory can be freed.
 */
export function releaseToHeap(options: EngineOptions): void {
  const { model, optimizer } = options;
  if (model.params.buffer instanceof ArrayBuffer) return;
  model.bindParameters(model.params.slice(), new Float32Array(model.countParams()));
  if (optimizer.built) optimizer.setSlots([optimizer.slots[0]!.map((s) => s.slice())]);
  withAllocator(heapAllocator, () => model.allocateBuffers(options.maxRows));
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
