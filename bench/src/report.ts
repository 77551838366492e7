/**
 * What every suite returns, and how it is saved: `<suite>.json` and `<suite>.svg` in the results
 * folder, and BENCHMARKS.md rebuilt from whatever results are there (so running one suite
 * refreshes its section and keeps the others).
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative, dirname } from 'node:path';
import { markdownTable, textTable, type Table } from './format.js';
import { renderLineChart, type ChartSpec } from '@loom/svg-chart';
import { cpuSimd, type RunInfo } from './summary.js';

export const SUITE_NAMES = ['kernels', 'batch-size', 'scaling', 'distributed', 'first-epoch', 'peers', 'tutorial', 'cnn', 'soak', 'heap'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

/** The machine a result was measured on. */
export interface MachineInfo {
  cpu: string;
  /** The CPU's vector extensions (AVX2, AVX-512F, …) from /proc/cpuinfo; absent in older results. */
  simd?: string | null;
  cores: number;
  availableParallelism: number;
  memoryGiB: number;
  platform: string;
  node: string;
  v8: string;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    simd: cpuSimd(),
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
  };
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpu}${m.simd ? ` (${m.simd})` : ''}, ${m.cores} cores (${m.availableParallelism} available), ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}`;
}

/** A raw measurement row: numbers (null where not measured) and labels. */
export type Row = Record<string, number | number[] | string | boolean | null>;

/** A further table of a result, after the main one, with its own rows (the distributed suite's model and plan). */
export interface SuiteSection {
  title: string;
  table: Table;
  /** The table's machine-readable twin (it may hold more rows than the table shows). */
  records: Row[];
}

export interface SuiteResult {
  suite: SuiteName;
  title: string;
  /** What the suite measures, one paragraph. */
  description: string;
  quick: boolean;
  /** ISO time the suite started. */
  date: string;
  durationS: number;
  machine: MachineInfo;
  /** The bench command that wrote this result (set by the command; absent in older results). */
  run?: RunInfo;
  config: Record<string, unknown>;
  /** The measurements, one object per table row (machine-readable twin of `table`). */
  records: Row[];
  /** The individual runs behind `records`, where the records summarise several (the tutorial's curve per seed). */
  runs?: Row[];
  /** Headline ratios measured in this run (name → value). */
  ratios: Record<string, number | null>;
  notes: string[];
  table: Table;
  /** Further tables, shown after `table`; absent for most suites. */
  sections?: SuiteSection[];
  chart: ChartSpec;
}

/** When and where a suite started: the common part of its result. */
export interface SuiteClock {
  date: string;
  t0: number;
  machine: MachineInfo;
}

export function startClock(): SuiteClock {
  return { date: new Date().toISOString(), t0: performance.now(), machine: machineInfo() };
}

export function elapsedS(clock: SuiteClock): number {
  return +((performance.now() - clock.t0) / 1000).toFixed(2);
}

type SuiteFields = Omit<SuiteResult, 'quick' | 'date' | 'durationS' | 'machine' | 'config'> & { config?: Record<string, unknown> };

/**
 * A suite's result: its own fields, plus what every suite records the same way (quick or full,
 * when, how long, the machine) and its config without the logger (`fields.config` adds to it).
 */
export function suiteResult(clock: SuiteClock, config: { quick: boolean }, fields: SuiteFields): SuiteResult {
  const { suite, title, description, config: extra, ...rest } = fields;
  return {
    suite, title, description,
    quick: config.quick, date: clock.date, durationS: elapsedS(clock), machine: clock.machine,
    config: { ...config, log: undefined, ...extra },
    ...rest,
  };
}

/** The suite's table and notes as the terminal shows them. */
export function printResult(r: SuiteResult, print: (s: string) => void = console.log): void {
  print(`\n== ${r.title} (${r.suite}${r.quick ? ', quick' : ''}, ${r.durationS.toFixed(1)} s) ==`);
  print(textTable(r.table));
  for (const s of r.sections ?? []) print(`\n${s.title}\n${textTable(s.table)}`);
  for (const n of r.notes) print(`  ${n}`);
}

/** Writes `<suite>.json` and `<suite>.svg` into `dir`; returns their paths. */
export async function writeResult(r: SuiteResult, dir: string): Promise<{ json: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, `${r.suite}.json`);
  const svg = join(dir, `${r.suite}.svg`);
  await writeFile(json, JSON.stringify(r, null, 2) + '\n');
  await writeFile(svg, renderLineChart(r.chart));
  return { json, svg };
}

/** Reads every suite result present in `dir`, in suite order. */
export async function readResults(dir: string): Promise<SuiteResult[]> {
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    return [];
  }
  const out: SuiteResult[] = [];
  for (const name of SUITE_NAMES) {
    if (!files.includes(`${name}.json`)) continue;
    try {
      out.push(JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as SuiteResult);
    } catch {
      // A result from an interrupted or older run is skipped, not fatal: the next run rewrites it.
    }
  }
  return out;
}

/** BENCHMARKS.md: the latest table, notes and chart of every suite, with the machine and date. */
export function renderBenchmarksMd(results: SuiteResult[], mdPath: string, resultsDir: string): string {
  const rel = relative(dirname(mdPath), resultsDir).split('\\').join('/') || '.';
  const lines: string[] = [
    '# Loom benchmarks',
    '',
    'Generated by `npm run bench` (`node bench/dist/run.js`); do not edit by hand. Every speed',
    'claim is a ratio against a baseline measured in the same run, because the machines here are',
    'shared and noisy: compare ratios across runs, not absolute times. See `bench/README.md` for',
    'what each suite measures. The headline figures of the latest run, with its command and CPU,',
    `are in [summary.md](${rel}/summary.md).`,
    '',
  ];
  const machines = new Set(results.map((r) => describeMachine(r.machine)));
  if (machines.size === 1) lines.push(`Machine: ${[...machines][0]}.`, '');
  for (const r of results) {
    lines.push(`## ${r.title}`, '');
    const load = r.machine.loadAverage.length ? `, load average at start ${r.machine.loadAverage.join(' / ')}` : '';
    const command = r.run ? `, \`${r.run.command}\`` : '';
    lines.push(`*${r.quick ? 'Quick run (smaller samples; figures are indicative)' : 'Full run'}, ${r.date.replace('T', ' ').slice(0, 16)} UTC${command}, ${r.durationS.toFixed(0)} s${load}.*`);
    if (machines.size !== 1) lines.push('', `Machine: ${describeMachine(r.machine)}.`);
    lines.push('', r.description, '', markdownTable(r.table), '');
    for (const s of r.sections ?? []) lines.push(`**${s.title}**`, '', markdownTable(s.table), '');
    for (const n of r.notes) lines.push(`- ${n}`);
    if (r.notes.length) lines.push('');
    lines.push(`![${r.chart.title}](${rel}/${r.suite}.svg) · raw data: [${r.suite}.json](${rel}/${r.suite}.json)`, '');
  }
  if (results.length === 0) lines.push('No results yet: run `npm run bench -- --quick`.', '');
  return lines.join('\n');
}

/** Rewrites BENCHMARKS.md from the results in `resultsDir`. */
export async function writeBenchmarksMd(resultsDir: string, mdPath: string): Promise<void> {
  const results = await readResults(resultsDir);
  await mkdir(dirname(mdPath), { recursive: true });
  await writeFile(mdPath, renderBenchmarksMd(results, mdPath, resultsDir));
}
