import { allocFloat32, heapAllocator } from '@loom/tensor';
import { estimateBytes, setUpBackend, tearDownBackend, type WasmSetup } from './backend.js';
import { bufferRows, type BatchShare, type Engine, type EngineOptions } from './engine.js';
import { GroupExchange } from './group-exchange.js';
import { EVAL_BLOCK, placeModel, releaseToHeap, stepCapacity, sumBlocks } from './plan.js';
import { Replica, specOf } from './replica.js';
import { checkShare } from './group-exchange.js';

/**
 * workers = 1: the threaded step's code as shard 0 of 1 and part 0 of 1, in the main thread, no
 * workers, so it gives the threaded engine's bits. With the wasm backend the model's
 * parameters, gradient, optimizer slots, batch and step buffers move into the wasm memory for
 * the engine's life.
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
  private readonly exchange: GroupExchange | null;
  stopAgreed = false;

  constructor(options: EngineOptions) {
    this.options = options;
    const { model, optimizer } = options;
    const p = model.countParams();
    if (!optimizer.built) optimizer.build([p]);
    const capacity = stepCapacity(bufferRows(options), 1);
    const { wasm, allocator } = setUpBackend(options.backend, estimateBytes(model, optimizer.slotNames.length, options.maxRows, capacity));
    this.wasm = wasm;
    this.backend = wasm ? 'wasm' : 'js';
    const alloc = wasm ? allocator : heapAllocator;
    placeModel(model, optimizer, alloc, capacity);
    [this.x, this.y] = [alloc.float32(options.maxRows * model.inputSize), alloc.float32(options.maxRows * options.labelWidth)];
    this.replica = new Replica(specOf(options), model, optimizer, alloc);
    this.stats = new Float64Array(this.replica.statsWidth);
    this.exchange = options.group ? new GroupExchange(options.group, model.grads, this.stats) : null;
  }

  async trainStep(rows: number, seed: number, step: number, share?: BatchShare): Promise<void> {
    const { optimizer } = this.replica;
    const t = optimizer.iterations + 1;
    const fault = this.options.faultInjection;
    if (fault && fault.worker === 0 && fault.atStep === t) throw new Error(`injected fault at step ${t}`);
    const replica = this.replica, exchange = this.exchange;
    if (!exchange) {
      this.rows(rows, seed, step, rows, 0);
      replica.trainChunk(this.x, rows, 0, 1, t);
      replica.batchStats(this.x, this.y, rows, this.stats);
    } else {
      const s = checkShare(share, rows);
      // With batch statistics even an empty share meets every batch sync (the exchange's partner).
      if (rows > 0 || replica.batchSyncs > 0) await this.groupRows(rows, seed, step, s.batchRows, s.firstRow);
      if (rows > 0) {
        replica.chunkGradients(this.x, rows, 0, 1);
        replica.batchStats(this.x, this.y, rows, this.stats);
      } else exchange.noRows();
      this.stopAgreed = await exchange.reduce(s.stop);
      replica.chunkUpdate(0, 1, t);
    }
    optimizer.iterations = t;
  }

  /** The row stage alone: its batch syncs have no one else to wait for. */
  private rows(rows: number, seed: number, step: number, batchRows: number, firstRow: number): void {
    const replica = this.replica;
    if (replica.trainRows(this.x, this.y, rows, 0, 1, seed, step, batchRows, firstRow)) return;
    while (!replica.resumeRows()) {
      // the whole batch is this thread's
    }
  }

  /** The row stage across processes: at each batch sync the statistics get the other processes' rows. */
  private async groupRows(rows: number, seed: number, step: number, batchRows: number, firstRow: number): Promise<void> {
    const replica = this.replica;
    let done = replica.trainRows(this.x, this.y, rows, 0, 1, seed, step, batchRows, firstRow);
    while (!done) {
      const stats = replica.pendingBatchStats();
      await this.exchange!.syncBatchStats(stats.data, stats.width, rows, firstRow, batchRows);
      done = replica.resumeRows();
    }
  }

  async evaluate(x: Float32Array, y: Float32Array, n: number, batchSize: number): Promise<Float64Array> {
    return sumBlocks([this.replica.evaluateBlocks(x, y, 0, n, Math.min(batchSize, EVAL_BLOCK))], this.replica.statsWidth);
  }

  async predict(x: Float32Array, n: number, batchSize: number): Promise<Float32Array> {
    const out = allocFloat32(n * this.replica.model.outputSize);
    this.replica.predictRange(x, out, 0, n, Math.min(batchSize, EVAL_BLOCK));
    return out;
  }

  async close(): Promise<void> {
    releaseToHeap(this.options.model, this.options.optimizer, this.options.maxRows);
    tearDownBackend(this.wasm);
  }
}
