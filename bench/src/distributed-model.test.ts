import { describe, expect, it } from 'vitest';
import { busBandwidth, fitAlphaBeta, fitCompute, leastSquares2, linkBeta, predictSteps, ringAllReduceSeconds, rowsPerHost, whereRingStopsPaying } from './distributed-model.js';

/** Values worked out by hand from the formulas in distributed-model.ts. */
describe('the α–β model', () => {
  const net = { alpha: 1e-4, beta: 1e-9 }; // 100 µs per hop, 1 GB/s

  it('times the ring all-reduce as 2(N−1)·α + 2(N−1)/N·S·β', () => {
    expect(ringAllReduceSeconds(1, 1e6, net)).toBe(0);
    expect(ringAllReduceSeconds(2, 1e6, net)).toBeCloseTo(2e-4 + 1e-3, 15); // 1.2 ms
    expect(ringAllReduceSeconds(4, 1e6, net)).toBeCloseTo(6e-4 + 1.5e-3, 15); // 2.1 ms
  });

  it('takes the slower of the software and the wire, and gives NCCL\'s bus bandwidth', () => {
    expect(linkBeta(1e-9, 1e9)).toBe(8e-9); // 1 Gbit/s: 8 ns per byte beats the software's 1
    expect(linkBeta(1e-9, 100e9)).toBe(1e-9); // 100 Gbit/s: the software is slower
    expect(busBandwidth(2, 1e6, 1e-3)).toBeCloseTo(1e9, 3);
    expect(busBandwidth(4, 1e6, 1e-3)).toBeCloseTo(1.5e9, 3);
  });

  it('fits α and β back from exact times, and c0 and c1 from step times', () => {
    const samples = [[2, 4e3], [2, 5e5], [2, 8e6], [3, 1e6]].map(([ranks, bytes]) => ({ ranks: ranks!, bytes: bytes!, seconds: ringAllReduceSeconds(ranks!, bytes!, net) }));
    const fit = fitAlphaBeta(samples);
    expect(fit.alpha).toBeCloseTo(1e-4, 12);
    expect(fit.beta).toBeCloseTo(1e-9, 18);
    const c = fitCompute([{ rows: 10, seconds: 1.1e-3 }, { rows: 100, seconds: 2e-3 }, { rows: 1000, seconds: 11e-3 }]);
    expect(c.c0).toBeCloseTo(1e-3, 12);
    expect(c.c1).toBeCloseTo(1e-5, 14);
  });

  it('keeps both coefficients ≥ 0 and refuses what it cannot separate', () => {
    // y = 2 − x has a negative slope: fixed at 0, the intercept is the weighted mean.
    expect(leastSquares2([[1, 1], [1, 2]], [1, 0.5])).toEqual([0.75, 0]);
    expect(() => leastSquares2([[1, 5], [1, 5]], [1, 2])).toThrow(/cannot separate/);
    expect(() => leastSquares2([[1, 5]], [1])).toThrow(/≥ 2 rows/);
  });

  it('predicts T(N) = C(⌈B/N⌉) + T_allreduce and the efficiency T(1)/(N·T(N))', () => {
    const compute = { c0: 1e-3, c1: 1e-5 }; // 1 ms + 10 µs per row
    const [one, two, four] = predictSteps({ batch: 1000, bytes: 1e6, compute, network: net, linkBitsPerSecond: 10e9, hosts: [1, 2, 4] });
    expect(one).toMatchObject({ hosts: 1, rows: 1000, allReduceS: 0, efficiency: 1 });
    expect(one!.stepS).toBeCloseTo(11e-3, 15);
    // N = 2: C(500) = 6 ms; β_L = max(1 ns, 0.8 ns) = 1 ns, so 0.2 + 1 ms; T = 7.2 ms; 11 / 14.4.
    expect(two!.rows).toBe(500);
    expect(two!.stepS).toBeCloseTo(7.2e-3, 15);
    expect(two!.efficiency).toBeCloseTo(11 / 14.4, 12);
    // N = 4: C(250) = 3.5 ms; 0.6 + 1.5 ms; T = 5.6 ms; 11 / 22.4.
    expect(four!.stepS).toBeCloseTo(5.6e-3, 15);
    expect(four!.efficiency).toBeCloseTo(11 / 22.4, 12);
    // At 1 Gbit/s β_L = 8 ns: N = 2 costs 6 + 0.2 + 8 ms = 14.2 ms, slower than one host.
    const slow = predictSteps({ batch: 1000, bytes: 1e6, compute, network: net, linkBitsPerSecond: 1e9, hosts: [1, 2] });
    expect(slow[1]!.stepS).toBeCloseTo(14.2e-3, 15);
    expect(whereRingStopsPaying(slow)).toEqual({ fastestHosts: 1, lastEfficientHosts: 1 });
    expect(whereRingStopsPaying([one!, two!, four!])).toEqual({ fastestHosts: 4, lastEfficientHosts: 2 });
  });

  it('gives the largest host its ceiling share', () => {
    expect(rowsPerHost(100, 64)).toBe(2);
    expect(rowsPerHost(1000, 3)).toBe(334);
  });
});
