/**
 * A process group: the ring links after rendezvous, the queue of collective calls, heartbeats,
 * and the one failure that ends the group. Calls run one at a time in the order they were made
 * (every rank must make the same calls in the same order); data arriving for a later call waits
 * in the receiving link's queue.
 */
import type { RingContext } from './context.js';
import { CollectiveError, fail } from './errors.js';
import type { MessageType } from './frame.js';
import { Link, type LinkOwner } from './link.js';
import { resolveOptions, type GroupOptions, type ResolvedOptions } from './options.js';
import { ringAllReduce } from './ring-allreduce.js';
import { ringAllGatherStrings, ringBarrier, ringBroadcast, ringBroadcastInto, ringSumInRankOrder } from './ring-stream.js';
import { rendezvous, type RingLinks } from './rendezvous.js';

const CLOSE_GRACE_MS = 1000;

/** Options resolved and the ring formed; a world of one needs no sockets at all. */
export async function initProcessGroup(options: GroupOptions): Promise<ProcessGroup> {
  const o = resolveOptions(options);
  if (o.worldSize === 1) return new ProcessGroup(o, null);
  return new ProcessGroup(o, await rendezvous(o));
}

export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  /**
   * Rejects (with a CollectiveError naming the rank) when a peer dies, stops answering, leaves
   * early, or breaks the protocol; every pending and later call then rejects with the same error.
   * It has a handler attached, so it is never an unhandled rejection.
   */
  readonly failure: Promise<never>;
  private failedError: CollectiveError | null = null;
  private rejectFailure!: (e: CollectiveError) => void;
  private closing: Promise<void> | null = null;
  private readonly left: Link | null = null;
  private readonly right: Link | null = null;
  private readonly ctx: RingContext;
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private current: string | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  /** @internal Use {@link initProcessGroup}. */
  constructor(
    private readonly o: ResolvedOptions,
    links: RingLinks | null,
  ) {
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.failure = new Promise<never>((_, reject) => (this.rejectFailure = reject));
    this.failure.catch(() => {});
    const self = this;
    const owner: LinkOwner = {
      get failed() {
        return self.failedError;
      },
      get current() {
        return self.current;
      },
      fail: (e) => this.fail(e),
      aborted: (message, rank, reporter) => this.fail(new CollectiveError(`${message} (reported by rank ${reporter})`, rank), message, reporter),
    };
    if (links !== null) {
      const n = o.worldSize;
      this.left = new Link(links.left, (o.rank - 1 + n) % n, true, links.pool, owner);
      this.right = new Link(links.right, (o.rank + 1) % n, false, links.pool, owner);
      this.heartbeat = setInterval(() => this.beat(), o.heartbeatIntervalMs);
      this.setRef(false);
    }
    const left = this.left;
    const right = this.right;
    this.ctx = {
      rank: o.rank,
      size: o.worldSize,
      send: (type: MessageType, head: Uint8Array, body: Uint8Array | null) => right!.send(type, head, body),
      recv: () => left!.recv(),
    };
  }

  get failed(): CollectiveError | null {
    return this.failedError;
  }

  /**
   * In-place sum over all ranks: ring reduce-scatter then all-gather in a fixed rank order,
   * chunked and pipelined (about 2·S bytes sent per rank). The same bits on every rank and every
   * rerun. Every rank passes the same length; resolves at once for worldSize 1 or length 0.
   */
  allReduce(data: Float32Array): Promise<void> {
    return this.call('allReduce', () => {
      if (!(data instanceof Float32Array)) throw new TypeError('allReduce expects a Float32Array');
    }, (ctx) => ringAllReduce(ctx, data));
  }

  /** Small Float64 vectors: every rank ends with ((v0 + v1) + v2) + …, the same bits everywhere. */
  sumInRankOrder(data: Float64Array): Promise<void> {
    return this.call('sumInRankOrder', () => {
      if (!(data instanceof Float64Array)) throw new TypeError('sumInRankOrder expects a Float64Array');
    }, (ctx) => ringSumInRankOrder(ctx, data));
  }

  /** Root's bytes to every rank (root passes its bytes, the others null); root gets its own array back. */
  broadcast(data: Uint8Array | null, root = 0): Promise<Uint8Array> {
    return this.call('broadcast', () => {
      this.checkRoot(root);
      if (this.rank === root && !(data instanceof Uint8Array)) throw new TypeError(`broadcast: the root (rank ${root}) must pass a Uint8Array`);
      if (this.rank !== root && data !== null) throw new TypeError(`broadcast: only the root (rank ${root}) passes data; rank ${this.rank} must pass null`);
      if (data !== null && data.byteLength > 0xffffffff) throw new RangeError('broadcast: at most 4 GiB at once');
    }, (ctx) => ringBroadcast(ctx, data, root));
  }

  /** Root's array copied into every rank's `data` (the same length everywhere). */
  broadcastInto(data: Float32Array, root = 0): Promise<void> {
    return this.call('broadcastInto', () => {
      this.checkRoot(root);
      if (!(data instanceof Float32Array)) throw new TypeError('broadcastInto expects a Float32Array');
    }, (ctx) => ringBroadcastInto(ctx, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), root));
  }

  /** Every rank's string, indexed by rank. */
  allGather(value: string): Promise<string[]> {
    return this.call('allGather', () => {
      if (typeof value !== 'string') throw new TypeError('allGather expects a string');
    }, (ctx) => ringAllGatherStrings(ctx, value));
  }

  barrier(): Promise<void> {
    return this.call('barrier', () => {}, (ctx) => ringBarrier(ctx));
  }

  /** Says goodbye to the peers and closes every socket and timer; idempotent. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.stopHeartbeat();
    const closed = fail.closed();
    const links = this.links();
    for (const l of links) {
      // Referenced while closing: a caller awaiting close() must not see the loop run dry.
      l.conn.ref();
      if (this.failedError === null) l.goodbye();
      l.shutdown(this.failedError ?? closed);
    }
    this.closing = Promise.all(links.map((l) => l.conn.end(CLOSE_GRACE_MS))).then(() => {});
    return this.closing;
  }

  private checkRoot(root: number): void {
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize) {
      throw new RangeError(`root must be an integer in [0, ${this.worldSize}), got ${String(root)}`);
    }
  }

  /**
   * Queues one collective. A bad argument rejects the call and fails the group, so the other
   * ranks, already waiting on this one, hear of it instead of hanging.
   */
  private call<T>(op: string, check: () => void, body: (ctx: RingContext) => Promise<T>): Promise<T> {
    if (this.failedError !== null) return Promise.reject(this.failedError);
    if (this.closing !== null) return Promise.reject(fail.closed());
    try {
      check();
    } catch (e) {
      if (this.worldSize > 1) this.fail(new CollectiveError(`rank ${this.rank} called ${op} with bad arguments: ${(e as Error).message}`, this.rank));
      return Promise.reject(e);
    }
    this.pending++;
    if (this.pending === 1) this.setRef(true);
    const run = this.tail.then(async () => {
      if (this.failedError !== null) throw this.failedError;
      if (this.closing !== null) throw fail.closed();
      this.current = op;
      try {
        return await body(this.ctx);
      } catch (e) {
        if (this.failedError !== null) throw this.failedError;
        if (this.closing !== null) throw fail.closed();
        const error = e instanceof CollectiveError ? e : new CollectiveError(`${op} failed: ${(e as Error).message}`, undefined, { cause: e });
        this.fail(error);
        throw this.failedError ?? error;
      } finally {
        this.current = null;
      }
    });
    const settled = run.finally(() => {
      this.pending--;
      if (this.pending === 0) this.setRef(false);
    });
    this.tail = settled.catch(() => {});
    return settled;
  }

  /** The group's one failure: later failures (the sockets closing in its wake) change nothing. */
  private fail(error: CollectiveError, original = error.message, reporter = this.rank): void {
    if (this.failedError !== null || this.closing !== null) return;
    this.failedError = error;
    this.o.log(error.message);
    this.rejectFailure(error);
    this.stopHeartbeat();
    for (const l of this.links()) {
      l.abort(original, error.rank, reporter);
      l.shutdown(error);
      void l.conn.end(CLOSE_GRACE_MS);
    }
    this.setRef(false);
  }

  private links(): Link[] {
    const out: Link[] = [];
    if (this.left !== null) out.push(this.left);
    if (this.right !== null) out.push(this.right);
    return out;
  }

  private beat(): void {
    const now = performance.now();
    for (const l of this.links()) {
      l.heartbeat();
      if (!l.departed && now - l.conn.lastReceived > this.o.heartbeatTimeoutMs) {
        // The loop may have been blocked by compute: let pending reads land before judging.
        setImmediate(() => {
          if (!l.departed && performance.now() - l.conn.lastReceived > this.o.heartbeatTimeoutMs) {
            this.fail(fail.silent(l.peer, this.o.heartbeatTimeoutMs));
          }
        });
      }
    }
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** Referenced only while a call is pending, so a process that forgets close() can still exit. */
  private setRef(on: boolean): void {
    for (const l of this.links()) {
      if (on) l.conn.ref();
      else l.conn.unref();
    }
    if (this.heartbeat !== null) {
      if (on) this.heartbeat.ref();
      else this.heartbeat.unref();
    }
  }
}
