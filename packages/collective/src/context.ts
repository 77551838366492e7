/**
 * What the algorithms see of the transport, as gloo's algorithms see a context: a rank in a ring
 * of `size`, a way to send to the right neighbour and a queue of frames from the left one. The
 * algorithms know nothing of sockets, so tests also run them over an in-memory ring.
 */
import { CollectiveError, fail } from './errors.js';
import { MessageType } from './frame.js';

/** A data frame from the left neighbour; `release` gives its buffer back to the pool. */
export interface Frame {
  readonly type: MessageType;
  readonly payload: Buffer;
  release(): void;
}

export interface RingContext {
  readonly rank: number;
  readonly size: number;
  /**
   * Sends `[head][body]` to rank + 1. `body` is not copied: it must not change until the
   * promise resolves. Rejects with the group's error when the group fails.
   */
  send(type: MessageType, head: Uint8Array, body: Uint8Array | null): Promise<void>;
  /** The next data frame from rank - 1, in the order it was sent. */
  recv(): Promise<Frame>;
}

/** The rank data arrives from. */
export function leftOf(ctx: RingContext): number {
  return (ctx.rank - 1 + ctx.size) % ctx.size;
}

/** The rank data goes to. */
export function rightOf(ctx: RingContext): number {
  return (ctx.rank + 1) % ctx.size;
}

/** A promise whose rejection is never "unhandled" while it waits to be awaited. */
export function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/** Names a frame for mismatch messages. */
export function describeFrame(type: MessageType, payload: Buffer): string {
  if (type === MessageType.Reduce || type === MessageType.Gather) return 'allReduce';
  if (type === MessageType.Stream && payload.byteLength >= 1) return streamOpName(payload[0]!);
  return `a frame of type ${type}`;
}

/** The collectives that travel as Stream frames; the op byte tells a mismatched call. */
export enum StreamOp {
  Broadcast = 1,
  BroadcastInto = 2,
  AllGather = 3,
  SumInRankOrder = 4,
  Barrier = 5,
}

export function streamOpName(op: number): string {
  switch (op) {
    case StreamOp.Broadcast:
      return 'broadcast';
    case StreamOp.BroadcastInto:
      return 'broadcastInto';
    case StreamOp.AllGather:
      return 'allGather';
    case StreamOp.SumInRankOrder:
      return 'sumInRankOrder';
    case StreamOp.Barrier:
      return 'barrier';
    default:
      return `an unknown collective (${op})`;
  }
}

/** The error for a frame that does not belong to the call this rank is in. */
export function wrongCall(ctx: RingContext, frame: Frame, ours: string): CollectiveError {
  return fail.mismatch(leftOf(ctx), `called ${describeFrame(frame.type, frame.payload)} while this rank called ${ours}`);
}
