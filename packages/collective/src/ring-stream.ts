/**
 * The collectives on bytes, as streams of chunks passed round the ring: broadcast (root's bytes
 * go right until they reach the rank before root) and all-gather (each rank's bytes go right
 * size-1 times). Each chunk is forwarded as soon as it arrives, so a large broadcast is
 * pipelined rather than stored and forwarded whole at every rank.
 */
import { leftOf, quiet, rightOf, StreamOp, streamOpName, wrongCall, type RingContext } from './context.js';
import { fail } from './errors.js';
import { MessageType } from './frame.js';

/** Bytes per Stream frame. */
export const STREAM_CHUNK_BYTES = 256 * 1024;
const HEAD_BYTES = 13;

function head(op: StreamOp, origin: number, total: number, offset: number): Buffer {
  const h = Buffer.allocUnsafe(HEAD_BYTES);
  h[0] = op;
  h.writeUInt32LE(origin, 1);
  h.writeUInt32LE(total, 5);
  h.writeUInt32LE(offset, 9);
  return h;
}

/** Sends `bytes` as Stream frames from `origin` (one empty frame for no bytes). */
function sendAll(ctx: RingContext, op: StreamOp, origin: number, bytes: Uint8Array, sends: Promise<void>[]): void {
  const total = bytes.byteLength;
  let offset = 0;
  do {
    const end = Math.min(total, offset + STREAM_CHUNK_BYTES);
    sends.push(quiet(ctx.send(MessageType.Stream, head(op, origin, total, offset), bytes.subarray(offset, end))));
    offset = end;
  } while (offset < total);
}

/**
 * Receives one origin's bytes from the left. `into(total)` gives the destination, or null to
 * collect the chunks as they come (it may throw for a length that does not fit); each chunk is
 * forwarded right when `forward` is set. Collected bytes are held only as they arrive, so a
 * header that claims more than the peer sends never makes this rank allocate it.
 */
async function receiveAll(
  ctx: RingContext,
  op: StreamOp,
  origin: number,
  into: (total: number) => Uint8Array | null,
  forward: boolean,
  sends: Promise<void>[],
): Promise<Uint8Array> {
  const left = leftOf(ctx);
  let dest: Uint8Array | null = null;
  let chunks: Uint8Array[] | null = null;
  let expected = -1;
  let offset = 0;
  for (;;) {
    const frame = await ctx.recv();
    try {
      const { payload } = frame;
      if (frame.type !== MessageType.Stream || payload.byteLength < HEAD_BYTES || payload[0] !== op) {
        throw wrongCall(ctx, frame, streamOpName(op));
      }
      const from = payload.readUInt32LE(1);
      const total = payload.readUInt32LE(5);
      const at = payload.readUInt32LE(9);
      const count = payload.byteLength - HEAD_BYTES;
      if (from !== origin) throw fail.protocol(left, `forwarded rank ${from}'s ${streamOpName(op)} data where rank ${origin}'s was due`);
      if (expected < 0) {
        expected = total;
        dest = into(total);
        if (dest === null) chunks = [];
      }
      if (total !== expected || at !== offset || offset + count > total) {
        throw fail.protocol(left, `sent ${streamOpName(op)} bytes ${at}..${at + count} of ${total} where ${offset} was due`);
      }
      // The frame's buffer goes back to the pool on release: keep a copy (or the destination's bytes).
      let bytes: Uint8Array;
      if (dest !== null) {
        dest.set(payload.subarray(HEAD_BYTES), offset);
        bytes = dest.subarray(offset, offset + count);
      } else {
        // A copy (Buffer's own slice would be a view), starting at byte 0 so typed views align.
        bytes = new Uint8Array(count);
        bytes.set(payload.subarray(HEAD_BYTES));
        chunks!.push(bytes);
      }
      if (forward) sends.push(quiet(ctx.send(MessageType.Stream, head(op, origin, total, offset), bytes)));
      offset += count;
      if (offset === total) return dest ?? concat(chunks!, total);
    } finally {
      frame.release();
    }
  }
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Root's bytes on every rank. Root gets back its own array. */
export async function ringBroadcast(ctx: RingContext, data: Uint8Array | null, root: number): Promise<Uint8Array> {
  if (ctx.size === 1) return data!;
  const sends: Promise<void>[] = [];
  let out: Uint8Array;
  if (ctx.rank === root) {
    out = data!;
    sendAll(ctx, StreamOp.Broadcast, root, out, sends);
  } else {
    out = await receiveAll(ctx, StreamOp.Broadcast, root, () => null, rightOf(ctx) !== root, sends);
  }
  await Promise.all(sends);
  return out;
}

/** Root's bytes copied into every rank's `data`, which must be the same length everywhere. */
export async function ringBroadcastInto(ctx: RingContext, data: Uint8Array, root: number): Promise<void> {
  if (ctx.size === 1) return;
  const sends: Promise<void>[] = [];
  if (ctx.rank === root) {
    sendAll(ctx, StreamOp.BroadcastInto, root, data, sends);
  } else {
    const into = (total: number) => {
      if (total !== data.byteLength) {
        throw fail.mismatch(root, `broadcast ${total / 4} floats while rank ${ctx.rank}'s array holds ${data.byteLength / 4}`);
      }
      return data;
    };
    await receiveAll(ctx, StreamOp.BroadcastInto, root, into, rightOf(ctx) !== root, sends);
  }
  await Promise.all(sends);
}

/**
 * Every rank's bytes, indexed by rank. With `sameLength`, a rank whose bytes differ in length
 * from this rank's is a mismatch.
 */
export async function ringAllGather(ctx: RingContext, op: StreamOp, mine: Uint8Array, sameLength = false): Promise<Uint8Array[]> {
  const { rank, size } = ctx;
  const out: Uint8Array[] = new Array(size);
  out[rank] = mine;
  if (size === 1) return out;
  const sends: Promise<void>[] = [];
  sendAll(ctx, op, rank, mine, sends);
  for (let k = 1; k < size; k++) {
    const origin = (rank - k + size) % size;
    const into = (total: number) => {
      if (sameLength && total !== mine.byteLength) {
        throw fail.mismatch(origin, `passed ${total} bytes to ${streamOpName(op)} while rank ${rank} passed ${mine.byteLength}`);
      }
      return null;
    };
    out[origin] = await receiveAll(ctx, op, origin, into, origin !== rightOf(ctx), sends);
  }
  await Promise.all(sends);
  return out;
}

/** `data` becomes ((v0 + v1) + v2) + … over the ranks, the same bits on every rank. */
export async function ringSumInRankOrder(ctx: RingContext, data: Float64Array): Promise<void> {
  const mine = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const all = await ringAllGather(ctx, StreamOp.SumInRankOrder, mine, true);
  const vectors = all.map((bytes) => new Float64Array(bytes.buffer, bytes.byteOffset, data.length));
  for (let i = 0; i < data.length; i++) {
    let sum = vectors[0]![i]!;
    for (let r = 1; r < vectors.length; r++) sum += vectors[r]![i]!;
    data[i] = sum;
  }
}

export async function ringAllGatherStrings(ctx: RingContext, value: string): Promise<string[]> {
  const all = await ringAllGather(ctx, StreamOp.AllGather, Buffer.from(value, 'utf8'));
  return all.map((bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

export async function ringBarrier(ctx: RingContext): Promise<void> {
  await ringAllGather(ctx, StreamOp.Barrier, new Uint8Array(0));
}
