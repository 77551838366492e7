import { Piscina } from 'piscina';
import { workerExecArgv, workerFilename } from './worker-path.js';

/**
 * The process's worker threads: one piscina pool, started on first use and reused by every
 * engine (every fit, evaluate and predict of every model), so threads, their JIT-compiled code
 * and their instance of the kernels outlive a fit. An engine leases W threads by running one
 * long `serve` task on each (concurrentTasksPerWorker 1 puts each task on a thread of its own),
 * and hands them back by ending those tasks. piscina unrefs a thread with no task, so an idle
 * pool never keeps the process alive; `shutdown()` ends it.
 */

interface PoolEntry {
  pool: Piscina;
  /** Counts the pools this process started: for tests and reports. */
  generation: number;
  threads: number;
  /** Engines whose tasks run on it; a pool replaced by a larger one is destroyed once this is 0. */
  leases: number;
}

let current: PoolEntry | null = null;
let generations = 0;
const retired = new Set<PoolEntry>();

/** A pool of at least `threads` threads: the current one, or a larger one that replaces it. */
export function leasePool(threads: number): { pool: Piscina; release: () => Promise<void> } {
  if (!current || current.threads < threads) {
    const old = current;
    current = {
      pool: new Piscina({
        filename: workerFilename(),
        execArgv: workerExecArgv(),
        minThreads: threads,
        maxThreads: threads,
        concurrentTasksPerWorker: 1,
        idleTimeout: Number.POSITIVE_INFINITY,
        atomics: 'disabled',
      }),
      generation: ++generations,
      threads,
      leases: 0,
    };
    // The smaller pool goes once the engines still on it are done (at once if none are).
    if (old) {
      retired.add(old);
      if (old.leases === 0) void destroy(old);
    }
  }
  const entry = current;
  entry.leases++;
  let released = false;
  return {
    pool: entry.pool,
    release: async () => {
      if (released) return;
      released = true;
      entry.leases--;
      if (entry.leases === 0 && retired.has(entry)) await destroy(entry);
    },
  };
}

/**
 * Terminates every thread of the pool at once: for threads that may be stuck (a fault that did
 * not let them finish their task). The next lease starts a new pool.
 */
export async function destroyPool(pool: Piscina): Promise<void> {
  const entry = current?.pool === pool ? current : [...retired].find((e) => e.pool === pool);
  if (!entry) return;
  if (entry === current) current = null;
  await destroy(entry);
}

async function destroy(entry: PoolEntry): Promise<void> {
  retired.delete(entry);
  await entry.pool.destroy();
}

/**
 * Ends the process's worker threads (`await shutdown()` from `@loom/loom`). Harmless to call
 * twice, and a later fit starts a new pool. Engines still running lose their threads, so call
 * it when training is over.
 */
export async function shutdown(): Promise<void> {
  const all = [...retired, ...(current ? [current] : [])];
  current = null;
  await Promise.all(all.map(destroy));
}

/** The current pool: its threads (0 before first use or after shutdown) and which pool of this process it is. */
export function poolInfo(): { threads: number; generation: number } {
  return { threads: current?.threads ?? 0, generation: current?.generation ?? 0 };
}
