/**
 * distributed: Loom across processes, measured on one host. (1) The MNIST MLP's step time with P
 * processes of one thread each (a process group on loopback, as `loom launch` runs them) against
 * one process of P threads, interleaved, best of the repeats. (2) The process group's all-reduce
 * against raw loopback TCP, and its time at several sizes. (3) From those, the α–β model of the
 * ring and a linear model of one host's compute (distributed-model.ts), predicting step time and
 * scaling efficiency on N hosts over real links. Every child is a fresh process
 * (distributed-child.ts).
 */
import os from 'node:os';
import { COLORS } from '@loom/svg-chart';
import { fmt } from './format.js';
import { MNIST_HIDDEN, fastest, type StepTiming } from './mlp.js';
import { fitAlphaBeta, fitCompute, predictSteps, ringAllReduceSeconds, type AlphaBeta, type ComputeModel, type StepPrediction } from './distributed-model.js';
import type { AllReduceChildResult, FitChildOptions, TcpChildResult } from './distributed-child.js';
import { freePort, groupEnv, newToken, runChildren, soloEnv } from './distributed-procs.js';
import { startClock, type SuiteResult, suiteResult } from './report.js';
import { distributedTables, stepLabel } from './distributed-report.js';

export interface DistributedConfig {
  quick: boolean;
  hidden: number[];
  /** Processes of one thread each, against one process of as many threads. */
  processes: number;
  stepBatchSizes: number[];
  /** Batch size → the least (1 process ÷ P processes) ratio asked for (issue's targets). */
  stepTargets: Record<number, number>;
  /**
   * One host's step times for C(r): global batches trained by one process on all cores. Where
   * all cores are the P threads of the comparison, its 1-process timings are reused.
   */
  computeBatchSizes: number[];
  /**
   * Untimed steps first: fresh worker threads run their first ~50 steps 10–40% slower (see
   * scaling.ts), and the steady state is what a long run costs.
   */
  warmupSteps: number;
  /** Timed samples per measurement; the step count is clamped to [minSteps, maxSteps]. */
  timedSamples: number;
  minSteps: number;
  maxSteps: number;
  /** Interleaved repeats of every configuration; the best is kept. */
  repeats: number;
  /** Raw TCP: bytes per round, in writes of `tcpWriteBytes`, best of `tcpRounds`. */
  tcpBytes: number;
  tcpWriteBytes: number;
  tcpRounds: number;
  /** All-reduce sizes in floats (the model's gradient is always added). */
  allReduceFloats: number[];
  /** Group sizes to time the all-reduce at; the α–β model is fitted on the first. */
  allReduceWorlds: number[];
  /** Untimed calls on a small array first (JIT), then at each size before its timed calls. */
  allReduceJitWarmup: number;
  allReduceWarmup: number;
  allReduceRepeats: number;
  /** The least bus bandwidth ÷ raw TCP asked for. */
  bandwidthTarget: number;
  /** The plan: host counts, link speeds (Gbit/s), global batches, and the larger model's factor. */
  hosts: number[];
  linksGbps: number[];
  planBatchSizes: number[];
  largerModelFactor: number;
  childTimeoutMs: number;
  log?: (line: string) => void;
}

export function distributedConfig(quick: boolean): DistributedConfig {
  return {
    quick,
    hidden: MNIST_HIDDEN,
    processes: 2,
    stepBatchSizes: [100, 1000],
    stepTargets: { 100: 0.8, 1000: 0.9 },
    computeBatchSizes: [10, 100, 1000],
    warmupSteps: quick ? 15 : 50,
    timedSamples: quick ? 3_000 : 20_000,
    minSteps: quick ? 5 : 20,
    maxSteps: quick ? 60 : 300,
    // Two processes on two shared cores swing between runs (another process taking a core slows
    // one rank and the ring waits for it), so the full run keeps the best of five.
    repeats: quick ? 2 : 5,
    tcpBytes: 256 * 2 ** 20,
    tcpWriteBytes: 2 ** 20,
    tcpRounds: 3,
    allReduceFloats: [1024, 16_384, 131_072, 648_010, 2_097_152],
    allReduceWorlds: quick ? [2] : [2, 3],
    allReduceJitWarmup: 100,
    allReduceWarmup: quick ? 5 : 10,
    allReduceRepeats: quick ? 20 : 50,
    bandwidthTarget: 0.5,
    hosts: [1, 2, 4, 8, 16, 32, 64],
    linksGbps: [1, 10, 100],
    planBatchSizes: [1000, 100],
    largerModelFactor: 10,
    childTimeoutMs: 300_000,
  };
}

/** Floats in the MLP's gradient: every dense layer's kernel and bias (648,010 for 784-500-500-10). */
export function mlpParameterCount(hidden: readonly number[], inputs = 784, classes = 10): number {
  const widths = [inputs, ...hidden, classes];
  let n = 0;
  for (let i = 1; i < widths.length; i++) n += (widths[i - 1]! + 1) * widths[i]!;
  return n;
}

export type StepKind = 'processes' | 'threads' | 'host';

export interface StepPlan {
  kind: StepKind;
  batchSize: number;
  /** Processes, and worker threads asked of each. */
  processes: number;
  workers: number;
  warmupSteps: number;
  steps: number;
}

/** Times one plan in fresh processes; resolves to rank 0's timing. */
async function timeStep(plan: StepPlan, config: DistributedConfig): Promise<StepTiming> {
  const options: FitChildOptions = { hidden: config.hidden, batchSize: plan.batchSize, workers: plan.workers, warmupSteps: plan.warmupSteps, steps: plan.steps };
  if (plan.processes === 1) {
    const [r] = await runChildren([{ mode: 'fit', options, env: soloEnv() }], config.childTimeoutMs);
    return (r as { timing: StepTiming }).timing;
  }
  const port = await freePort(), token = newToken();
  const out = await runChildren(Array.from({ length: plan.processes }, (_, rank) => ({ mode: 'fit' as const, options, env: groupEnv(rank, plan.processes, port, token) })), config.childTimeoutMs);
  return (out[0] as { timing: StepTiming }).timing;
}

async function timeAllReduce(world: number, floats: number[], config: DistributedConfig): Promise<AllReduceChildResult> {
  const port = await freePort(), token = newToken();
  const options = { floats, jitWarmup: config.allReduceJitWarmup, warmup: config.allReduceWarmup, repeats: config.allReduceRepeats };
  const out = await runChildren(Array.from({ length: world }, (_, rank) => ({ mode: 'allreduce' as const, options, env: groupEnv(rank, world, port, token) })), config.childTimeoutMs);
  return out[0] as AllReduceChildResult;
}

async function timeTcp(config: DistributedConfig): Promise<TcpChildResult> {
  const options = { port: await freePort(), bytes: config.tcpBytes, writeBytes: config.tcpWriteBytes, rounds: config.tcpRounds };
  const out = await runChildren([{ mode: 'tcp-send', options, env: soloEnv() }, { mode: 'tcp-recv', options, env: soloEnv() }], config.childTimeoutMs);
  return out[1] as TcpChildResult;
}

/** Both directions at once, as a 2-rank ring: each process's send rate while it also receives (the slower side). */
async function timeTcpDuplex(config: DistributedConfig): Promise<number> {
  const base = { port: await freePort(), bytes: config.tcpBytes / 2, writeBytes: config.tcpWriteBytes, rounds: config.tcpRounds };
  const out = await runChildren([
    { mode: 'tcp-duplex', options: { ...base, listen: true }, env: soloEnv() },
    { mode: 'tcp-duplex', options: { ...base, listen: false }, env: soloEnv() },
  ], config.childTimeoutMs) as TcpChildResult[];
  return Math.min(...out.map((r) => Math.max(...r.rounds.map((x) => x.bytes / x.seconds))));
}

/** Everything the suite measured and fitted, as the tables read it. */
export interface DistributedMeasurements {
  plans: StepPlan[];
  timings: StepTiming[][];
  gradientFloats: number;
  tcp: TcpChildResult;
  tcpBytesPerSec: number;
  /** Raw TCP both ways at once: each process's send rate while it receives as much. */
  tcpDuplexBytesPerSec: number;
  allReduce: AllReduceChildResult[];
  network: AlphaBeta;
  compute: ComputeModel;
  computeSamples: { rows: number; seconds: number; plan: number }[];
  predictions: { model: string; batch: number; linkGbps: number; steps: StepPrediction[] }[];
}

export async function runDistributed(config: DistributedConfig): Promise<SuiteResult> {
  const clock = startClock();
  const log = config.log ?? (() => {});
  const cores = os.availableParallelism();
  const P = config.processes;
  const steps = (bs: number) => Math.min(config.maxSteps, Math.max(config.minSteps, Math.ceil(config.timedSamples / bs)));
  const plan = (kind: StepKind, batchSize: number, processes: number, workers: number): StepPlan => ({ kind, batchSize, processes, workers, warmupSteps: config.warmupSteps, steps: steps(batchSize) });

  // 1. Step times: P processes × 1 thread and 1 process × P threads at each batch, then the
  // host's all-core runs C(r) needs; all interleaved round-robin, best of the repeats.
  const plans: StepPlan[] = config.stepBatchSizes.flatMap((bs) => [plan('processes', bs, P, 1), plan('threads', bs, 1, P)]);
  for (const bs of config.computeBatchSizes) {
    if (!(cores === P && config.stepBatchSizes.includes(bs))) plans.push(plan('host', bs, 1, cores));
  }
  const timings: StepTiming[][] = plans.map(() => []);
  for (let rep = 0; rep < config.repeats; rep++) {
    for (const [i, p] of plans.entries()) {
      const t = await timeStep(p, config);
      timings[i]!.push(t);
      log(`distributed: batch ${p.batchSize}, ${stepLabel(p)}, repeat ${rep + 1}: ${fmt(t.msPerStep)} ms/step (${t.steps} steps after ${p.warmupSteps})`);
    }
  }

  // 2. Raw loopback TCP, then the all-reduce at each size and group size.
  const tcp = await timeTcp(config);
  const tcpBytesPerSec = Math.max(...tcp.rounds.map((r) => r.bytes / r.seconds));
  log(`distributed: raw TCP ${fmt(tcpBytesPerSec / 1e9)} GB/s (best of ${tcp.rounds.length} rounds of ${fmt(config.tcpBytes / 2 ** 20)} MiB)`);
  const tcpDuplexBytesPerSec = await timeTcpDuplex(config);
  log(`distributed: raw TCP both ways at once ${fmt(tcpDuplexBytesPerSec / 1e9)} GB/s each way`);
  const gradientFloats = mlpParameterCount(config.hidden);
  const floats = [...new Set([...config.allReduceFloats, gradientFloats])].sort((a, b) => a - b);
  const allReduce: AllReduceChildResult[] = [];
  for (const world of config.allReduceWorlds) {
    const r = await timeAllReduce(world, floats, config);
    allReduce.push(r);
    log(`distributed: all-reduce over ${world} processes: ${r.sizes.map((s) => `${s.floats.toLocaleString('en-US')} floats ${fmt(s.medianMs)} ms`).join(', ')}`);
  }

  // 3. The models: α and β from the first group size, C(r) from one host's best step times.
  const fitOn = allReduce[0]!;
  const network = fitAlphaBeta(fitOn.sizes.map((s) => ({ ranks: fitOn.worldSize, bytes: s.floats * 4, seconds: s.medianMs / 1000 })));
  const computeSamples = config.computeBatchSizes.map((bs) => {
    const i = plans.findIndex((p) => p.batchSize === bs && (p.kind === 'host' || (p.kind === 'threads' && cores === P)));
    return { rows: bs, seconds: fastest(timings[i]!).msPerStep / 1000, plan: i };
  });
  const compute = fitCompute(computeSamples);
  const bytes = gradientFloats * 4, k = config.largerModelFactor;
  const models = [
    { model: 'this MLP', bytes, compute },
    { model: `${k}× larger`, bytes: bytes * k, compute: { c0: compute.c0 * k, c1: compute.c1 * k } },
  ];
  const predictions = models.flatMap((m) => config.planBatchSizes.flatMap((batch) => config.linksGbps.map((linkGbps) => ({
    model: m.model, batch, linkGbps,
    steps: predictSteps({ batch, bytes: m.bytes, compute: m.compute, network, linkBitsPerSecond: linkGbps * 1e9, hosts: config.hosts }),
  }))));

  const m: DistributedMeasurements = { plans, timings, gradientFloats, tcp, tcpBytesPerSec, tcpDuplexBytesPerSec, allReduce, network, compute, computeSamples, predictions };
  const { records, ratios, table, sections, notes } = distributedTables(m, config, cores);
  notes.push(`CPU: ${clock.machine.cpu}, ${cores} cores available; every process is a fresh Node process on this host, over loopback (127.0.0.1).`);

  const chartSeries = allReduce.flatMap((r, i) => [
    { name: `${r.worldSize} processes, measured`, points: r.sizes.map((s): [number, number] => [s.floats * 4, s.medianMs]) },
    {
      name: `${r.worldSize} processes, α–β model`, dashed: true,
      points: r.sizes.map((s): [number, number] => [s.floats * 4, ringAllReduceSeconds(r.worldSize, s.floats * 4, network) * 1000]),
    },
  ].map((s) => ({ ...s, color: COLORS[i % COLORS.length] })));
  return suiteResult(clock, config, {
    suite: 'distributed',
    title: 'Across processes: step time, all-reduce bandwidth, and a model for more hosts',
    description: `The MNIST MLP (784-${config.hidden.join('-')}-10, Adam) trained by ${P} processes of one thread each (a process group on loopback, each rank taking its contiguous share of every global batch and all-reducing the ${gradientFloats.toLocaleString('en-US')}-float gradient) against one process of ${P} threads; the group's all-reduce against raw loopback TCP and at several sizes; and an α–β model of the ring fitted to those, with a linear model of one host's compute, predicting step time and efficiency on more hosts over 1, 10 and 100 Gbit/s links.`,
    records,
    ratios,
    notes,
    table,
    sections,
    config: { gradientFloats, allReduceSizes: floats },
    chart: { title: 'All-reduce time vs size on loopback', xLabel: 'bytes', yLabel: 'ms (median)', logX: true, logY: true, series: chartSeries },
  });
}
