/**
 * One ring connection after rendezvous: control frames (heartbeat, goodbye, abort) both ways,
 * data frames into an ordered queue on the link this rank receives on. A link does not decide
 * what a failure means for the group: it reports to its {@link LinkOwner}.
 */
import type { Frame } from './context.js';
import { decodeReject, decodeJson, encodeJson, type Connection, type EndReason } from './connection.js';
import { CollectiveError, fail } from './errors.js';
import { type BufferPool, MessageType } from './frame.js';

export interface LinkOwner {
  /** The group's error once it failed, else null. */
  readonly failed: CollectiveError | null;
  /** Fails the group (first failure wins). */
  fail(error: CollectiveError): void;
  /** A peer's Abort: the group failed elsewhere. */
  aborted(message: string, rank: number | undefined, reporter: number): void;
  /** The collective this rank is in, for messages; null when idle. */
  readonly current: string | null;
}

class PooledFrame implements Frame {
  constructor(
    readonly type: MessageType,
    readonly payload: Buffer,
    private readonly pool: BufferPool,
  ) {}

  release(): void {
    this.pool.give(this.payload);
  }
}

export class Link {
  /** The peer said goodbye: an end of stream after this is a normal close. */
  departed = false;
  private readonly queue: Frame[] = [];
  private waiter: { resolve: (f: Frame) => void; reject: (e: Error) => void } | null = null;
  private shutdownError: Error | null = null;

  constructor(
    readonly conn: Connection,
    readonly peer: number,
    /** Whether data frames may arrive here (the link to the left neighbour). */
    private readonly receives: boolean,
    private readonly pool: BufferPool,
    private readonly owner: LinkOwner,
  ) {
    conn.attach({ frame: (type, payload) => this.onFrame(type, payload), end: (reason) => this.onEnd(reason) });
  }

  /** The next data frame; rejects with the group's error, or when the peer has left. */
  recv(): Promise<Frame> {
    const f = this.queue.shift();
    if (f !== undefined) return Promise.resolve(f);
    const stop = this.stopReason();
    if (stop !== null) return Promise.reject(stop);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Sends a data frame; resolves once `body` may be reused. */
  send(type: MessageType, head: Uint8Array, body: Uint8Array | null): Promise<void> {
    const stop = this.stopReason();
    if (stop !== null) return Promise.reject(stop);
    return new Promise((resolve, reject) => {
      this.conn.sendParts(type, head, body, (err) => {
        if (err === undefined || err === null) return resolve();
        if (this.owner.failed === null && this.shutdownError === null) this.owner.fail(fail.lostConnection(this.peer));
        reject(this.owner.failed ?? this.shutdownError ?? fail.lostConnection(this.peer));
      });
    });
  }

  heartbeat(): void {
    if (!this.departed) this.conn.send(MessageType.Heartbeat);
  }

  /** Tells the peer this rank is leaving; then the connection is ended. */
  goodbye(): void {
    this.conn.send(MessageType.Goodbye);
  }

  abort(message: string, rank: number | undefined, reporter: number): void {
    this.conn.send(MessageType.Abort, encodeJson({ message, rank, reporter }));
  }

  /** Rejects the pending receive and all later ones with `error` (close or failure). */
  shutdown(error: Error): void {
    this.shutdownError ??= error;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(error);
    for (const f of this.queue.splice(0)) f.release();
  }

  private stopReason(): Error | null {
    if (this.owner.failed !== null) return this.owner.failed;
    if (this.shutdownError !== null) return this.shutdownError;
    if (this.departed) {
      const e = fail.leftEarly(this.peer, this.owner.current ?? 'a collective');
      this.owner.fail(e);
      return this.owner.failed ?? e;
    }
    return null;
  }

  private onFrame(type: MessageType, payload: Buffer): void {
    switch (type) {
      case MessageType.Heartbeat:
        this.pool.give(payload);
        return;
      case MessageType.Goodbye:
        this.pool.give(payload);
        this.departed = true;
        if (this.waiter !== null && this.queue.length === 0) {
          const w = this.waiter;
          this.waiter = null;
          w.reject(this.stopReason()!);
        }
        return;
      case MessageType.Abort: {
        const { message, rank } = decodeReject(payload);
        const { reporter } = decodeJson(payload);
        this.pool.give(payload);
        this.owner.aborted(message, rank, typeof reporter === 'number' ? reporter : this.peer);
        return;
      }
      case MessageType.Reduce:
      case MessageType.Gather:
      case MessageType.Stream:
        if (!this.receives) break;
        if (this.shutdownError !== null || this.owner.failed !== null) {
          this.pool.give(payload);
          return;
        }
        {
          const frame = new PooledFrame(type, payload, this.pool);
          const w = this.waiter;
          if (w !== null) {
            this.waiter = null;
            w.resolve(frame);
          } else {
            this.queue.push(frame);
          }
        }
        return;
      default:
        break;
    }
    this.pool.give(payload);
    this.conn.protocolError(`frame type ${type} on a ring link`);
  }

  private onEnd(reason: EndReason): void {
    if (reason.kind === 'local' || this.departed) return;
    if (reason.kind === 'protocol') this.owner.fail(fail.protocol(this.peer, reason.detail));
    else this.owner.fail(fail.lostConnection(this.peer));
  }
}

