import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { wrap, releaseProxy, type Remote } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { Piscina } from 'piscina';
import { destroyPool, leasePool } from './pool.js';
import { abortAll } from './step-protocol.js';
import type { WorkerApi } from './worker.js';

/** How long a crew waits for its threads to finish their tasks before it terminates the pool. */
const CLOSE_GRACE_MS = 1000;

/**
 * The worker threads one engine leases from the process's pool (workers 1..W-1; the main
 * thread is worker 0), each running one long `serve` task, with a comlink proxy each.
 * Replaced whole when a worker fails and the step is redone.
 */
export class Crew {
  readonly remotes: Remote<WorkerApi>[] = [];
  readonly serving: Promise<void>[] = [];
  /** Rejects with the first failure of any worker; every wait races against it. */
  readonly failure: Promise<never>;
  failed: unknown = null;
  training: Promise<void>[] | null = null;
  closed = false;
  private readonly ports: MessagePort[] = [];
  private readonly pool: Piscina | null;
  private readonly release: () => Promise<void>;
  private rejectFailure!: (e: unknown) => void;

  constructor(threads: number, private readonly control: Int32Array) {
    // workers: 1 on a ThreadEngine is the main thread alone: nothing to lease.
    ({ pool: this.pool, release: this.release } = threads > 0 ? leasePool(threads) : { pool: null, release: async () => {} });
    this.failure = new Promise<never>((_, reject) => (this.rejectFailure = reject));
    this.failure.catch(() => {});
    for (let t = 0; t < threads; t++) {
      const i = t + 1; // the worker index: 0 is the main thread
      const { port1, port2 } = new MessageChannel();
      const task = this.pool!.run({ port: port2 }, { transferList: [port2] as never });
      // A worker that dies (not just throws) ends its piscina task: that is how we hear of it.
      // piscina starts a thread in its place for the next lease.
      task.catch((err) => {
        if (!this.closed) this.fail(workerDied(i, err));
      });
      this.serving.push(task);
      this.ports.push(port1);
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

  /**
   * Ends the crew's tasks, so its threads go back to the pool; resolves once no thread of it
   * runs anything of this engine. A thread that does not finish in time (stuck, or dead
   * without a word) takes the whole pool with it: terminating is the only sure stop.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    abortAll(this.control);
    void Promise.allSettled(this.remotes.map((r) => r.close()));
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      Promise.allSettled(this.serving).then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), CLOSE_GRACE_MS))),
    ]);
    clearTimeout(timer);
    if (!ended && this.pool) {
      await destroyPool(this.pool);
      await Promise.allSettled(this.serving);
    }
    for (const r of this.remotes) r[releaseProxy]();
    for (const p of this.ports) p.close();
    await this.release();
  }
}

function workerDied(index: number, err: unknown): Error {
  const e = new Error(`worker ${index} died: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof Error) e.cause = err;
  return e;
}
