/** The algorithms over an in-memory ring: no sockets, frames interleaved differently each run. */
import { describe, expect, it } from 'vitest';
import { float64Sum, maxAbsDiff, memoryRing, randomFloats, sameBits } from '../test/helpers.js';
import { StreamOp } from './context.js';
import { MessageType } from './frame.js';
import { ringAllReduce } from './ring-allreduce.js';
import { ringAllGatherStrings, ringBarrier, ringBroadcast, ringBroadcastInto, ringSumInRankOrder } from './ring-stream.js';

describe('ring all-reduce over an in-memory ring', () => {
  for (const size of [1, 2, 3, 4, 5]) {
    it(`${size} rank(s): every length from 0 to 40 with 3-float chunks, and a longer one`, async () => {
      for (const [n, chunk] of [...Array.from({ length: 41 }, (_, n) => [n, 3] as const), [1000, 7] as const]) {
        const inputs = Array.from({ length: size }, (_, r) => randomFloats(n, 100 * n + r));
        const ref = float64Sum(inputs);
        const runs: Float32Array[][] = [];
        for (const seed of [1, 2]) {
          const data = inputs.map((a) => a.slice());
          const ring = memoryRing(size, seed + n);
          await Promise.all(ring.map((ctx, r) => ringAllReduce(ctx, data[r]!, chunk)));
          runs.push(data);
        }
        for (const data of runs) {
          expect(maxAbsDiff(data[0]!, ref), `n=${n}`).toBeLessThan(1e-5);
          for (const d of data) expect(sameBits(d, data[0]!), `n=${n}: ranks differ`).toBe(true);
        }
        expect(sameBits(runs[0]![0]!, runs[1]![0]!), `n=${n}: reruns differ`).toBe(true);
      }
    });
  }

  it('a length mismatch is an error naming the left-hand rank', async () => {
    const ring = memoryRing(2);
    const results = await Promise.allSettled([ringAllReduce(ring[0]!, new Float32Array(10)), ringAllReduce(ring[1]!, new Float32Array(12))]);
    const messages = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'resolved'));
    expect(messages[0]).toContain('rank 1 called allReduce with 12 elements while rank 0 passed 10');
  });
});

describe('stream collectives over an in-memory ring', () => {
  it('broadcast from each root, empty and multi-chunk', async () => {
    for (const size of [2, 3, 4]) {
      for (const root of [0, size - 1]) {
        for (const n of [0, 5, 600_000]) {
          const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 7 + root) & 255);
          const ring = memoryRing(size, n + root);
          const out = await Promise.all(ring.map((ctx) => ringBroadcast(ctx, ctx.rank === root ? bytes : null, root)));
          for (const o of out) expect(Buffer.from(o).equals(Buffer.from(bytes))).toBe(true);
        }
      }
    }
  });

  it('a broadcast whose header claims 2 GB is held only as far as its bytes arrive', async () => {
    const [root, peer] = memoryRing(2);
    const head = Buffer.alloc(13);
    head[0] = StreamOp.Broadcast;
    head.writeUInt32LE(0, 1); // origin
    head.writeUInt32LE(2 ** 31, 5); // total claimed
    head.writeUInt32LE(0, 9); // offset
    const before = process.memoryUsage().arrayBuffers;
    void root!.send(MessageType.Stream, head, new Uint8Array(10));
    const receiving = ringBroadcast(peer!, null, 0);
    receiving.catch(() => {});
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('broadcastInto copies the root floats and refuses a length mismatch', async () => {
    const ring = memoryRing(3);
    const arrays = [randomFloats(70_000, 1), new Float32Array(70_000), new Float32Array(70_000)];
    await Promise.all(ring.map((ctx, r) => ringBroadcastInto(ctx, new Uint8Array(arrays[r]!.buffer), 0)));
    for (const a of arrays) expect(sameBits(a, arrays[0]!)).toBe(true);
    const ring2 = memoryRing(2);
    const bad = await Promise.allSettled([
      ringBroadcastInto(ring2[0]!, new Uint8Array(40), 0),
      ringBroadcastInto(ring2[1]!, new Uint8Array(44), 0),
    ]);
    expect(bad[1]!.status === 'rejected' && (bad[1].reason as Error).message).toContain("rank 0 broadcast 10 floats while rank 1's array holds 11");
  });

  it('allGather, barrier, and sumInRankOrder with the bits of ((a+b)+c)', async () => {
    const ring = memoryRing(3);
    const strings = await Promise.all(ring.map((ctx) => ringAllGatherStrings(ctx, `rank-${ctx.rank}-ü`.repeat(ctx.rank + 1))));
    for (const s of strings) expect(s).toEqual(['rank-0-ü', 'rank-1-ürank-1-ü', 'rank-2-ürank-2-ürank-2-ü']);
    await Promise.all(ring.map((ctx) => ringBarrier(ctx)));
    const v = [new Float64Array([0.1, 1e16, -0]), new Float64Array([0.2, 1, -0]), new Float64Array([0.3, -1e16, 0])];
    const expected = v[0]!.map((_, i) => v[0]![i]! + v[1]![i]! + v[2]![i]!);
    await Promise.all(ring.map((ctx, r) => ringSumInRankOrder(ctx, v[r]!)));
    for (const x of v) expect(sameBits(x, expected)).toBe(true);
    expect(v[0]![0]).toBe((0.1 + 0.2) + 0.3);
    expect(v[0]![1]).toBe(0); // (1e16 + 1) - 1e16 in that order
  });
});
