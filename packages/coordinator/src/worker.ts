import { expose } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { MessagePort } from 'node:worker_threads';
import { adoptWasmView, attachWasmBackend, heapAllocator, partStart, wasmAllocator, type Allocator } from '@loom/tensor';
import type { FaultInjection } from './engine.js';
import { Replica, type ReplicaSpec } from './replica.js';
import type { SharedState } from './plan.js';
import { AbortedError, Command, Ctrl, SEQ_SPIN_MS, WAIT_SLICE_MS, abortAll, barrier, blockWhile, spinBudgetMs, spinWhile } from './step-protocol.js';

/**
 * A worker thread of the process's pool (worker 1..W-1 of an engine; the main thread is worker
 * 0). Each engine that leases it runs one long `serve` task
 * here: a replica whose weights and step buffers are views on the engine's shared state,
 * driven over comlink for the control plane and over the control array for steps, which send
 * no messages (the protocol is in step-protocol.ts).
 */

export interface ServeTask {
  port: MessagePort;
}

export interface WorkerApi {
  configure(spec: ReplicaSpec, state: SharedState, index: number, workers: number, fault?: FaultInjection): void;
  train(): void;
  evaluate(x: Float32Array, y: Float32Array, from: number, to: number, block: number): Float64Array;
  predict(x: Float32Array, out: Float32Array, from: number, to: number, block: number): void;
  close(): void;
}

/** The same shared state seen through this thread's view of the wasm memory, so its kernels recognise every array. */
function adoptState(state: SharedState): SharedState {
  return {
    ...state,
    params: adoptWasmView(state.params), grads: adoptWasmView(state.grads), slots: state.slots.map(adoptWasmView),
    x: adoptWasmView(state.x), y: adoptWasmView(state.y), layers: state.layers.map((l) => l.map(adoptWasmView)),
  };
}

export default function serve({ port }: ServeTask): Promise<void> {
  return new Promise<void>((resolve) => {
    let replica: Replica | null = null;
    let state: SharedState | null = null;
    let index = 0, workers = 1;
    let fault: FaultInjection | undefined;
    let lastSeq = 0;

    const api: WorkerApi = {
      configure(spec, shared, i, w, f) {
        index = i;
        workers = w;
        fault = f;
        let allocator: Allocator = heapAllocator;
        if (shared.wasm) {
          attachWasmBackend(shared.wasm.module, shared.wasm.memory, shared.wasm.relaxed);
          shared = adoptState(shared);
          allocator = wasmAllocator;
        }
        state = shared;
        replica = new Replica(spec, undefined, undefined, allocator);
        replica.model.bindParameters(shared.params, shared.grads);
        replica.optimizer.setSlots([shared.slots]);
        replica.model.adoptStepBuffers(shared.layers, shared.capacity);
        lastSeq = Atomics.load(shared.control, Ctrl.SEQ);
      },

      // Runs steps until the main thread says EXIT. Blocks this thread's event loop on purpose:
      // nothing but the control array talks to it meanwhile.
      train() {
        const r = replica!, s = state!, ctrl = s.control;
        const spin = spinBudgetMs(workers);
        for (;;) {
          // Spin for the next step first: the main thread is usually back within a fraction of a
          // millisecond, and sleeping would add a futex wake-up to every step.
          spinWhile(ctrl, Ctrl.SEQ, lastSeq, spin > 0 ? SEQ_SPIN_MS : 0);
          while (Atomics.load(ctrl, Ctrl.SEQ) === lastSeq) Atomics.wait(ctrl, Ctrl.SEQ, lastSeq, WAIT_SLICE_MS);
          if (Atomics.load(ctrl, Ctrl.ABORT) !== 0) return;
          lastSeq = Atomics.load(ctrl, Ctrl.SEQ);
          // COMMAND and the step fields were written before SEQ was bumped; Atomics.load of SEQ
          // above is sequentially consistent, so these plain reads see them.
          if (ctrl[Ctrl.COMMAND] === Command.EXIT) return;
          const rows = ctrl[Ctrl.ROWS]!, active = ctrl[Ctrl.ACTIVE]!, t = ctrl[Ctrl.T]!;
          try {
            if (fault && fault.worker === index && fault.atStep === t) {
              if (fault.kind === 'exit') process.exit(1);
              throw new Error(`injected fault in worker ${index} at step ${t}`);
            }
            // A worker past the active ones runs an empty shard: it still meets every batch sync.
            let done = r.trainRows(s.x, s.y, rows, index, active, ctrl[Ctrl.SEED]!, ctrl[Ctrl.STEP]!, ctrl[Ctrl.BATCH_ROWS]!, ctrl[Ctrl.FIRST_ROW]!);
            for (let synced = 0; !done; ) {
              barrier(ctrl, workers, spin);
              // Across processes the main thread adds the other processes' rows first.
              if (ctrl[Ctrl.EXCHANGE] === 1) blockWhile(ctrl, Ctrl.SYNCED, synced++, spin);
              done = r.resumeRows();
            }
            // Every shard's rows of every step buffer are written, and nobody reads the
            // parameters again this step: the chunk owners may read all rows and update.
            barrier(ctrl, workers, spin);
            r.chunkGradients(s.x, rows, index, workers);
            if (ctrl[Ctrl.EXCHANGE] === 1) {
              // The main thread all-reduces the whole gradient once every part is written.
              if (Atomics.add(ctrl, Ctrl.GRADS, 1) === workers - 2) Atomics.notify(ctrl, Ctrl.GRADS);
              blockWhile(ctrl, Ctrl.REDUCED, 0, spin);
            }
            Atomics.add(ctrl, Ctrl.UPDATING, 1);
            r.chunkUpdate(index, workers, t);
          } catch (err) {
            abortAll(ctrl);
            // A peer's failure is reported by that peer; ending quietly keeps its error the one fit sees.
            if (err instanceof AbortedError) return;
            throw err;
          }
          // The update above is complete before DONE is incremented (Atomics.add is a full
          // barrier), so the main thread never starts the next step on half-updated weights.
          if (Atomics.add(ctrl, Ctrl.DONE, 1) === workers - 2) Atomics.notify(ctrl, Ctrl.DONE);
        }
      },

      // Inference: each worker uses its own window of the step buffers (capacity / W rows).
      evaluate(x, y, from, to, block) {
        const window = partStart(state!.capacity, workers, index);
        return replica!.evaluateBlocks(x, y, from, to, block, window);
      },

      predict(x, out, from, to, block) {
        const window = partStart(state!.capacity, workers, index);
        replica!.predictRange(x, out, from, to, block, window);
      },

      close() {
        setImmediate(resolve);
      },
    };
    expose(api, nodeEndpoint(port as never));
  });
}
