import { expose } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { MessagePort } from 'node:worker_threads';
import os from 'node:os';
import { adoptWasmView, attachWasmBackend, heapAllocator, wasmAllocator, type Allocator } from '@loom/tensor';
import { reduceChunk, partBounds } from './all-reduce.js';
import { AbortedError, BARRIER_SPIN_MS, Command, Ctrl, WAIT_SLICE_MS, abortAll, barrier } from './control.js';
import type { FaultInjection } from './engine.js';
import { Replica, type ReplicaSpec } from './replica.js';
import type { SharedBuffers } from './shared.js';

/**
 * A worker thread: one replica whose weights are views on the shared parameters. Started by
 * piscina (one long task per thread: `serve`), driven over comlink for the control plane, and
 * over the shared control array for steps, which send no messages.
 */

export interface ServeTask {
  port: MessagePort;
}

export interface WorkerApi {
  configure(spec: ReplicaSpec, buffers: SharedBuffers, index: number, workers: number, fault?: FaultInjection): void;
  train(): void;
  evaluate(x: Float32Array, y: Float32Array, from: number, to: number, batchSize: number): Float64Array;
  predict(x: Float32Array, out: Float32Array, from: number, to: number, batchSize: number): void;
  close(): void;
}

export default function serve({ port }: ServeTask): Promise<void> {
  return new Promise<void>((resolve) => {
    let replica: Replica | null = null;
    let buffers: SharedBuffers | null = null;
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
          // Same memory, same kernels: re-see every shared array through this thread's view of
          // the memory so the kernels recognise them, and put this replica's buffers there too.
          attachWasmBackend(shared.wasm.module, shared.wasm.memory, shared.wasm.relaxed);
          shared = {
            ...shared,
            params: adoptWasmView(shared.params), grads: adoptWasmView(shared.grads), slots: shared.slots.map(adoptWasmView),
            x: adoptWasmView(shared.x), y: adoptWasmView(shared.y),
          };
          allocator = wasmAllocator;
        }
        buffers = shared;
        replica = new Replica(spec, undefined, undefined, allocator);
        const p = replica.model.countParams();
        replica.model.bindParameters(shared.params, shared.grads.subarray(i * p, (i + 1) * p));
        replica.optimizer.setSlots([shared.slots]);
        lastSeq = Atomics.load(shared.control, Ctrl.SEQ);
      },

      // Runs steps until the main thread says EXIT. Blocks this thread's event loop on purpose:
      // nothing but the control array talks to it meanwhile.
      train() {
        const r = replica!, b = buffers!, ctrl = b.control;
        const model = r.model, opt = r.optimizer, slots = opt.slots[0]!;
        const p = model.countParams();
        const [from, to] = partBounds(p, workers, index);
        const width = r.statsWidth;
        // Spinning only pays when no thread it would take a core from is waiting to run.
        const spinMs = workers <= os.availableParallelism() ? BARRIER_SPIN_MS : 0;
        for (;;) {
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
            if (index < active) {
              r.trainShard(b.x, b.y, rows, index, active, ctrl[Ctrl.SEED]!, ctrl[Ctrl.STEP]!, b.stats, index * width);
            } else {
              for (let i = 0; i < width; i++) b.stats[index * width + i] = 0;
            }
            // Every gradient row must be complete before anyone sums a chunk.
            barrier(ctrl, workers, spinMs);
            Atomics.add(ctrl, Ctrl.UPDATING, 1);
            reduceChunk(b.grads, p, active, from, to);
            opt.updateRange(b.params, b.grads, slots, from, to, t);
          } catch (err) {
            abortAll(ctrl);
            // A peer's failure is reported by that peer; ending quietly keeps its error the one fit sees.
            if (err instanceof AbortedError) return;
            throw err;
          }
          // The update above is complete before DONE is incremented (Atomics.add is a full
          // barrier), so the main thread never starts the next step on half-updated weights.
          if (Atomics.add(ctrl, Ctrl.DONE, 1) === workers - 1) Atomics.notify(ctrl, Ctrl.DONE);
        }
      },

      evaluate(x, y, from, to, batchSize) {
        return replica!.evaluateRange(x, y, from, to, batchSize);
      },

      predict(x, out, from, to, batchSize) {
        replica!.predictRange(x, out, from, to, batchSize);
      },

      close() {
        setImmediate(resolve);
      },
    };
    expose(api, nodeEndpoint(port as never));
  });
}
