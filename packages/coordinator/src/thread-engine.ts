import { MessageChannel } from 'node:worker_threads';
import { wrap, releaseProxy, type Remote } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Piscina } from 'piscina';
import { allocFloat32, type Allocator } from '@loom/tensor';
import { partBounds } from './all-reduce.js';
import { Command, Ctrl, abortAll } from './control.js';
import { usefulWorkers, type Engine, type EngineOptions, type FaultInjection } from './engine.js';
import { releaseToHeap, specOf } from './local-engine.js';
import { estimateBytes, setUpBackend, tearDownBackend } from './backend.js';
import type { ReplicaSpec } from './replica.js';
import { createCrewBuffers, createSharedBuffers, sharedFloat32, type SharedBuffers } from './shared.js';
import { workerExecArgv, workerFilename } from './worker-path.js';
import type { WorkerApi } from './worker.js';

/**
 * One generation of worker threads: a piscina pool running one long `serve` task per thread,
 * and a comlink proxy per thread. Replaced whole when a worker fails and the step is retried.
 */
class Crew {
  readonly pool: Piscina;
  readonly remotes: Remote<WorkerApi>[] = [];
  readonly serving: Promise<void>[] = [];
  /** Rejects with the first failure of any worker; every wait races against it. */
  readonly failure: Promise<never>;
  failed: unknown = null;
  training: Promise<void>[] | null = null;
  closed = false;
  private rejectFailure!: (e: unknown) => void;

  constructor(workers: number, private readonly control: Int32Array) {
    this.pool = new Piscina({
      filename: workerFilename(),
      execArgv: workerExecArgv(),
      minThreads: workers,
      maxThreads: workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      atomics: 'disabled',
    });
    this.failure = new Promise<never>((_, reject) => (this.rejectFailure = reject));
    this.failure.catch(() => {});
    for (let i = 0; i < workers; i++) {
      const { port1, port2 } = new MessageChannel();
      const task = this.pool.run({ port: port2 }, { transferList: [port2] as never });
      // A worker that dies (not just throws) ends its piscina task: that is how we hear of it.
      task.catch((err) => {
        if (!this.closed) this.fail(workerDied(i, err));
      });
      this.serving.push(task);
      this.remotes.push(wrap<WorkerApi>(nodeEndpoint(port1 as never)));
    }
  }

  fail(err: unknown): void {
    if (this.failed === null) this.failed = err;
    abortAll(this.control);
    this.rejectFailure(this.failed);
  }

  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failure]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    abortAll(this.control);
    // Ask politely, but never wait on a worker that may be stuck or dead: destroy ends them all.
    await Promise.race([Promise.allSettled(this.remotes.map((r) => r.close())), new Promise((r) => setTimeout(r, 200))]);
    for (const r of this.remotes) r[releaseProxy]();
    await this.pool.destroy();
    await Promise.allSettled(this.serving);
  }
}

/**
 * W worker threads, one replica each, over shared memory. The main thread fills the batch
 * buffers, bumps SEQ, and waits (without blocking its event loop) for DONE to reach W.
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
  private readonly params: number;
  readonly backend: 'wasm' | 'js';
  private readonly buffers: SharedBuffers;
  private readonly alloc: Allocator;
  private readonly options: EngineOptions;
  private readonly spec: ReplicaSpec;
  private readonly statsWidth: number;
  private crew: Crew;
  private fault: FaultInjection | undefined;
  private consecutiveFaults = 0;
  private closed = false;

  private constructor(options: EngineOptions, minWorkPerWorker: number) {
    this.options = options;
    this.workers = options.workers;
    this.minWorkPerWorker = minWorkPerWorker;
    this.fault = options.faultInjection;
    const { model, optimizer } = options;
    const p = model.countParams();
    this.params = p;
    if (!optimizer.built) optimizer.build([p]);
    this.statsWidth = 1 + options.metrics.length;
    const slotCount = optimizer.slotNames.length;
    const activations = model.layers.reduce((sum, l) => sum + 4 * l.outputSize, model.inputSize);
    const { wasm, allocator } = setUpBackend(options.backend, estimateBytes(p, this.workers, slotCount, options.maxRows, activations));
    this.alloc = allocator;
    this.backend = wasm ? 'wasm' : 'js';
    this.buffers = createSharedBuffers(p, this.workers, slotCount, options.maxRows, model.inputSize, options.labelWidth, this.statsWidth, allocator, wasm);
    // The main thread's model and optimizer become views on the shared state, so after fit
    // (or a crash) they hold exactly what the workers last wrote.
    this.buffers.params.set(model.params);
    model.bindParameters(this.buffers.params, this.buffers.grads.subarray(0, p));
    optimizer.slots[0]!.forEach((s, i) => this.buffers.slots[i]!.set(s));
    optimizer.setSlots([this.buffers.slots]);
    this.x = this.buffers.x;
    this.y = this.buffers.y;
    this.stats = new Float64Array(this.statsWidth);
    this.spec = specOf(options);
    this.crew = new Crew(this.workers, this.buffers.control);
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
    await crew.race(Promise.all(crew.remotes.map((r, i) => r.configure(this.spec, this.buffers, i, this.workers, fault))));
  }

  /**
   * Replaces every worker after a fault. Parameters, optimizer state and batch stay; the new
   * crew gets its own control array, gradient rows and stats, so a straggler of the old crew
   * (one still finishing a shard when it was told to stop) can never join the new crew's
   * barriers or write into the gradients it reduces. It cannot write parameters either: that
   * needs its own crew's barrier, which a dead peer never completes.
   */
  private async replaceCrew(): Promise<void> {
    await this.crew.close();
    const fresh = createCrewBuffers(this.options.model.countParams(), this.workers, this.statsWidth, this.alloc);
    this.buffers.control = fresh.control;
    this.buffers.grads = fresh.grads;
    this.buffers.stats = fresh.stats;
    const { model } = this.options;
    model.bindParameters(this.buffers.params, fresh.grads.subarray(0, model.countParams()));
    if (!this.fault?.persistent) this.fault = undefined; // an injected fault fires once
    this.crew = new Crew(this.workers, fresh.control);
    await this.configureCrew();
  }

  private startTraining(): void {
    const crew = this.crew;
    if (crew.training) return;
    Atomics.store(this.buffers.control, Ctrl.COMMAND, Command.STEP);
    crew.training = crew.remotes.map((r, i) =>
      r.train().catch((err: unknown) => {
        crew.fail(err instanceof Error ? err : new Error(`worker ${i} failed: ${String(err)}`));
      }) as Promise<void>,
    );
  }

  /** Ends the workers' step loops (before evaluate/predict, which use the control plane). */
  private async stopTraining(): Promise<void> {
    const crew = this.crew;
    if (!crew.training) return;
    const ctrl = this.buffers.control;
    Atomics.store(ctrl, Ctrl.COMMAND, Command.EXIT);
    Atomics.add(ctrl, Ctrl.SEQ, 1);
    Atomics.notify(ctrl, Ctrl.SEQ);
    await crew.race(Promise.all(crew.training));
    crew.training = null;
  }

  async trainStep(rows: number, seed: number, step: number): Promise<void> {
    const retries = this.options.retryWorkerFaults ?? 0;
    for (;;) {
      try {
        await this.runStep(rows, seed, step);
        this.consecutiveFaults = 0;
        return;
      } catch (err) {
        if (this.closed || this.consecutiveFaults >= retries) throw err;
        // Only once every old thread is gone is UPDATING final: a step is redone only if no
        // worker began writing parameters.
        const ctrl = this.buffers.control;
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

  private async runStep(rows: number, seed: number, step: number): Promise<void> {
    const crew = this.crew;
    if (crew.failed !== null) throw crew.failed;
    this.startTraining();
    const ctrl = this.buffers.control;
    const t = this.options.optimizer.iterations + 1;
    // createEngine's rule for this batch (the last of an epoch may be smaller), at least a row each.
    const active = Math.min(rows, usefulWorkers(this.workers, this.params, rows, this.minWorkPerWorker));
    ctrl[Ctrl.ROWS] = rows;
    ctrl[Ctrl.ACTIVE] = active;
    ctrl[Ctrl.T] = t;
    ctrl[Ctrl.STEP] = step;
    ctrl[Ctrl.SEED] = seed | 0;
    ctrl[Ctrl.COMMAND] = Command.STEP;
    Atomics.store(ctrl, Ctrl.DONE, 0);
    Atomics.store(ctrl, Ctrl.UPDATING, 0);
    // The fields above are published by this sequentially consistent bump of SEQ.
    Atomics.add(ctrl, Ctrl.SEQ, 1);
    Atomics.notify(ctrl, Ctrl.SEQ);
    for (;;) {
      const done = Atomics.load(ctrl, Ctrl.DONE);
      if (done >= this.workers) break;
      if (crew.failed !== null) throw crew.failed;
      const w = Atomics.waitAsync(ctrl, Ctrl.DONE, done, 1000);
      if (w.async) await crew.race(w.value);
    }
    if (crew.failed !== null) throw crew.failed;
    this.options.optimizer.iterations = t;
    const s = this.buffers.stats, out = this.stats, width = this.statsWidth;
    out.fill(0);
    for (let wkr = 0; wkr < active; wkr++) for (let i = 0; i < width; i++) out[i] += s[wkr * width + i]!;
  }

  private toShared(a: Float32Array): Float32Array {
    if (a.buffer instanceof SharedArrayBuffer) return a;
    const s = sharedFloat32(a.length);
    s.set(a);
    return s;
  }

  async evaluate(x: Float32Array, y: Float32Array, n: number, batchSize: number): Promise<Float64Array> {
    await this.stopTraining();
    const crew = this.crew;
    const xs = this.toShared(x), ys = this.toShared(y);
    const parts = await crew.race(Promise.all(crew.remotes.map((r, i) => {
      const [from, to] = partBounds(n, this.workers, i);
      return r.evaluate(xs, ys, from, to, batchSize);
    })));
    const total = new Float64Array(this.statsWidth);
    for (const p of parts) for (let i = 0; i < total.length; i++) total[i] += p[i]!;
    return total;
  }

  async predict(x: Float32Array, n: number, batchSize: number): Promise<Float32Array> {
    await this.stopTraining();
    const crew = this.crew;
    const xs = this.toShared(x);
    const outSize = this.options.model.outputSize;
    const shared = sharedFloat32(n * outSize);
    await crew.race(Promise.all(crew.remotes.map((r, i) => {
      const [from, to] = partBounds(n, this.workers, i);
      return r.predict(xs, shared, from, to, batchSize);
    })));
    const out = allocFloat32(n * outSize);
    out.set(shared);
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.crew.close();
    releaseToHeap(this.options);
    tearDownBackend(this.buffers.wasm);
  }
}

function workerDied(index: number, err: unknown): Error {
  const e = new Error(`worker ${index} died: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof Error) e.cause = err;
  return e;
}
