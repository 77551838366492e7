import { allocFloat32, partStart, sharedAllocator, type Allocator } from '@loom/tensor';
import { estimateBytes, setUpBackend, tearDownBackend } from './backend.js';
import { bufferRows, usefulWorkers, type BatchShare, type Engine, type EngineOptions, type FaultInjection } from './engine.js';
import { GroupExchange, checkShare } from './group-exchange.js';
import { EVAL_BLOCK, newControl, placeModel, releaseToHeap, sharedState, stepCapacity, sumBlocks, type SharedState } from './plan.js';
import { Crew } from './crew.js';
import { Replica, specOf, type ReplicaSpec } from './replica.js';
import { AbortedError, Command, Ctrl, abortAll, mainBarrier, spinBudgetMs, waitWhile } from './step-protocol.js';

/** How long the main thread, aborted by a peer, waits for that peer's error to arrive. */
const ABORT_REPORT_MS = 2000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * W workers over shared memory: the main thread is worker 0 and W - 1 threads of the process's
 * pool are the others, one replica each. The main thread fills the batch buffers, bumps SEQ,
 * computes its own shard and part like every worker, and waits (without blocking its event
 * loop for long) at the step's barrier and for DONE to reach W - 1. Taking part itself saves a
 * thread and two wake-ups a step, and with W = cores each worker thread can spin for the next
 * step without taking the main thread's core.
 *
 * A worker that throws or dies before any worker started writing parameters leaves the shared
 * parameters and optimizer state exactly as they were before the step, so the engine replaces
 * the crew and redoes the step, up to `retryWorkerFaults` times in a row.
 */
export class ThreadEngine implements Engine {
  readonly workers: number;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly stats: Float64Array;
  /** A worker computes a shard only when it brings this much work (see usefulWorkers). */
  readonly minWorkPerWorker: number;
  readonly backend: 'wasm' | 'js';
  /** The model's work per sample (`Sequential.workPerSample`): how many workers a batch keeps busy. */
  private readonly work: number;
  private readonly state: SharedState;
  private readonly options: EngineOptions;
  private readonly spec: ReplicaSpec;
  private readonly statsWidth: number;
  /** Worker 0: the main thread's own replica, on the model itself. */
  private readonly main: Replica;
  private readonly spinMs: number;
  private crew: Crew;
  /** Across processes: the gradient's all-reduce and the stats' sum, between the chunk stage's halves. */
  private readonly exchange: GroupExchange | null;
  stopAgreed = false;
  private fault: FaultInjection | undefined;
  private consecutiveFaults = 0;
  private closed = false;

  private constructor(options: EngineOptions, minWorkPerWorker: number) {
    this.options = options;
    this.workers = options.workers;
    this.minWorkPerWorker = minWorkPerWorker;
    this.fault = options.faultInjection;
    if (this.fault?.kind === 'exit' && this.fault.worker === 0) {
      throw new RangeError('faultInjection: worker 0 is the main thread; an exit fault needs a worker thread (1 or more)');
    }
    const { model, optimizer } = options;
    this.work = model.workPerSample();
    if (!optimizer.built) optimizer.build([model.countParams()]);
    this.statsWidth = 1 + options.metrics.length;
    const capacity = stepCapacity(bufferRows(options), this.workers);
    const { wasm, allocator } = setUpBackend(options.backend, estimateBytes(model, optimizer.slotNames.length, options.maxRows, capacity));
    const alloc: Allocator = wasm ? allocator : sharedAllocator;
    this.backend = wasm ? 'wasm' : 'js';
    // The main thread's model and optimizer become views on the shared state, so after fit
    // (or a crash) they hold exactly what the workers last wrote.
    placeModel(model, optimizer, alloc, capacity);
    this.state = sharedState(model, optimizer, alloc, wasm, options.maxRows, options.labelWidth, capacity);
    this.x = this.state.x;
    this.y = this.state.y;
    this.stats = new Float64Array(this.statsWidth);
    this.spec = specOf(options);
    this.main = new Replica(this.spec, model, optimizer, alloc);
    this.spinMs = spinBudgetMs(this.workers);
    this.crew = new Crew(this.workers - 1, this.state.control);
    this.exchange = options.group ? new GroupExchange(options.group, this.state.grads, this.stats) : null;
  }

  static async create(options: EngineOptions, minWorkPerWorker = 0): Promise<ThreadEngine> {
    const engine = new ThreadEngine(options, minWorkPerWorker);
    try {
      await engine.configureCrew();
    } catch (err) {
      await engine.close();
      throw err;
    }
    return engine;
  }

  private async configureCrew(): Promise<void> {
    const crew = this.crew, fault = this.fault;
    await crew.race(Promise.all(crew.remotes.map((r, t) => r.configure(this.spec, this.state, t + 1, this.workers, fault))));
  }

  /**
   * Replaces every worker thread after a fault. Parameters, optimizer state and batch stay; the
   * new crew gets its own control array, so nothing of the old crew can join its barriers. The
   * old crew's tasks have all ended (or its pool was terminated) by now, so no straggler writes
   * into the step buffers or the gradient either.
   */
  private async replaceCrew(): Promise<void> {
    this.state.control = newControl();
    if (!this.fault?.persistent) this.fault = undefined; // an injected fault fires once
    this.crew = new Crew(this.workers - 1, this.state.control);
    await this.configureCrew();
  }

  private startTraining(): void {
    const crew = this.crew;
    if (crew.training) return;
    Atomics.store(this.state.control, Ctrl.COMMAND, Command.STEP);
    crew.training = crew.remotes.map((r, t) =>
      r.train().catch((err: unknown) => {
        crew.fail(err instanceof Error ? err : new Error(`worker ${t + 1} failed: ${String(err)}`));
      }) as Promise<void>,
    );
  }

  /** Ends the workers' step loops (before evaluate/predict, which use the control plane). */
  private async stopTraining(): Promise<void> {
    const crew = this.crew;
    if (!crew.training) return;
    const ctrl = this.state.control;
    Atomics.store(ctrl, Ctrl.COMMAND, Command.EXIT);
    Atomics.add(ctrl, Ctrl.SEQ, 1);
    Atomics.notify(ctrl, Ctrl.SEQ);
    await crew.race(Promise.all(crew.training));
    crew.training = null;
  }

  async trainStep(rows: number, seed: number, step: number, share?: BatchShare): Promise<void> {
    const retries = this.options.retryWorkerFaults ?? 0;
    if (this.exchange) checkShare(share, rows);
    for (;;) {
      try {
        await this.runStep(rows, seed, step, share);
        this.consecutiveFaults = 0;
        return;
      } catch (err) {
        if (this.closed || this.consecutiveFaults >= retries) throw err;
        // Only once every old thread is done is UPDATING final: a step is redone only if no
        // worker began writing parameters.
        const ctrl = this.state.control;
        await this.crew.close();
        if (Atomics.load(ctrl, Ctrl.UPDATING) !== 0) throw err;
        this.consecutiveFaults++;
        const t = this.options.optimizer.iterations + 1;
        process.emitWarning(
          `worker fault at step ${t}: ${err instanceof Error ? err.message : String(err)}; replacing the workers and redoing the step (retry ${this.consecutiveFaults} of ${retries})`,
          { code: 'LOOM_WORKER_FAULT' },
        );
        await this.replaceCrew();
      }
    }
  }

  private async runStep(rows: number, seed: number, step: number, share: BatchShare | undefined): Promise<void> {
    const crew = this.crew;
    if (crew.failed !== null) throw crew.failed;
    const exchange = this.exchange;
    if (exchange && rows === 0) return this.emptyShare(share!, seed, step);
    this.startTraining();
    const ctrl = this.state.control;
    const t = this.options.optimizer.iterations + 1;
    // createEngine's rule for this batch (the last of an epoch may be smaller), at least a row each.
    const active = Math.min(rows, usefulWorkers(this.workers, this.work, rows, this.minWorkPerWorker));
    ctrl[Ctrl.ROWS] = rows;
    ctrl[Ctrl.ACTIVE] = active;
    ctrl[Ctrl.T] = t;
    ctrl[Ctrl.STEP] = step;
    ctrl[Ctrl.SEED] = seed | 0;
    ctrl[Ctrl.BATCH_ROWS] = share ? share.batchRows : rows;
    ctrl[Ctrl.FIRST_ROW] = share ? share.firstRow : 0;
    ctrl[Ctrl.EXCHANGE] = exchange ? 1 : 0;
    ctrl[Ctrl.COMMAND] = Command.STEP;
    Atomics.store(ctrl, Ctrl.DONE, 0);
    Atomics.store(ctrl, Ctrl.UPDATING, 0);
    Atomics.store(ctrl, Ctrl.GRADS, 0);
    Atomics.store(ctrl, Ctrl.REDUCED, 0);
    Atomics.store(ctrl, Ctrl.SYNCED, 0);
    // The fields above are published by this sequentially consistent bump of SEQ.
    Atomics.add(ctrl, Ctrl.SEQ, 1);
    Atomics.notify(ctrl, Ctrl.SEQ);
    const main = this.main, workers = this.workers;
    try {
      const fault = this.fault;
      if (fault && fault.worker === 0 && fault.atStep === t) throw new Error(`injected fault in worker 0 at step ${t}`);
      // A layer with batch statistics stops the row stage until every worker's rows are in.
      // Across processes the main thread then adds the other processes' rows to the statistics
      // (and from the first such exchange on, the step cannot be redone) before the workers go on.
      let done = main.trainRows(this.x, this.y, rows, 0, active, seed, step, ctrl[Ctrl.BATCH_ROWS]!, ctrl[Ctrl.FIRST_ROW]!);
      while (!done) {
        await mainBarrier(ctrl, workers, this.spinMs, crew.failure);
        if (exchange) {
          if (Atomics.load(ctrl, Ctrl.SYNCED) === 0) Atomics.add(ctrl, Ctrl.UPDATING, 1);
          const stats = main.pendingBatchStats();
          await exchange.syncBatchStats(stats.data, stats.width, rows, share!.firstRow, share!.batchRows);
          if (crew.failed !== null) throw crew.failed;
          Atomics.add(ctrl, Ctrl.SYNCED, 1);
          Atomics.notify(ctrl, Ctrl.SYNCED);
        }
        done = main.resumeRows();
      }
      await mainBarrier(ctrl, workers, this.spinMs, crew.failure);
      main.chunkGradients(this.x, rows, 0, workers);
      main.batchStats(this.x, this.y, rows, this.stats);
      if (exchange) {
        await this.waitForCount(Ctrl.GRADS);
        // From here the step cannot be redone: the other ranks have this rank's gradient. The
        // exchange is not raced against the crew, so a thread that dies meanwhile (its peers
        // sleep on REDUCED) never leaves this rank's half of a collective behind.
        Atomics.add(ctrl, Ctrl.UPDATING, 1);
        this.stopAgreed = await exchange.reduce(share!.stop);
        if (crew.failed !== null) throw crew.failed;
        Atomics.store(ctrl, Ctrl.REDUCED, 1);
        Atomics.notify(ctrl, Ctrl.REDUCED);
      }
      Atomics.add(ctrl, Ctrl.UPDATING, 1);
      main.chunkUpdate(0, workers, t);
      // The worker threads' updates are done when DONE reaches W - 1 (each increment is a full barrier).
      await this.waitForCount(Ctrl.DONE);
    } catch (err) {
      abortAll(ctrl);
      // A worker thread's failure is the one to report: the main thread may see the abort
      // before the thread's error arrives over its port, so give it a moment to.
      if (err instanceof AbortedError && crew.failed === null) await Promise.race([crew.failure.catch(() => {}), delay(ABORT_REPORT_MS)]);
      if (crew.failed !== null) throw crew.failed;
      crew.fail(err);
      throw err;
    }
    if (crew.failed !== null) throw crew.failed;
    this.options.optimizer.iterations = t;
  }

  /** Waits until the counter at `index` reaches W - 1 (every worker thread), hearing of failures. */
  private async waitForCount(index: number): Promise<void> {
    const ctrl = this.state.control, target = this.workers - 1, failure = this.crew.failure;
    for (let n = Atomics.load(ctrl, index); n < target; n = Atomics.load(ctrl, index)) {
      await waitWhile(ctrl, index, n, this.spinMs, failure);
      if (Atomics.load(ctrl, Ctrl.ABORT) !== 0) throw new AbortedError();
    }
  }

  /**
   * A rank with no rows in a small last batch still takes part in the exchange, and then updates
   * every parameter itself (an elementwise update, so the bits of any split).
   */
  private async emptyShare(share: BatchShare, seed: number, step: number): Promise<void> {
    const t = this.options.optimizer.iterations + 1;
    const main = this.main, exchange = this.exchange!;
    // A model with batch statistics: the main thread alone meets every batch sync with no rows,
    // so the other ranks' exchanges have their partner and this rank gets the batch's statistics.
    if (main.batchSyncs > 0) {
      let done = main.trainRows(this.x, this.y, 0, 0, 1, seed, step, share.batchRows, share.firstRow);
      while (!done) {
        const stats = main.pendingBatchStats();
        await exchange.syncBatchStats(stats.data, stats.width, 0, share.firstRow, share.batchRows);
        done = main.resumeRows();
      }
    }
    exchange.noRows();
    this.stopAgreed = await exchange.reduce(share.stop);
    main.chunkUpdate(0, 1, t);
    this.options.optimizer.iterations = t;
  }

  private toShared(a: Float32Array): Float32Array {
    if (a.buffer instanceof SharedArrayBuffer) return a;
    const s = sharedAllocator.float32(a.length);
    s.set(a);
    return s;
  }

  /**
   * Worker i's samples for inference: whole blocks [partStart(blocks, W, i), partStart(blocks, W, i+1)),
   * so every block is summed by one worker and the totals do not depend on W.
   */
  private blockRange(n: number, block: number, i: number): [number, number] {
    const blocks = Math.ceil(n / block);
    return [Math.min(n, partStart(blocks, this.workers, i) * block), Math.min(n, partStart(blocks, this.workers, i + 1) * block)];
  }

  /** Rows of an inference block: each worker's window of the step buffers holds one. */
  private block(batchSize: number): number {
    return Math.min(batchSize, EVAL_BLOCK);
  }

  async evaluate(x: Float32Array, y: Float32Array, n: number, batchSize: number): Promise<Float64Array> {
    await this.stopTraining();
    const crew = this.crew;
    const xs = this.toShared(x), ys = this.toShared(y), block = this.block(batchSize);
    const others = crew.race(Promise.all(crew.remotes.map((r, t) => r.evaluate(xs, ys, ...this.blockRange(n, block, t + 1), block))));
    others.catch(() => {}); // awaited below; this only keeps a failure of the main thread's part from leaving it unhandled
    // Worker 0's blocks, in the main thread's window (row 0), while the threads run theirs.
    const mine = this.main.evaluateBlocks(xs, ys, ...this.blockRange(n, block, 0), block, 0);
    return sumBlocks([mine, ...(await others)], this.statsWidth);
  }

  async predict(x: Float32Array, n: number, batchSize: number): Promise<Float32Array> {
    await this.stopTraining();
    const crew = this.crew;
    const xs = this.toShared(x), block = this.block(batchSize);
    const outSize = this.options.model.outputSize;
    const shared = sharedAllocator.float32(n * outSize);
    const others = crew.race(Promise.all(crew.remotes.map((r, t) => r.predict(xs, shared, ...this.blockRange(n, block, t + 1), block))));
    others.catch(() => {}); // awaited below, as in evaluate
    this.main.predictRange(xs, shared, ...this.blockRange(n, block, 0), block, 0);
    await others;
    const out = allocFloat32(n * outSize);
    out.set(shared);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.crew.close();
    releaseToHeap(this.options.model, this.options.optimizer, this.options.maxRows);
    tearDownBackend(this.state.wasm);
  }
}
