/**
 * summary.md: the headline figures of one run of the bench command, and nothing else, with the
 * run's date, CPU and command. The README quotes this file, so every figure it shows comes from one
 * named run on one host (results of other runs stay in BENCHMARKS.md, each with its own date and
 * machine, but are listed here only by name: figures from different runs or hosts are not compared).
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fmt, fmtPercent, fmtRatio, markdownTable } from './format.js';
import { describeMachine, type Row, type SuiteResult } from './report.js';

/** One invocation of the bench command: what every result it wrote records as `run`. */
export interface RunInfo {
  /** ISO time the command started: the run's name. */
  started: string;
  /** The command line, as a user would type it again. */
  command: string;
}

export function runInfo(argv: readonly string[], started = new Date()): RunInfo {
  return { started: started.toISOString(), command: ['node bench/dist/run.js', ...argv].join(' ') };
}

/**
 * The CPU's vector extensions that decide the kernels' speed (the hosts behind these machines
 * change between an Intel with AVX-512 and an AMD with AVX2), from /proc/cpuinfo where there is one.
 */
export function cpuSimd(cpuinfo?: string): string | null {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return null;
    }
  }
  const flags = new Set((/^flags\s*:(.*)$/m.exec(text)?.[1] ?? '').trim().split(/\s+/));
  const names: [string, string][] = [['avx2', 'AVX2'], ['fma', 'FMA'], ['avx512f', 'AVX-512F'], ['avx512_vnni', 'AVX-512 VNNI']];
  const have = names.filter(([flag]) => flags.has(flag)).map(([, name]) => name);
  return have.length ? have.join(', ') : null;
}

type Headline = [figure: string, value: string];

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const find = (records: Row[], pred: (r: Row) => boolean) => records.find(pred);

/** The figures of each suite that the README quotes; other figures are in BENCHMARKS.md. */
export function headlines(r: SuiteResult): Headline[] {
  const out: Headline[] = [];
  switch (r.suite) {
    case 'peers': {
      const ref = r.records[0];
      for (const rec of r.records) {
        const ratio = rec === ref ? '' : ` (${fmtRatio(num(rec.timeRatioVsLoom))} ${String(ref?.framework)} ${String(ref?.backend).split(', ').pop()})`;
        out.push([`MNIST epoch (60,000 samples, batch 100): ${String(rec.framework)}, ${String(rec.backend)}`, `${fmt(num(rec.secondsPerEpoch))} s${ratio}`]);
      }
      for (const [k, v] of Object.entries(r.ratios)) if (k.startsWith('Loom') && k.includes('/ PyTorch')) out.push([`${k.replace(/ time/g, '').replace(' / ', ' ÷ ')}, time per epoch`, fmtRatio(v)]);
      break;
    }
    case 'tutorial': {
      // One row per epoch with `<framework> accuracy` (the mean over its seeds) and its min/max.
      const names = Object.keys(r.records[0] ?? {}).filter((k) => / accuracy$/.test(k) && !/ (min|max) accuracy$/.test(k)).map((k) => k.slice(0, -' accuracy'.length));
      const pct = (v: number | null) => fmtPercent(v, 2);
      for (const name of names) {
        const curve = r.records.map((x) => num(x[`${name} accuracy`])).filter((v): v is number => v !== null);
        if (curve.length === 0) continue;
        const seeds = (r.runs ?? []).filter((x) => x.framework === name).map((x) => x.seed);
        const who = `${name} (${seeds.length === 1 ? `seed ${String(seeds[0])}` : `mean of ${seeds.length} seeds`})`;
        const at = (e: number) => {
          const rec = r.records[e - 1];
          const lo = num(rec?.[`${name} min accuracy`]), hi = num(rec?.[`${name} max accuracy`]);
          return `${pct(curve[e - 1]!)}${seeds.length > 1 && lo !== null && hi !== null ? ` (${pct(lo)}–${pct(hi)})` : ''}`;
        };
        const best = curve.reduce((b, v, e) => (v > curve[b]! ? e : b), 0);
        if (curve.length >= 2) out.push([`test accuracy after 2 epochs, ${who}`, at(2)]);
        out.push([`best test accuracy, ${who}`, `${pct(curve[best]!)} at epoch ${best + 1}`]);
        if (curve.length !== 2) out.push([`test accuracy after ${curve.length} epochs, ${who}`, at(curve.length)]);
      }
      break;
    }
    case 'cnn': {
      // The epoch time of every configuration (a lower bound or a refusal where tfjs gave no time), then the targets.
      const duration = (sec: number | null) => (sec === null ? '–' : sec < 7200 ? `${fmt(sec)} s` : `${fmt(sec / 3600)} h`);
      for (const rec of r.records) {
        const what = `MNIST convnet epoch (60,000 samples, batch 128): ${String(rec.framework)}, ${String(rec.backend)}`;
        if (String(rec.outcome).startsWith('timed')) out.push([what, `${duration(num(rec.secondsPerEpoch))}${rec.timeRatioVsLoom === 1 || num(rec.timeRatioVsLoom) === null ? '' : ` (${fmtRatio(num(rec.timeRatioVsLoom))} ${String(r.records[0]?.framework)} ${String(r.records[0]?.backend).split(', ').pop()})`}`]);
        else if (rec.outcome === 'deadline') out.push([what, `more than ${duration(num(rec.lowerBoundSecondsPerEpoch))} (its first step did not finish in time)`]);
        else out.push([what, rec.outcome === 'refused' ? `cannot train it: ${String(rec.message)}` : `did not run: ${String(rec.message)}`]);
      }
      const targets = r.sections?.find((s) => s.title.startsWith('Targets'));
      for (const rec of targets?.records ?? []) {
        const v = num(rec.value);
        const shown = String(rec.target).includes('accuracy') ? fmtPercent(v, 2) : fmtRatio(v);
        out.push([String(rec.target), `${shown}: ${rec.met === null ? 'not measured' : rec.met ? 'met' : 'not met'}`]);
      }
      break;
    }
    case 'scaling':
    case 'batch-size':
      for (const [k, v] of Object.entries(r.ratios)) {
        if (k.includes('workers vs 1')) out.push([`${k}, samples per second`, fmtRatio(v)]);
        else if (k.includes('ms/step')) out.push([k, `${fmt(v)} ms`]);
      }
      break;
    case 'distributed':
      for (const rec of r.records) {
        const step = rec.unit === 'ms/step';
        const ratio = step ? fmtRatio(num(rec.ratio)) : fmtPercent(num(rec.ratio), 0);
        const target = num(rec.target) === null ? '' : `, target ≥ ${step ? fmtRatio(num(rec.target)) : fmtPercent(num(rec.target), 0)}: ${rec.met ? 'met' : 'not met'}`;
        out.push([`${String(rec.measurement)}: ${String(rec.measuredLabel)} vs ${String(rec.baselineLabel)}`, `${ratio}${target}`]);
      }
      break;
    case 'first-epoch':
      for (const [k, v] of Object.entries(r.ratios)) out.push([`a fresh process's ${k}, MNIST MLP through fit on all cores`, fmtRatio(v)]);
      break;
    case 'kernels': {
      const nn = find(r.records, (x) => x.kernel === 'matmul NN' && x.shape === '(100, 784, 500)');
      if (nn) {
        out.push(['matmul NN (100, 784, 500), one core: Loom wasm', `${fmt(num(nn.loomWasm))} GFLOP/s`]);
        out.push(['matmul NN (100, 784, 500), one core: Loom JS', `${fmt(num(nn.loom))} GFLOP/s`]);
        out.push(['matmul NN (100, 784, 500), one core: OpenBLAS (numpy)', nn.openblas === null ? '–' : `${fmt(num(nn.openblas))} GFLOP/s`]);
      }
      break;
    }
    case 'soak':
      for (const [k, v] of Object.entries(r.ratios)) if (/^(heapUsed|rss) /.test(k)) out.push([k, v === null ? '–' : `${v >= 1 ? '+' : ''}${fmtPercent(v - 1, 1)}`]);
      break;
    case 'heap':
      for (const rec of r.records) out.push([`heap per training step, ${String(rec.backend)} backend (traced median)`, `${fmt(num(rec.tracedBytesPerStep))} bytes`]);
      break;
  }
  return out;
}

/** summary.md for the results that `run` wrote; `others` are results in the folder from earlier runs. */
export function renderSummary(run: RunInfo, results: SuiteResult[], others: SuiteResult[]): string {
  const lines = [
    '# Loom benchmarks: one run',
    '',
    'Generated by the bench command at the end of every run (`bench/src/summary.ts`); do not edit',
    'by hand. Every figure here comes from the one run named below, on one machine; the full tables',
    'are in BENCHMARKS.md. The README quotes this file.',
    '',
    `- **Run:** ${run.started.replace('T', ' ').slice(0, 16)} UTC`,
    `- **Command:** \`${run.command}\``,
  ];
  const machine = results[0]?.machine;
  if (machine) lines.push(`- **Machine:** ${describeMachine(machine)}`);
  lines.push(`- **Suites:** ${results.map((r) => `${r.suite}${r.quick ? ' (quick: small samples, indicative only)' : ''}`).join(', ') || 'none finished'}`, '');
  const rows = results.flatMap((r) => headlines(r).map(([figure, value]) => [r.suite, figure, value]));
  if (rows.length) lines.push(markdownTable({ columns: ['suite', 'figure', 'value'], rows }), '');
  if (others.length) {
    lines.push('Results in the same folder from other runs (in BENCHMARKS.md with their own dates and machines; not summarised here, because figures from different runs and hosts are not comparable):', '');
    for (const o of others) lines.push(`- ${o.suite}: ${o.date.replace('T', ' ').slice(0, 16)} UTC, ${o.machine.cpu}${o.run ? `, \`${o.run.command}\`` : ''}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** Writes `<dir>/summary.md` for `run` from the results in the folder that it wrote. */
export async function writeSummary(dir: string, run: RunInfo, all: SuiteResult[]): Promise<string> {
  const mine = all.filter((r) => r.run?.started === run.started);
  const others = all.filter((r) => r.run?.started !== run.started);
  const path = join(dir, 'summary.md');
  await writeFile(path, renderSummary(run, mine, others));
  return path;
}
