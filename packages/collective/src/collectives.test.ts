/** The collectives over real sockets on loopback: several groups in this process. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, float64Sum, maxAbsDiff, randomFloats, sameBits, startGroups } from '../test/helpers.js';
import { initProcessGroup, type ProcessGroup } from './index.js';

const LENGTHS = [0, 1, 7, 648_010];

for (const size of [2, 3, 4]) {
  describe(`${size} ranks on loopback`, () => {
    let groups: ProcessGroup[] = [];
    beforeAll(async () => {
      groups = await startGroups(size);
    });
    afterAll(() => closeAll(groups));

    it('allReduce of odd lengths equals a float64 sum, with the same bits on every rank and on a rerun', async () => {
      for (const n of LENGTHS) {
        const inputs = groups.map((_, r) => randomFloats(n, 31 * n + r));
        const ref = float64Sum(inputs);
        const runs: Float32Array[][] = [];
        for (let rerun = 0; rerun < 2; rerun++) {
          const data = inputs.map((a) => a.slice());
          await Promise.all(groups.map((g, r) => g.allReduce(data[r]!)));
          runs.push(data);
        }
        if (n > 0) expect(maxAbsDiff(runs[0]![0]!, ref), `n=${n}`).toBeLessThan(1e-5);
        for (const data of runs) for (const d of data) expect(sameBits(d, runs[0]![0]!), `n=${n}`).toBe(true);
      }
    });

    it('allReduce of an array on a SharedArrayBuffer (WebAssembly memory), at an offset', async () => {
      const n = 100_003;
      const memories = groups.map(() => new WebAssembly.Memory({ initial: 8, maximum: 8, shared: true }));
      const data = memories.map((m, r) => {
        const view = new Float32Array(m.buffer, 12, n);
        view.set(randomFloats(n, 7 + r));
        return view;
      });
      const ref = float64Sum(data.map((d) => d.slice()));
      await Promise.all(groups.map((g, r) => g.allReduce(data[r]!)));
      expect(maxAbsDiff(data[0]!, ref)).toBeLessThan(1e-5);
      for (const d of data) expect(sameBits(d, data[0]!)).toBe(true);
    });

    it('sumInRankOrder gives the bits of ((v0 + v1) + v2) + … on every rank', async () => {
      const vectors = groups.map((_, r) => new Float64Array([0.1 * (r + 1), 1e16 * (r % 2 === 0 ? 1 : -1) + r, Math.PI / (r + 1)]));
      const expected = new Float64Array(3);
      for (let i = 0; i < 3; i++) {
        let s = vectors[0]![i]!;
        for (let r = 1; r < size; r++) s += vectors[r]![i]!;
        expected[i] = s;
      }
      await Promise.all(groups.map((g, r) => g.sumInRankOrder(vectors[r]!)));
      for (const v of vectors) expect(sameBits(v, expected)).toBe(true);
    });

    it('broadcast (empty, small, several chunks) from every root; broadcastInto', async () => {
      for (const root of [0, size - 1]) {
        for (const n of [0, 3, 700_001]) {
          const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 13 + root) & 255);
          const out = await Promise.all(groups.map((g) => g.broadcast(g.rank === root ? bytes : null, root)));
          expect(out[root]).toBe(bytes);
          for (const o of out) expect(Buffer.from(o).equals(Buffer.from(bytes))).toBe(true);
        }
      }
      const weights = groups.map((_, r) => (r === 1 ? randomFloats(300_000, 5) : new Float32Array(300_000)));
      await Promise.all(groups.map((g, r) => g.broadcastInto(weights[r]!, 1)));
      for (const w of weights) expect(sameBits(w, weights[1]!)).toBe(true);
    });

    it('allGather and barrier', async () => {
      const out = await Promise.all(groups.map((g) => g.allGather(`host-${g.rank}`)));
      for (const o of out) expect(o).toEqual(groups.map((_, r) => `host-${r}`));
      await Promise.all(groups.map((g) => g.barrier()));
    });

    it('calls made without awaiting run in order, and a later call waits for data sent early', async () => {
      const a = groups.map((_, r) => randomFloats(200_000, r));
      const b = groups.map((_, r) => randomFloats(1000, 50 + r));
      const refA = float64Sum(a);
      const refB = float64Sum(b);
      // Rank 0 runs a step behind: its peers' data for the second call arrives before it asks.
      const rest = groups.slice(1).map((g, i) => Promise.all([g.allReduce(a[i + 1]!), g.allGather('x'), g.allReduce(b[i + 1]!)]));
      await new Promise((r) => setTimeout(r, 50));
      const first = Promise.all([groups[0]!.allReduce(a[0]!), groups[0]!.allGather('x'), groups[0]!.allReduce(b[0]!)]);
      await Promise.all([first, ...rest]);
      expect(maxAbsDiff(a[0]!, refA)).toBeLessThan(1e-5);
      expect(maxAbsDiff(b[0]!, refB)).toBeLessThan(1e-5);
      expect(groups.every((g) => g.failed === null)).toBe(true);
    });
  });
}

describe('a world of one', () => {
  it('needs no sockets: every call resolves at once', async () => {
    const g = await initProcessGroup({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: 1 });
    const data = Float32Array.of(1, 2);
    await g.allReduce(data);
    expect([...data]).toEqual([1, 2]);
    const bytes = Uint8Array.of(9);
    expect(await g.broadcast(bytes)).toBe(bytes);
    expect(await g.allGather('only')).toEqual(['only']);
    await g.barrier();
    await g.sumInRankOrder(new Float64Array(2));
    await g.close();
    await g.close();
    await expect(g.barrier()).rejects.toThrow('the process group is closed');
  });
});

describe('bad arguments', () => {
  it('reject the call, and fail the group so the other ranks are not left waiting', async () => {
    const groups = await startGroups(2);
    try {
      const waiting = groups[1]!.broadcast(null, 0);
      await expect(groups[0]!.broadcast(null, 0)).rejects.toThrow(TypeError);
      await expect(waiting).rejects.toThrow('rank 0 called broadcast with bad arguments');
      await expect(groups[1]!.failure).rejects.toMatchObject({ rank: 0 });
      await expect(groups[0]!.barrier()).rejects.toBe(groups[0]!.failed);
    } finally {
      await closeAll(groups);
    }
  });

  it('a root out of range is a RangeError', async () => {
    const groups = await startGroups(2);
    try {
      await expect(groups[0]!.broadcast(Uint8Array.of(1), 5)).rejects.toThrow(RangeError);
    } finally {
      await closeAll(groups);
    }
  });
});
