/**
 * Planning past one machine: the α–β (Hockney) model of the ring all-reduce, a linear model of
 * one host's compute, and the step time and scaling efficiency they predict for N hosts. Pure
 * functions, seconds and bytes throughout (the suite converts for display).
 *
 * Ring all-reduce of S bytes over N ranks: 2(N−1) steps (reduce-scatter, then all-gather), each
 * paying a per-hop latency α and moving S/N bytes at β seconds per byte:
 *   T(N, S) = 2(N−1)·α + 2(N−1)/N · S · β.
 */

export interface AlphaBeta {
  /** Per-hop latency, seconds. */
  alpha: number;
  /** Seconds per byte (software and wire, whichever is slower). */
  beta: number;
}

/** One host's step on r rows: C(r) = c0 + c1·r. */
export interface ComputeModel {
  /** Seconds per step whatever the rows. */
  c0: number;
  /** Seconds per row. */
  c1: number;
}

/** Ring all-reduce time of `bytes` over `ranks` (0 for one rank). */
export function ringAllReduceSeconds(ranks: number, bytes: number, m: AlphaBeta): number {
  if (ranks <= 1) return 0;
  return 2 * (ranks - 1) * m.alpha + ((2 * (ranks - 1)) / ranks) * bytes * m.beta;
}

/** NCCL's bus bandwidth: 2(N−1)/N · bytes / time, comparable with one link's speed. */
export function busBandwidth(ranks: number, bytes: number, seconds: number): number {
  return ((2 * (ranks - 1)) / ranks) * bytes / seconds;
}

/** β on a link of `bitsPerSecond`: the wire or the software, whichever is slower. */
export function linkBeta(fittedBeta: number, bitsPerSecond: number): number {
  return Math.max(fittedBeta, 8 / bitsPerSecond);
}

/**
 * Weighted least squares for y ≈ a·u + b·v (no intercept beyond what the columns carry), with
 * both coefficients kept ≥ 0: where the unconstrained fit makes one negative, it is fixed at 0
 * and the other refitted alone. Throws when the columns cannot separate a from b.
 */
export function leastSquares2(design: readonly (readonly [number, number])[], y: readonly number[], weights?: readonly number[]): [number, number] {
  if (design.length !== y.length || design.length < 2) throw new RangeError(`leastSquares2: need ≥ 2 rows and one y per row, got ${design.length} and ${y.length}`);
  let suu = 0, suv = 0, svv = 0, suy = 0, svy = 0;
  design.forEach(([u, v], i) => {
    const w = weights?.[i] ?? 1;
    suu += w * u * u; suv += w * u * v; svv += w * v * v; suy += w * u * y[i]!; svy += w * v * y[i]!;
  });
  const det = suu * svv - suv * suv;
  if (!(Math.abs(det) > 1e-12 * suu * svv)) throw new RangeError('leastSquares2: the measurements cannot separate the two coefficients (vary the size or the rank count)');
  const a = (suy * svv - svy * suv) / det;
  const b = (svy * suu - suy * suv) / det;
  if (a < 0) return [0, Math.max(0, svy / svv)];
  if (b < 0) return [Math.max(0, suy / suu), 0];
  return [a, b];
}

/** Relative weights (1/y²): the fit minimises relative error, so small sizes count as much as large ones. */
const relative = (y: readonly number[]) => y.map((t) => 1 / (t * t));

/** α and β fitted to all-reduce times measured at several (ranks, bytes). */
export function fitAlphaBeta(samples: readonly { ranks: number; bytes: number; seconds: number }[]): AlphaBeta {
  const y = samples.map((s) => s.seconds);
  const [alpha, beta] = leastSquares2(samples.map((s) => [2 * (s.ranks - 1), ((2 * (s.ranks - 1)) / s.ranks) * s.bytes] as const), y, relative(y));
  return { alpha, beta };
}

/** c0 and c1 fitted to one host's step times at several row counts. */
export function fitCompute(samples: readonly { rows: number; seconds: number }[]): ComputeModel {
  const y = samples.map((s) => s.seconds);
  const [c0, c1] = leastSquares2(samples.map((s) => [1, s.rows] as const), y, relative(y));
  return { c0, c1 };
}

/** The rows of the host with the largest share (the step waits for it), as `fit` splits a batch. */
export function rowsPerHost(batch: number, hosts: number): number {
  return Math.ceil(batch / hosts);
}

export interface StepPrediction {
  hosts: number;
  rows: number;
  computeS: number;
  allReduceS: number;
  stepS: number;
  /** T(1) / (N · T(N)). */
  efficiency: number;
}

export interface PlanInput {
  /** Global batch. */
  batch: number;
  /** Gradient bytes all-reduced per step. */
  bytes: number;
  compute: ComputeModel;
  /** Fitted on loopback. */
  network: AlphaBeta;
  linkBitsPerSecond: number;
  hosts: readonly number[];
}

/** T(N) = C(⌈B/N⌉) + T_allreduce(N, S) with β_L = max(β, 8/L), and the efficiency against one host. */
export function predictSteps(p: PlanInput): StepPrediction[] {
  const m = { alpha: p.network.alpha, beta: linkBeta(p.network.beta, p.linkBitsPerSecond) };
  const c = (rows: number) => p.compute.c0 + p.compute.c1 * rows;
  const one = c(p.batch);
  return p.hosts.map((hosts) => {
    const rows = rowsPerHost(p.batch, hosts);
    const computeS = c(rows), allReduceS = ringAllReduceSeconds(hosts, p.bytes, m);
    const stepS = computeS + allReduceS;
    return { hosts, rows, computeS, allReduceS, stepS, efficiency: one / (hosts * stepS) };
  });
}

/**
 * Where the ring stops paying: the host count with the lowest step time (adding hosts past it
 * no longer lowers T(N)), and the largest one whose efficiency is still ≥ `minEfficiency`
 * (null when none is).
 */
export function whereRingStopsPaying(predictions: readonly StepPrediction[], minEfficiency = 0.5): { fastestHosts: number; lastEfficientHosts: number | null } {
  if (predictions.length === 0) throw new RangeError('whereRingStopsPaying: no predictions');
  const fastest = predictions.reduce((a, b) => (b.stepS < a.stepS ? b : a));
  const efficient = predictions.filter((p) => p.efficiency >= minEfficiency);
  return { fastestHosts: fastest.hosts, lastEfficientHosts: efficient.length ? Math.max(...efficient.map((p) => p.hosts)) : null };
}
