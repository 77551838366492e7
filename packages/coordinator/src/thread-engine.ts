import { MessageChannel } from 'node:worker_threads';
import { wrap, releaseProxy, type Remote } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { Piscina } from 'piscina';
import { allocFloat32 } from '@loom/tensor';
import { partBounds } from './all-reduce.js';
import { Command, Ctrl, abortAll } from './control.js';
import type { Engine, EngineOptions } from './engine.js';
import { specOf } from './local-engine.js';
import { createSharedBuffers, sharedFloat32, type SharedBuffers } from './shared.js';
import { workerExecArgv, workerFilename } from './worker-path.js';
import type { WorkerApi } from './worker.js';

/**
 * W worker threads, one replica each, over shared memory. The main thread fills the batch
 * buffers, bumps SEQ, and waits (without blocking its event loop) for DONE to reach W.
 */
export class ThreadEngine implements Engine {
  readonly workers: number;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly stats: Float64Array;
  private readonly buffers: SharedBuffers;
  private readonly options: EngineOptions;
  private readonly pool: Piscina;
  private readonly remotes: Remote<WorkerApi>[] = [];
  private readonly serving: Promise<void>[] = [];
  private training: Promise<void>[] | null = null;
  private failure: Promise<never>;
  private failed: unknown = null;
  private closed = false;
  private readonly statsWidth: number;
  /** Below this many rows per worker a shard costs more in synchronisation than it saves. */
  readonly minRowsPerWorker: number;

  private constructor(options: EngineOptions, minRowsPerWorker: number) {
    this.options = options;
    this.workers = options.workers;
    this.minRowsPerWorker = minRowsPerWorker;
    const { model, optimizer } = options;
    const p = model.countParams();
    if (!optimizer.built) optimizer.build([p]);
    this.statsWidth = 1 + options.metrics.length;
    this.buffers = createSharedBuffers(p, this.workers, optimizer.slotNames.length, options.maxRows, model.inputSize, options.labelWidth, this.statsWidth);
    // The main thread's model and optimizer become views on the shared state, so after fit
    // (or a crash) they hold exactly what the workers last wrote.
    this.buffers.params.set(model.params);
    model.bindParameters(this.buffers.params, this.buffers.grads.subarray(0, p));
    optimizer.slots[0]!.forEach((s, i) => this.buffers.slots[i]!.set(s));
    optimizer.setSlots([this.buffers.slots]);
    this.x = this.buffers.x;
    this.y = this.buffers.y;
    this.stats = new Float64Array(this.statsWidth);
    this.pool = new Piscina({
      filename: workerFilename(),
      execArgv: workerExecArgv(),
      minThreads: this.workers,
      maxThreads: this.workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      atomics: 'disabled',
    });
    let rejectFailure!: (e: unknown) => void;
    this.failure = new Promise<never>((_, reject) => (rejectFailure = reject));
    this.failure.catch(() => {});
    const fail = (err: unknown) => {
      if (this.failed === null) this.failed = err;
      abortAll(this.buffers.control);
      rejectFailure(this.failed);
    };
    for (let i = 0; i < this.workers; i++) {
      const { port1, port2 } = new MessageChannel();
      const task = this.pool.run({ port: port2 }, { transferList: [port2] as never });
      // A worker that dies (not just throws) ends its piscina task: that is how we hear of it.
      task.catch((err) => {
        if (!this.closed) fail(workerDied(i, err));
      });
      this.serving.push(task);
      this.remotes.push(wrap<WorkerApi>(nodeEndpoint(port1 as never)));
    }
    this.fail = fail;
  }

  private readonly fail: (err: unknown) => void;

  static async create(options: EngineOptions, minRowsPerWorker = 1): Promise<ThreadEngine> {
    const engine = new ThreadEngine(options, minRowsPerWorker);
    const spec = specOf(options);
    await engine.race(Promise.all(engine.remotes.map((r, i) => r.configure(spec, engine.buffers, i, engine.workers, options.faultInjection))));
    return engine;
  }

  /** Resolves with `p`, or rejects as soon as any worker fails. */
  private race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failure]);
  }

  private startTraining(): void {
    if (this.training) return;
    Atomics.store(this.buffers.control, Ctrl.COMMAND, Command.STEP);
    this.training = this.remotes.map((r, i) =>
      r.train().catch((err: unknown) => {
        this.fail(err instanceof Error ? err : new Error(`worker ${i} failed: ${String(err)}`));
      }) as Promise<void>,
    );
  }

  /** Ends the workers' step loops (before evaluate/predict, which use the control plane). */
  private async stopTraining(): Promise<void> {
    if (!this.training) return;
    const ctrl = this.buffers.control;
    Atomics.store(ctrl, Ctrl.COMMAND, Command.EXIT);
    Atomics.add(ctrl, Ctrl.SEQ, 1);
    Atomics.notify(ctrl, Ctrl.SEQ);
    await this.race(Promise.all(this.training));
    this.training = null;
  }

  async trainStep(rows: number, seed: number, step: number): Promise<void> {
    if (this.failed !== null) throw this.failed;
    this.startTraining();
    const ctrl = this.buffers.control;
    const t = this.options.optimizer.iterations + 1;
    const active = Math.max(1, Math.min(this.workers, Math.floor(rows / this.minRowsPerWorker)));
    ctrl[Ctrl.ROWS] = rows;
    ctrl[Ctrl.ACTIVE] = active;
    ctrl[Ctrl.T] = t;
    ctrl[Ctrl.STEP] = step;
    ctrl[Ctrl.SEED] = seed | 0;
    ctrl[Ctrl.COMMAND] = Command.STEP;
    Atomics.store(ctrl, Ctrl.DONE, 0);
    // The fields above are published by this sequentially consistent bump of SEQ.
    Atomics.add(ctrl, Ctrl.SEQ, 1);
    Atomics.notify(ctrl, Ctrl.SEQ);
    for (;;) {
      const done = Atomics.load(ctrl, Ctrl.DONE);
      if (done >= this.workers) break;
      if (this.failed !== null) throw this.failed;
      const w = Atomics.waitAsync(ctrl, Ctrl.DONE, done, 1000);
      if (w.async) await this.race(w.value);
    }
    if (this.failed !== null) throw this.failed;
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
    const xs = this.toShared(x), ys = this.toShared(y);
    const parts = await this.race(Promise.all(this.remotes.map((r, i) => {
      const [from, to] = partBounds(n, this.workers, i);
      return r.evaluate(xs, ys, from, to, batchSize);
    })));
    const total = new Float64Array(this.statsWidth);
    for (const p of parts) for (let i = 0; i < total.length; i++) total[i] += p[i]!;
    return total;
  }

  async predict(x: Float32Array, n: number, batchSize: number): Promise<Float32Array> {
    await this.stopTraining();
    const xs = this.toShared(x);
    const outSize = this.options.model.outputSize;
    const shared = sharedFloat32(n * outSize);
    await this.race(Promise.all(this.remotes.map((r, i) => {
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
    abortAll(this.buffers.control);
    // Ask politely, but never wait on a worker that may be stuck or dead: destroy ends them all.
    await Promise.race([
      Promise.allSettled(this.remotes.map((r) => r.close())),
      new Promise((resolve) => setTimeout(resolve, 200)),
    ]);
    for (const r of this.remotes) r[releaseProxy]();
    await this.pool.destroy();
    await Promise.allSettled(this.serving);
  }
}

function workerDied(index: number, err: unknown): Error {
  const e = new Error(`worker ${index} died: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof Error) e.cause = err;
  return e;
}
