import os from 'node:os';
/**
 * The step protocol: one shared Int32Array that the main thread and the workers synchronise on
 * with Atomics. Every index has a name; every ordering decision is commented where it is made.
 *
 * One training step, and who may read what when. W workers: worker 0 is the main thread, workers
 * 1..W-1 are threads of the process's pool; the first ACTIVE of them compute a shard (plan.ts
 * has the buffers):
 *
 * 1. The main thread writes the batch into x/y and the step's fields below, then bumps SEQ.
 *    Worker threads spin briefly on SEQ before they sleep, so a step usually starts without a
 *    wake-up.
 * 2. Row stage, worker i < ACTIVE, rows [partStart(ROWS, ACTIVE, i), partStart(ROWS, ACTIVE, i+1)):
 *    forward, loss gradient and backward through every layer, all on its own rows. It reads
 *    the parameters and writes only its own rows of the step buffers. No barrier between
 *    layers: a shard's input gradient needs only its own rows.
 * 3. One barrier of all W: every row of every layer's activations and output gradients is
 *    written, and every read of the parameters for this step is over. The main thread waits
 *    at it without blocking its event loop for long (`mainBarrier`), since that is where it
 *    hears of a dead worker thread.
 * 4. Chunk stage, every worker i (< W): part i of every weight gradient (weightChunks) over all
 *    ROWS rows in row order, reading every shard's rows; then the optimizer on exactly those
 *    parameter and slot ranges. Nobody else writes them, and nobody reads parameters until the
 *    next step, so the update needs no second barrier. The main thread then sums the batch's
 *    loss and metrics over all rows.
 * 5. DONE: each worker thread increments it after its update (a full barrier); the main thread
 *    waits until it reaches W - 1 before it touches x/y or reads parameters again.
 *
 * Across processes (EXCHANGE = 1) stage 4 has two halves: each worker computes its gradient part
 * and increments GRADS; the main thread, once GRADS reaches W - 1, all-reduces the whole gradient
 * with the other processes and sets REDUCED; only then does every worker update its part.
 */
export const Ctrl = {
  /** Bumped by the main thread to start a step (or to deliver EXIT); workers wait on it. */
  SEQ: 0,
  /** What the bump means: STEP or EXIT. Written before SEQ is bumped. */
  COMMAND: 1,
  /** Rows in the current batch. */
  ROWS: 2,
  /** Workers that compute a shard this step (the rest only take part in the reduce). */
  ACTIVE: 3,
  /** The optimizer's 1-based step number t. */
  T: 4,
  /** The step's counter for dropout keys (global step since the start of training). */
  STEP: 5,
  /** The fit's seed (dropout keys). */
  SEED: 6,
  /** Barrier arrival count and generation (sense reversal without a sense bit). */
  BARRIER_COUNT: 7,
  BARRIER_GEN: 8,
  /** Workers finished with the current step; the main thread waits for it to reach W. */
  DONE: 9,
  /** Set to 1 when any party fails: every wait loop checks it so nobody waits forever. */
  ABORT: 10,
  /**
   * Workers that began writing parameters this step, plus one once the gradient went to the other
   * processes: a failed step is retryable only while it is 0.
   */
  UPDATING: 11,
  /** 1 when the step's gradient is all-reduced across processes between the chunk stage's halves. */
  EXCHANGE: 12,
  /** Exchange steps: worker threads done with their gradient part; the main thread waits for W - 1. */
  GRADS: 13,
  /** Exchange steps: set to 1 by the main thread once the gradient holds the group's sum. */
  REDUCED: 14,
  /** Rows of the global batch (the loss scale) and this rank's first row in it (dropout keys). */
  BATCH_ROWS: 15,
  FIRST_ROW: 16,
  /**
   * Exchange steps with batch syncs: how many of this step's batch statistics the main thread
   * has combined with the other processes'; a worker at sync k waits until it reaches k.
   */
  SYNCED: 17,
} as const;

export const CONTROL_LENGTH = 32;

export const Command = { STEP: 1, EXIT: 2 } as const;

/** How long a blocked thread sleeps before re-checking ABORT (ms): bounds the time to notice a dead peer. */
export const WAIT_SLICE_MS = 50;

/**
 * How long a worker spins at the step's barrier before sleeping (ms), when every worker has a
 * core of its own (the main thread sleeps during a step). Covers the usual imbalance between
 * shards (0.1–0.4 ms measured at batch 100); 2 workers at batch 100 went 5.75 → 5.62 ms a step
 * (best of 5, interleaved).
 */
export const BARRIER_SPIN_MS = 1;

/** The spin budget for a step of `workers` threads: none when they would take each other's cores. */
export function spinBudgetMs(workers: number): number {
  return workers <= os.availableParallelism() ? BARRIER_SPIN_MS : 0;
}

/**
 * How long a worker thread spins for the next step before it sleeps on SEQ (ms), when every
 * thread of the step has a core of its own: the main thread (worker 0) spends about 0.2 ms
 * between steps gathering the next batch, and a futex wake-up would cost about as much again.
 */
export const SEQ_SPIN_MS = 1;

export class AbortedError extends Error {
  constructor() {
    super('step aborted: another worker failed');
    this.name = 'AbortedError';
  }
}

/**
 * Arrives at the barrier; true when this was the last of `parties` and so released the others.
 * The count is reset BEFORE the generation is bumped, so a thread released early cannot arrive
 * at the next barrier and see a stale count.
 */
function arrive(ctrl: Int32Array, parties: number): boolean {
  if (Atomics.add(ctrl, Ctrl.BARRIER_COUNT, 1) !== parties - 1) return false;
  Atomics.store(ctrl, Ctrl.BARRIER_COUNT, 0);
  Atomics.add(ctrl, Ctrl.BARRIER_GEN, 1);
  Atomics.notify(ctrl, Ctrl.BARRIER_GEN);
  return true;
}

/**
 * Spins for up to `spinMs` while ctrl[index] is `value` and nobody aborted (as OpenMP runtimes
 * do): a peer a fraction of a millisecond behind then releases the waiter without a futex
 * wake-up, which costs about 0.1 ms. Worth it only when every spinning thread has a core.
 */
export function spinWhile(ctrl: Int32Array, index: number, value: number, spinMs: number): void {
  if (spinMs <= 0) return;
  const until = performance.now() + spinMs;
  while (Atomics.load(ctrl, index) === value && Atomics.load(ctrl, Ctrl.ABORT) === 0 && performance.now() < until) {
    // busy-wait
  }
}

/**
 * Blocks until every one of `parties` threads has arrived; the others sleep on the generation
 * word. ABORT is checked after waking as well as while waiting: a barrier that a dead peer never
 * reaches must throw, never let the survivors go on to write parameters.
 */
export function barrier(ctrl: Int32Array, parties: number, spinMs = 0): void {
  const gen = Atomics.load(ctrl, Ctrl.BARRIER_GEN);
  if (!arrive(ctrl, parties)) {
    spinWhile(ctrl, Ctrl.BARRIER_GEN, gen, spinMs);
    while (Atomics.load(ctrl, Ctrl.BARRIER_GEN) === gen) {
      if (Atomics.load(ctrl, Ctrl.ABORT) !== 0) throw new AbortedError();
      Atomics.wait(ctrl, Ctrl.BARRIER_GEN, gen, WAIT_SLICE_MS);
    }
  }
  if (Atomics.load(ctrl, Ctrl.ABORT) !== 0) throw new AbortedError();
}

/**
 * The main thread's side of `barrier`: it takes part in the step as worker 0, but must never
 * block its event loop for long, because that is where it hears that a worker thread died.
 * It spins for up to `spinMs`, then waits with `Atomics.waitAsync`, racing `failure`.
 */
export async function mainBarrier(ctrl: Int32Array, parties: number, spinMs: number, failure: Promise<never>): Promise<void> {
  const gen = Atomics.load(ctrl, Ctrl.BARRIER_GEN);
  if (!arrive(ctrl, parties)) await waitWhile(ctrl, Ctrl.BARRIER_GEN, gen, spinMs, failure);
  if (Atomics.load(ctrl, Ctrl.ABORT) !== 0) throw new AbortedError();
}

/**
 * Waits in the main thread until ctrl[index] is no longer `value` (or ABORT is set): spins up
 * to `spinMs`, then `Atomics.waitAsync` in slices, racing `failure`, so the event loop runs.
 */
export async function waitWhile(ctrl: Int32Array, index: number, value: number, spinMs: number, failure: Promise<never>): Promise<void> {
  spinWhile(ctrl, index, value, spinMs);
  while (Atomics.load(ctrl, index) === value && Atomics.load(ctrl, Ctrl.ABORT) === 0) {
    const w = Atomics.waitAsync(ctrl, index, value, WAIT_SLICE_MS);
    if (w.async) await Promise.race([w.value, failure]);
  }
}

/**
 * Marks the run as failed and wakes everyone who might be waiting. It does not bump the
 * barrier generation (that would release waiters as if everyone had arrived): waiters wake,
 * see ABORT and throw.
 */
export function abortAll(ctrl: Int32Array): void {
  Atomics.store(ctrl, Ctrl.ABORT, 1);
  Atomics.notify(ctrl, Ctrl.BARRIER_GEN);
  Atomics.add(ctrl, Ctrl.SEQ, 1);
  Atomics.notify(ctrl, Ctrl.SEQ);
  Atomics.notify(ctrl, Ctrl.DONE);
  Atomics.notify(ctrl, Ctrl.REDUCED);
  Atomics.notify(ctrl, Ctrl.SYNCED);
}

/**
 * A worker thread's wait until ctrl[index] is no longer `value`: spins up to `spinMs`, then
 * sleeps in slices; throws when anyone aborted.
 */
export function blockWhile(ctrl: Int32Array, index: number, value: number, spinMs: number): void {
  spinWhile(ctrl, index, value, spinMs);
  while (Atomics.load(ctrl, index) === value) {
    if (Atomics.load(ctrl, Ctrl.ABORT) !== 0) throw new AbortedError();
    Atomics.wait(ctrl, index, value, WAIT_SLICE_MS);
  }
  if (Atomics.load(ctrl, Ctrl.ABORT) !== 0) throw new AbortedError();
}
