/** The distributed suite's tables, headline ratios and notes, from what it measured and fitted. */
import { fmt, fmtPercent, fmtRatio, type Table } from './format.js';
import { fastest } from './mlp.js';
import { busBandwidth, linkBeta, ringAllReduceSeconds, whereRingStopsPaying } from './distributed-model.js';
import type { DistributedConfig, DistributedMeasurements, StepPlan } from './distributed.js';
import type { Row, SuiteSection } from './report.js';

const MB = 1e6;
const gbps = (bytesPerSec: number) => `${fmt(bytesPerSec / 1e9)} GB/s`;
/** `2 processes × 1 thread`. */
export function stepLabel(p: Pick<StepPlan, 'processes' | 'workers'>): string {
  const n = (k: number, one: string) => `${k} ${one}${k === 1 ? '' : one.endsWith('s') ? 'es' : 's'}`;
  return `${n(p.processes, 'process')} × ${n(p.workers, 'thread')}`;
}

const yesNo = (met: boolean | null) => (met === null ? '–' : met ? 'met' : 'not met');

/** The key of the step ratio at a batch size, in `ratios` and the summary. */
export function stepRatioKey(batch: number, processes: number): string {
  return `batch ${batch}: ${stepLabel({ processes, workers: 1 })} vs ${stepLabel({ processes: 1, workers: processes })}`;
}

export const BANDWIDTH_RATIO_KEY = 'all-reduce bus bandwidth / raw loopback TCP';

export function distributedTables(m: DistributedMeasurements, config: DistributedConfig, cores: number): {
  records: Row[]; ratios: Record<string, number | null>; table: Table; sections: SuiteSection[]; notes: string[];
} {
  const P = config.processes;
  const records: Row[] = [];
  const ratios: Record<string, number | null> = {};
  const notes: string[] = [];
  const best = (i: number) => fastest(m.timings[i]!);
  const find = (kind: string, bs: number) => m.plans.findIndex((p) => p.kind === kind && p.batchSize === bs);
  const fitWorld = m.allReduce[0]!;
  const gradient = fitWorld.sizes.find((s) => s.floats === m.gradientFloats)!;
  const gradientMs = gradient.medianMs;

  // Headline rows: the step ratios, then bandwidth.
  for (const bs of config.stepBatchSizes) {
    const group = best(find('processes', bs)), alone = best(find('threads', bs));
    const ratio = alone.msPerStep / group.msPerStep;
    const target = config.stepTargets[bs] ?? null;
    const met = target === null ? null : ratio >= target;
    const allReduceShare = fitWorld.worldSize === P ? gradientMs / group.msPerStep : null;
    records.push({
      measurement: `step time, batch ${bs}`, batchSize: bs,
      measured: group.msPerStep, measuredLabel: stepLabel({ processes: P, workers: 1 }), baseline: alone.msPerStep, baselineLabel: stepLabel({ processes: 1, workers: alone.workers }),
      unit: 'ms/step', ratio, target, met, allReduceMs: fitWorld.worldSize === P ? gradientMs : null, allReduceShare,
    });
    ratios[stepRatioKey(bs, P)] = ratio;
    notes.push(`Batch ${bs}: ${stepLabel({ processes: 1, workers: P })} takes ${fmt(alone.msPerStep)} ms per step, ${stepLabel({ processes: P, workers: 1 })} ${fmt(group.msPerStep)} ms: ratio ${fmtRatio(ratio)}` +
      (target === null ? '.' : ` (target ≥ ${fmtRatio(target)}: ${yesNo(met)}; printed, not asserted).`) +
      (allReduceShare === null ? '' : ` Of the ${P}-process step, about ${fmt(gradientMs)} ms (${fmtPercent(allReduceShare, 0)}) is the all-reduce of the ${m.gradientFloats.toLocaleString('en-US')}-float gradient (measured apart, in the all-reduce table), the rest each rank's ${Math.ceil(bs / P)} rows on one thread and the stats' exchange.`));
  }
  const busBw = busBandwidth(fitWorld.worldSize, m.gradientFloats * 4, gradientMs / 1000);
  const bwRatio = busBw / m.tcpBytesPerSec;
  records.push({
    measurement: `all-reduce bus bandwidth, ${m.gradientFloats.toLocaleString('en-US')} floats`, batchSize: null,
    measured: busBw, measuredLabel: `allReduce, ${fitWorld.worldSize} processes`, baseline: m.tcpBytesPerSec, baselineLabel: 'raw loopback TCP, one way',
    unit: 'bytes/s', ratio: bwRatio, target: config.bandwidthTarget, met: bwRatio >= config.bandwidthTarget, allReduceMs: gradientMs, allReduceShare: null,
  });
  ratios[BANDWIDTH_RATIO_KEY] = bwRatio;
  notes.push(`All-reduce of ${m.gradientFloats.toLocaleString('en-US')} floats (${fmt(m.gradientFloats * 4 / MB)} MB) over ${fitWorld.worldSize} processes: median ${fmt(gradientMs)} ms of ${config.allReduceRepeats} after ${config.allReduceWarmup} warm-up calls, bus bandwidth ${gbps(busBw)} (NCCL's busBw: 2(N−1)/N · bytes / time, comparable with one link's speed), ${fmtPercent(bwRatio, 0)} of raw loopback TCP's ${gbps(m.tcpBytesPerSec)} (target ≥ ${fmtPercent(config.bandwidthTarget, 0)}: ${yesNo(bwRatio >= config.bandwidthTarget)}; printed, not asserted). ` +
    `Raw TCP both ways at once, as a 2-rank ring runs (each process sends while it receives as much, one core each): ${gbps(m.tcpDuplexBytesPerSec)} each way; the all-reduce reaches ${fmtPercent(busBw / m.tcpDuplexBytesPerSec, 0)} of that. ` +
    'The one-way baseline has a core for sending and another for receiving; in the ring every core does both and also adds the received chunks.');
  notes.push(`Raw TCP: one process writes ${fmt(config.tcpBytes / 2 ** 20)} MiB in ${fmt(config.tcpWriteBytes / 2 ** 20)} MiB writes (waiting on 'drain'), the other reads into one reused buffer (net's onread) and times first byte to last; best of ${config.tcpRounds} rounds. Each all-reduce call is timed on rank 0 after a barrier, so every rank starts it together as after a step's equal compute.`);
  const table: Table = {
    columns: ['measurement', 'measured', 'baseline', 'ratio', 'target', 'met'],
    rows: records.map((r) => {
      const step = r.unit === 'ms/step';
      const v = (x: number) => (step ? `${fmt(x)} ms` : gbps(x));
      return [String(r.measurement), `${v(r.measured as number)} (${String(r.measuredLabel)})`, `${v(r.baseline as number)} (${String(r.baselineLabel)})`,
        step ? fmtRatio(r.ratio as number) : fmtPercent(r.ratio as number, 0),
        r.target === null ? '–' : step ? `≥ ${fmtRatio(r.target as number)}` : `≥ ${fmtPercent(r.target as number, 0)}`, yesNo(r.met as boolean | null)];
    }),
  };

  const sections: SuiteSection[] = [stepSection(m, config), allReduceSection(m, config), modelSection(m), planSection(m, config, notes)];
  if (m.allReduce.some((r) => r.worldSize > cores)) {
    notes.push(`Groups of more processes than the ${cores} cores here share cores, so their all-reduce is slower than on separate hosts; the model is fitted on ${fitWorld.worldSize} processes only, and the others show how far it carries.`);
  }
  return { records, ratios, table, sections, notes };
}

function stepSection(m: DistributedMeasurements, config: DistributedConfig): SuiteSection {
  const fitted = new Map(m.computeSamples.map((s) => [s.plan, s]));
  const records: Row[] = m.plans.map((p, i) => {
    const ts = m.timings[i]!, t = fastest(ts);
    const host = fitted.get(i);
    return {
      kind: p.kind, batchSize: p.batchSize, processes: p.processes, threadsPerProcess: t.workers, msPerStep: t.msPerStep, medianStepMs: t.medianMsPerStep,
      msPerStepRuns: ts.map((x) => +x.msPerStep.toFixed(4)), warmupSteps: p.warmupSteps, timedSteps: t.steps, startupMs: +t.startupMs.toFixed(1),
      computeFitMs: host ? (m.compute.c0 + m.compute.c1 * host.rows) * 1000 : null,
    };
  });
  return {
    title: `Step times: best of ${config.repeats} interleaved repeat(s), after ${config.warmupSteps} warm-up steps`,
    table: {
      columns: ['batch', 'configuration', 'threads that ran', 'ms/step', 'median step (ms)', 'repeats (ms/step)', 'C(r) fit (ms)'],
      rows: records.map((r, i) => [String(r.batchSize), stepLabel(m.plans[i]!) + (r.computeFitMs === null ? '' : ', one host for C(r)'),
        String(r.threadsPerProcess), fmt(r.msPerStep as number), fmt(r.medianStepMs as number), (r.msPerStepRuns as number[]).map((x) => fmt(x)).join(', '),
        r.computeFitMs === null ? '–' : fmt(r.computeFitMs as number)]),
    },
    records,
  };
}

function allReduceSection(m: DistributedMeasurements, config: DistributedConfig): SuiteSection {
  const records: Row[] = m.allReduce.flatMap((r) => r.sizes.map((s) => {
    const model = ringAllReduceSeconds(r.worldSize, s.floats * 4, m.network) * 1000;
    return {
      processes: r.worldSize, floats: s.floats, bytes: s.floats * 4, medianMs: s.medianMs,
      busBytesPerSec: busBandwidth(r.worldSize, s.floats * 4, s.medianMs / 1000), modelMs: model, modelError: model / s.medianMs - 1, ms: s.ms,
    };
  }));
  return {
    title: `All-reduce by size: median of ${config.allReduceRepeats} calls after ${config.allReduceWarmup} warm-up, against the α–β model fitted on ${m.allReduce[0]!.worldSize} processes`,
    table: {
      columns: ['processes', 'floats', 'MB', 'median (ms)', 'bus bandwidth', 'model (ms)', 'model − measured'],
      rows: records.map((r) => [String(r.processes), (r.floats as number).toLocaleString('en-US'), fmt((r.bytes as number) / MB), fmt(r.medianMs as number),
        gbps(r.busBytesPerSec as number), fmt(r.modelMs as number), `${(r.modelError as number) >= 0 ? '+' : ''}${fmtPercent(r.modelError as number, 0)}`]),
    },
    records,
  };
}

function modelSection(m: DistributedMeasurements): SuiteSection {
  const w = m.allReduce[0]!.worldSize;
  const rows = m.computeSamples.map((s) => s.rows).join(', ');
  const records: Row[] = [
    { parameter: 'α', value: m.network.alpha * 1e6, unit: 'µs per hop', from: `all-reduce medians over ${w} processes, ${m.allReduce[0]!.sizes.length} sizes` },
    { parameter: 'β', value: m.network.beta * 1e9, unit: `ns per byte (${gbps(1 / m.network.beta)})`, from: 'the same' },
    { parameter: 'c0', value: m.compute.c0 * 1000, unit: 'ms per step', from: `one process on all cores, global batch ${rows}` },
    { parameter: 'c1', value: m.compute.c1 * 1e6, unit: 'µs per row', from: 'the same' },
  ];
  return {
    title: 'Fitted model: T_allreduce(N, S) = 2(N−1)·α + 2(N−1)/N·S·β and C(r) = c0 + c1·r, least squares on relative error',
    table: { columns: ['parameter', 'value', 'unit', 'fitted to'], rows: records.map((r) => [String(r.parameter), fmt(r.value as number), String(r.unit), String(r.from)]) },
    records,
  };
}

function planSection(m: DistributedMeasurements, config: DistributedConfig, notes: string[]): SuiteSection {
  const records: Row[] = [];
  const rows: string[][] = [];
  const stops = new Map<string, string[]>();
  for (const p of m.predictions) {
    for (const s of p.steps) {
      records.push({ model: p.model, batchSize: p.batch, linkGbps: p.linkGbps, hosts: s.hosts, rowsPerHost: s.rows, computeMs: s.computeS * 1000, allReduceMs: s.allReduceS * 1000, stepMs: s.stepS * 1000, efficiency: s.efficiency });
    }
    const w = whereRingStopsPaying(p.steps);
    rows.push([p.model, String(p.batch), `${p.linkGbps} Gbit/s`, ...p.steps.map((s) => `${fmt(s.stepS * 1000)} ms, ${fmtPercent(s.efficiency, 0)}`), String(w.fastestHosts), w.lastEfficientHosts === null ? '–' : String(w.lastEfficientHosts)]);
    const key = `${p.model}, global batch ${p.batch}`;
    stops.set(key, [...(stops.get(key) ?? []), `${p.linkGbps} Gbit/s: fastest at N = ${w.fastestHosts}, efficiency ≥ 50% up to N = ${w.lastEfficientHosts ?? '–'}`]);
  }
  for (const [key, parts] of stops) notes.push(`Ring on N hosts (model), ${key}: ${parts.join('; ')}.`);
  const softwareBound = config.linksGbps.filter((l) => linkBeta(m.network.beta, l * 1e9) === m.network.beta);
  if (softwareBound.length) {
    notes.push(`At ${softwareBound.map((l) => `${l}`).join(' and ')} Gbit/s the wire would be faster than the all-reduce's own per-byte cost on loopback (1/β = ${fmt(8 / m.network.beta / 1e9)} Gbit/s), so the software sets β there and ${softwareBound.length > 1 ? 'those rows agree' : 'that row is the software\'s limit'}.`);
  }
  notes.push(`The model: T(N) = C(⌈B/N⌉) + T_allreduce(N, S), with β_L = max(β fitted on loopback, 8/L) for a link of L bit/s (the wire or the software, whichever is slower), α as on loopback (a real network adds its switch and NIC latency), no overlap of the all-reduce with the backward pass, and efficiency T(1)/(N·T(N)). S = ${m.gradientFloats.toLocaleString('en-US')} floats × 4 bytes; the ${config.largerModelFactor}× larger model has S, c0 and c1 all × ${config.largerModelFactor}.`);
  return {
    title: 'Predicted step time and scaling efficiency on N hosts (α–β model)',
    table: { columns: ['model', 'global batch', 'link', ...config.hosts.map((n) => `N = ${n}`), 'fastest N', 'last N ≥ 50%'], rows },
    records,
  };
}
