/**
 * Ring all-reduce, chunked and pipelined as gloo's allreduce_ring_chunked: the array is cut into
 * `size` segments and each segment into chunks. Reduce-scatter: in step k rank r sends segment
 * r-k and adds the segment r-k-1 it receives, so after size-1 steps it holds segment r+1 summed
 * over every rank. All-gather: that segment goes round the ring, copied in. Every chunk moves on
 * as soon as it arrives, so sending and receiving overlap; each rank sends about 2·S bytes.
 *
 * Segment s is summed in one fixed order, ((v_s + v_{s+1}) + v_{s+2}) + … round the ring, and then
 * copied, so every rank ends with the same bits, on every rerun.
 */
import { quiet, rightOf, wrongCall, type Frame, type RingContext } from './context.js';
import { fail } from './errors.js';
import { MessageType } from './frame.js';

/** Floats per chunk: a 256 KiB frame. */
export const CHUNK_ELEMENTS = 65536;
const HEAD_BYTES = 8;

/** How the array is cut: segment s starts at `segmentStart(s)`, chunk j of it at start + j·chunk. */
class Layout {
  readonly base: number;
  readonly extra: number;

  constructor(
    readonly length: number,
    readonly size: number,
    readonly chunk: number,
  ) {
    this.base = Math.floor(length / size);
    this.extra = length % size;
  }

  segmentStart(s: number): number {
    return s * this.base + Math.min(s, this.extra);
  }

  segmentLength(s: number): number {
    return this.base + (s < this.extra ? 1 : 0);
  }

  chunks(s: number): number {
    return Math.ceil(this.segmentLength(s) / this.chunk);
  }

  /** The segment holding element `offset` (offset < length). */
  segmentOf(offset: number): number {
    const cut = this.extra * (this.base + 1);
    return offset < cut ? Math.floor(offset / (this.base + 1)) : this.extra + Math.floor((offset - cut) / this.base);
  }
}

/** In-place sum of `data` over every rank of the ring; every rank passes the same length. */
export async function ringAllReduce(ctx: RingContext, data: Float32Array, chunk = CHUNK_ELEMENTS): Promise<void> {
  const { rank, size } = ctx;
  const n = data.length;
  if (size === 1 || n === 0) return;
  const layout = new Layout(n, size, chunk);
  // A chunk is known by its offset; these record, per chunk, what this call has seen and sent.
  const chunkIds = new Map<number, number>();
  let nextId = 0;
  for (let s = 0; s < size; s++) {
    const start = layout.segmentStart(s);
    for (let j = 0; j < layout.chunks(s); j++) chunkIds.set(start + j * chunk, nextId++);
  }
  const reduced = new Uint8Array(nextId);
  const gathered = new Uint8Array(nextId);
  const reduceSent: Array<Promise<void> | undefined> = new Array(nextId);
  const sends: Promise<void>[] = [];
  const owned = rightOf(ctx); // the segment this rank finishes reducing

  const chunkLength = (offset: number, s: number) =>
    Math.min(chunk, layout.segmentStart(s) + layout.segmentLength(s) - offset);
  const send = (type: MessageType, offset: number, length: number): Promise<void> => {
    const head = Buffer.allocUnsafe(HEAD_BYTES);
    head.writeUInt32LE(n, 0);
    head.writeUInt32LE(offset, 4);
    const body = Buffer.from(data.buffer, data.byteOffset + offset * 4, length * 4);
    const p = quiet(ctx.send(type, head, body));
    sends.push(p);
    return p;
  };

  let toReceive = 0;
  for (let s = 0; s < size; s++) {
    if (s !== rank) toReceive += layout.chunks(s);
    if (s !== owned) toReceive += layout.chunks(s);
  }
  {
    const start = layout.segmentStart(rank);
    for (let j = 0; j < layout.chunks(rank); j++) {
      const offset = start + j * chunk;
      reduceSent[chunkIds.get(offset)!] = send(MessageType.Reduce, offset, chunkLength(offset, rank));
    }
  }

  while (toReceive > 0) {
    const frame = await ctx.recv();
    try {
      const { offset, s, id, values } = parse(ctx, frame, layout, chunkIds, chunkLength);
      if (frame.type === MessageType.Reduce) {
        if (s === rank || reduced[id] === 1) throw fail.protocol((rank - 1 + size) % size, `sent chunk ${offset} twice`);
        reduced[id] = 1;
        for (let i = 0, at = offset; i < values.length; i++, at++) data[at]! += values[i]!;
        const next = s === owned ? MessageType.Gather : MessageType.Reduce;
        const p = send(next, offset, values.length);
        if (next === MessageType.Reduce) reduceSent[id] = p;
      } else {
        if (s === owned || gathered[id] === 1) throw fail.protocol((rank - 1 + size) % size, `sent chunk ${offset} twice`);
        gathered[id] = 1;
        // This region went out in reduce-scatter; the write may not have finished with it yet.
        await reduceSent[id];
        data.set(values, offset);
        if (s !== (rank + 2) % size) send(MessageType.Gather, offset, values.length); // rank s-2 is the last to get it
      }
      toReceive--;
    } finally {
      frame.release();
    }
  }
  await Promise.all(sends);
}

function parse(
  ctx: RingContext,
  frame: Frame,
  layout: Layout,
  chunkIds: Map<number, number>,
  chunkLength: (offset: number, s: number) => number,
): { offset: number; s: number; id: number; values: Float32Array } {
  const { payload, type } = frame;
  const left = (ctx.rank - 1 + ctx.size) % ctx.size;
  if (type !== MessageType.Reduce && type !== MessageType.Gather) throw wrongCall(ctx, frame, 'allReduce');
  if (payload.byteLength < HEAD_BYTES) throw fail.protocol(left, 'sent a short allReduce frame');
  const total = payload.readUInt32LE(0);
  if (total !== layout.length) {
    throw fail.mismatch(left, `called allReduce with ${total} elements while this rank passed ${layout.length}`);
  }
  const offset = payload.readUInt32LE(4);
  const id = offset < layout.length ? chunkIds.get(offset) : undefined;
  if (id === undefined) throw fail.protocol(left, `sent an allReduce chunk at offset ${offset}, which is not a chunk boundary`);
  const s = layout.segmentOf(offset);
  const count = (payload.byteLength - HEAD_BYTES) / 4;
  if (count !== chunkLength(offset, s)) throw fail.protocol(left, `sent an allReduce chunk of ${count} elements at offset ${offset}`);
  // Pool buffers start at byte 0 of their ArrayBuffer, so byteOffset + 8 is float-aligned.
  const at = payload.byteOffset + HEAD_BYTES;
  const values =
    at % 4 === 0
      ? new Float32Array(payload.buffer, at, count)
      : new Float32Array(new Uint8Array(payload.buffer, at, count * 4).slice().buffer);
  return { offset, s, id, values };
}
