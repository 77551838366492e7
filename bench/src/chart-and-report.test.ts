import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, runOrder } from './cli.js';
import { fmt, fmtRatio, markdownTable, textTable } from './format.js';
import { machineInfo, printResult, readResults, renderBenchmarksMd, writeBenchmarksMd, writeResult, type SuiteResult } from './report.js';
import { cpuSimd, headlines, runInfo, writeSummary } from './summary.js';

describe('tables and numbers', () => {
  it('formats with significant digits, ratios and missing values', () => {
    expect(fmt(166.4)).toBe('166');
    expect(fmt(0.01234)).toBe('0.0123');
    expect(fmt(50_000)).toBe('50,000');
    expect(fmt(null)).toBe('–');
    expect(fmt(NaN)).toBe('–');
    expect(fmtRatio(1.94)).toBe('1.94×');
  });

  it('renders text and markdown tables with aligned columns', () => {
    const t = { columns: ['batch', 'name'], rows: [['1', 'a'], ['1000', 'bb']] };
    const text = textTable(t).split('\n');
    expect(text[2]).toBe('    1  a');
    const md = markdownTable(t);
    expect(md).toContain('| ---: | --- |');
    expect(md.split('\n')).toHaveLength(4);
  });
});

describe('parseArgs', () => {
  it('defaults to every suite, full mode', () => {
    const o = parseArgs([])!;
    expect(o.suites).toEqual(['kernels', 'batch-size', 'scaling', 'distributed', 'first-epoch', 'peers', 'tutorial', 'cnn', 'soak', 'heap']);
    expect(o.quick).toBe(false);
    expect(o.outDir.endsWith(join('bench', 'results'))).toBe(true);
    expect(o.mdPath!.endsWith(join('bench', 'BENCHMARKS.md'))).toBe(true);
  });

  it('sends a quick run to the gitignored results-quick folder unless --out or --md names a place', () => {
    const q = parseArgs(['--quick'])!;
    expect(q.outDir.endsWith(join('bench', 'results-quick'))).toBe(true);
    expect(q.mdPath).toBe(join(q.outDir, 'BENCHMARKS.md'));
    expect(parseArgs(['--quick', '--out', '/tmp/q'])!).toMatchObject({ outDir: '/tmp/q', mdPath: join('/tmp/q', 'BENCHMARKS.md') });
    const md = parseArgs(['--quick', '--md', '/tmp/r.md'])!;
    expect(md.mdPath).toBe('/tmp/r.md');
    expect(md.outDir.endsWith(join('bench', 'results-quick'))).toBe(true);
    expect(parseArgs(['--out', '/tmp/full'])!.mdPath!.endsWith(join('bench', 'BENCHMARKS.md'))).toBe(true);
  });

  it('reads suites and options', () => {
    const o = parseArgs(['heap', 'scaling', 'kernels', 'soak', '--quick', '--out', '/tmp/x', '--no-md', '--batch-sizes=1,10', '--workers', '1,2'])!;
    expect(o.suites).toEqual(['kernels', 'scaling', 'soak', 'heap']);
    expect(o).toMatchObject({ quick: true, outDir: '/tmp/x', mdPath: null, batchSizes: [1, 10], workers: [1, 2] });
    expect(parseArgs(['all']))!.toBeTruthy();
    expect(parseArgs(['--help'])).toBeNull();
  });

  it('runs heap first, before other suites change the JIT state it measures', () => {
    expect(runOrder(parseArgs([])!.suites)).toEqual(['heap', 'kernels', 'batch-size', 'scaling', 'distributed', 'first-epoch', 'peers', 'tutorial', 'cnn', 'soak']);
    expect(runOrder(['kernels', 'soak'])).toEqual(['kernels', 'soak']);
  });

  it('rejects unknown suites and bad lists with a message naming them', () => {
    expect(() => parseArgs(['speed'])).toThrow(/unknown argument "speed"/);
    expect(() => parseArgs(['--batch-sizes', '0,10'])).toThrow(/--batch-sizes expects .*positive integers/);
    expect(() => parseArgs(['--out'])).toThrow(/--out needs a value/);
    expect(() => parseArgs(['--tfjs-seeds', '-1'])).toThrow(/--tfjs-seeds expects an integer ≥ 0, got "-1"/);
    expect(() => parseArgs(['--tfjs-epochs', '0'])).toThrow(/--tfjs-epochs expects an integer ≥ 1/);
    expect(parseArgs(['tutorial', '--torch-seeds', '0', '--tfjs-seeds=2', '--tfjs-epochs', '5'])).toMatchObject({ torchSeeds: 0, tfjsSeeds: 2, tfjsEpochs: 5 });
  });
});

describe('report files', () => {
  const fake = (suite: SuiteResult['suite']): SuiteResult => ({
    suite, title: `Title ${suite}`, description: 'What it measures.', quick: true, date: new Date().toISOString(), durationS: 1.5,
    machine: machineInfo(), config: { quick: true }, records: [{ a: 1, b: 'x' }], ratios: { r: 2 }, notes: ['a note'],
    table: { columns: ['a', 'b'], rows: [['1', 'x']] },
    chart: { title: 'c', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [[1, 1], [2, 2]] }] },
  });

  it('writes JSON and SVG, and BENCHMARKS.md from every result present', async () => {
    const dir = await mkdtemp(join(os.tmpdir(), 'loom-bench-'));
    const results = join(dir, 'results');
    await writeResult(fake('scaling'), results);
    const files = await writeResult(fake('kernels'), results);
    expect(JSON.parse(await readFile(files.json, 'utf8')).suite).toBe('kernels');
    expect((await readFile(files.svg, 'utf8')).startsWith('<svg')).toBe(true);
    expect((await readResults(results)).map((r) => r.suite)).toEqual(['kernels', 'scaling']);
    const md = join(dir, 'BENCHMARKS.md');
    await writeBenchmarksMd(results, md);
    const text = await readFile(md, 'utf8');
    expect(text).toContain('## Title kernels');
    expect(text).toContain('## Title scaling');
    expect(text).toContain('](results/kernels.svg)');
    expect(text).toContain(machineInfo().cpu);
    expect(text).toContain('Quick run');
  });

  it('shows a result\'s further sections after its table, in the terminal and in BENCHMARKS.md', () => {
    const r: SuiteResult = { ...fake('distributed'), sections: [{ title: 'Fitted model', table: { columns: ['parameter', 'value'], rows: [['α', '50.0']] }, records: [{ parameter: 'α', value: 50 }] }] };
    const printed: string[] = [];
    printResult(r, (s) => printed.push(s));
    expect(printed.join('\n')).toMatch(/1 +x[\s\S]*Fitted model\nparameter  value\n[\s\S]*α +50\.0[\s\S]*a note/);
    const md = renderBenchmarksMd([r], '/x/BENCHMARKS.md', '/x/results');
    expect(md).toMatch(/\| 1 \| x \|\n\n\*\*Fitted model\*\*\n\n\| parameter \| value \|/);
  });

  it('says so when there are no results', () => {
    expect(renderBenchmarksMd([], '/x/BENCHMARKS.md', '/x/results')).toContain('No results yet');
  });

  it('summarises only the figures of the run that wrote the results, naming its date, CPU and command', async () => {
    const dir = await mkdtemp(join(os.tmpdir(), 'loom-bench-summary-'));
    const old = { ...fake('kernels'), date: '2026-11-29T22:26:00.000Z', run: runInfo(['kernels'], new Date('2026-11-29T22:26:00Z')) };
    await writeResult(old, dir);
    const run = runInfo(['scaling', '--quick'], new Date('2026-12-01T10:00:00Z'));
    const scaling = { ...fake('scaling'), run, ratios: { 'batch 100: 2 workers vs 1': 1.5 } };
    await writeResult(scaling, dir);
    const text = await readFile(await writeSummary(dir, run, await readResults(dir)), 'utf8');
    expect(text).toContain('**Run:** 2026-12-01 10:00 UTC');
    expect(text).toContain('**Command:** `node bench/dist/run.js scaling --quick`');
    expect(text).toContain(`**Machine:** ${machineInfo().cpu}`);
    expect(text).toContain('| scaling | batch 100: 2 workers vs 1, samples per second | 1.50× |');
    // The kernels result is from another run: listed by name and date, none of its figures.
    expect(text).toMatch(/- kernels: 2026-11-29 22:26 UTC, .*`node bench\/dist\/run.js kernels`/);
    expect(text).not.toContain('| kernels |');
  });

  it('picks each suite\'s headline figures and names the CPU\'s vector extensions', () => {
    const peers: SuiteResult = {
      ...fake('peers'),
      records: [
        { framework: 'Loom', backend: 'wasm relaxed-SIMD kernels, 2 workers', secondsPerEpoch: 4.5, timeRatioVsLoom: 1 },
        { framework: 'PyTorch 1.13.0a0', backend: 'OpenBLAS OpenMP, 2 threads', secondsPerEpoch: 3, timeRatioVsLoom: 0.667 },
      ],
      ratios: { 'PyTorch 2 threads time / Loom 2 workers time': 0.667, 'Loom 2 workers time / PyTorch 2 threads time': 1.5 },
    };
    expect(headlines(peers)).toEqual([
      ['MNIST epoch (60,000 samples, batch 100): Loom, wasm relaxed-SIMD kernels, 2 workers', '4.50 s'],
      ['MNIST epoch (60,000 samples, batch 100): PyTorch 1.13.0a0, OpenBLAS OpenMP, 2 threads', '3.00 s (0.667× Loom 2 workers)'],
      ['Loom 2 workers ÷ PyTorch 2 threads, time per epoch', '1.50×'],
    ]);
    const tutorial: SuiteResult = {
      ...fake('tutorial'),
      records: [1, 2, 3].map((epoch) => ({ epoch, 'Loom accuracy': 0.96 + epoch / 100, 'Loom min accuracy': 0.95, 'Loom max accuracy': 0.99, 'tfjs-wasm accuracy': epoch < 3 ? 0.97 : null })),
      runs: [{ framework: 'Loom', seed: 1 }, { framework: 'Loom', seed: 2 }, { framework: 'tfjs-wasm', seed: 1 }],
    };
    expect(headlines(tutorial)).toEqual([
      ['test accuracy after 2 epochs, Loom (mean of 2 seeds)', '98.00% (95.00%–99.00%)'],
      ['best test accuracy, Loom (mean of 2 seeds)', '99.00% at epoch 3'],
      ['test accuracy after 3 epochs, Loom (mean of 2 seeds)', '99.00% (95.00%–99.00%)'],
      ['test accuracy after 2 epochs, tfjs-wasm (seed 1)', '97.00%'],
      ['best test accuracy, tfjs-wasm (seed 1)', '97.00% at epoch 1'],
    ]);
    const distributed: SuiteResult = {
      ...fake('distributed'),
      records: [
        { measurement: 'step time, batch 100', measuredLabel: '2 processes × 1 thread', baselineLabel: '1 process × 2 threads', unit: 'ms/step', ratio: 0.75, target: 0.8, met: false },
        { measurement: 'all-reduce bus bandwidth, 648,010 floats', measuredLabel: 'allReduce, 2 processes', baselineLabel: 'raw loopback TCP, one way', unit: 'bytes/s', ratio: 0.6, target: 0.5, met: true },
      ],
    };
    expect(headlines(distributed)).toEqual([
      ['step time, batch 100: 2 processes × 1 thread vs 1 process × 2 threads', '0.750×, target ≥ 0.800×: not met'],
      ['all-reduce bus bandwidth, 648,010 floats: allReduce, 2 processes vs raw loopback TCP, one way', '60%, target ≥ 50%: met'],
    ]);
    expect(cpuSimd('processor : 0\nflags : fpu sse2 avx2 fma avx512f\n')).toBe('AVX2, FMA, AVX-512F');
    expect(cpuSimd('flags : fpu sse2\n')).toBeNull();
  });
});
