import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchSizeConfig, runBatchSize } from './batch-size.js';
import { distributedConfig, mlpParameterCount, runDistributed } from './distributed.js';
import { firstEpochConfig, runFirstEpoch } from './first-epoch.js';
import { heapConfig, runHeap } from './heap.js';
import { kernelsConfig, naiveMatmul, runKernels } from './kernels.js';
import { blasEnv, timeBlas } from './openblas.js';
import { peersConfig, runPeers } from './peers.js';
import { writeResult, type SuiteResult } from './report.js';
import { runScaling, scalingConfig } from './scaling.js';
import { runSoak, soakConfig } from './soak.js';
import { torchEnv } from './torch.js';
import { runTutorial, tutorialConfig } from './tutorial.js';

/**
 * Each suite on a tiny configuration (a few hundred MNIST images, a one-hidden-layer model, a
 * step or two): the result must be well formed. No test looks at a time.
 */

/** Every number anywhere in `value` is finite; returns how many numbers there were. */
function countFiniteNumbers(value: unknown, path = '$'): number {
  if (typeof value === 'number') {
    expect(Number.isFinite(value), `${path} = ${value}`).toBe(true);
    return 1;
  }
  if (Array.isArray(value)) return value.reduce((n: number, v, i) => n + countFiniteNumbers(v, `${path}[${i}]`), 0);
  if (value && typeof value === 'object') return Object.entries(value).reduce((n, [k, v]) => n + countFiniteNumbers(v, `${path}.${k}`), 0);
  return 0;
}

async function checkResult(r: SuiteResult, suite: string, recordKeys: string[]): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(os.tmpdir(), `loom-bench-${suite}-`));
  const files = await writeResult(r, dir);
  const json = JSON.parse(await readFile(files.json, 'utf8')) as Record<string, unknown>;
  for (const key of ['suite', 'title', 'description', 'quick', 'date', 'durationS', 'machine', 'config', 'records', 'ratios', 'notes', 'table', 'chart']) {
    expect(json, `missing ${key}`).toHaveProperty(key);
  }
  expect(json.suite).toBe(suite);
  expect(json.quick).toBe(true);
  expect(Number.isNaN(Date.parse(json.date as string))).toBe(false);
  const records = json.records as Record<string, unknown>[];
  expect(records.length).toBeGreaterThan(0);
  for (const rec of records) for (const k of recordKeys) expect(rec, `record missing ${k}`).toHaveProperty(k);
  expect(countFiniteNumbers(json)).toBeGreaterThan(records.length);
  const table = json.table as { columns: string[]; rows: string[][] };
  expect(table.rows).toHaveLength(records.length);
  for (const row of table.rows) expect(row).toHaveLength(table.columns.length);
  const svg = await readFile(files.svg, 'utf8');
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toContain('<polyline');
  expect(svg).not.toMatch(/NaN|Infinity/);
  return json;
}

const positive = (rec: Record<string, unknown>, key: string) => expect(rec[key] as number).toBeGreaterThan(0);

describe('kernels', () => {
  it('naiveMatmul is the textbook product', () => {
    const c = new Float32Array(4);
    naiveMatmul(2, 2, 3, new Float32Array([1, 2, 3, 4, 5, 6]), new Float32Array([1, 0, 0, 1, 1, 1]), c);
    expect([...c]).toEqual([4, 5, 10, 11]);
  });

  it('measures matmul and elementwise kernels with baselines', async () => {
    const r = await runKernels({
      ...kernelsConfig(true),
      matmulShapes: [[8, 16, 12]], naiveShapes: [[8, 16, 12]], tfjsBackends: ['cpu', 'wasm'],
      elementwiseShape: [4, 8], softmaxShape: [2, 5], adamParams: 64, maxTime: 0.005, minSamples: 1,
      openblasRepeats: 1, openblasMinTime: 0.001,
    });
    const json = await checkResult(r, 'kernels', ['kernel', 'shape', 'unit', 'loom', 'loomWasmRelaxed', 'loomWasmSimd128', 'loomWasm', 'openblas', 'plainLoop', 'tfjsCpu', 'tfjsWasm']);
    const records = json.records as Record<string, unknown>[];
    expect(records.filter((x) => x.unit === 'GFLOP/s')).toHaveLength(4);
    const nn = records.find((x) => x.kernel === 'matmul NN')!;
    for (const k of ['loom', 'plainLoop', 'tfjsCpu', 'tfjsWasm']) positive(nn, k);
    expect(records.filter((x) => x.unit === 'GB/s').every((x) => (x.loom as number) > 0)).toBe(true);
    expect(Object.keys(json.ratios as object).some((k) => k.includes('Loom/naive'))).toBe(true);
    // The wasm kernel at every transpose (the plain SIMD128 build always loads once built; relaxed where the runtime has it).
    const table = json.table as { columns: string[]; rows: string[][] };
    for (const c of ['Loom wasm relaxed', 'Loom wasm SIMD128', 'OpenBLAS 1 thread', 'wasm ÷ JS', 'wasm ÷ OpenBLAS', 'issue 9 targets']) expect(table.columns).toContain(c);
    for (const rec of records.filter((x) => x.unit === 'GFLOP/s')) {
      positive(rec, 'loomWasmSimd128');
      positive(rec, 'loomWasm');
      positive(rec, 'wasmOverJs');
      expect(typeof rec.meetsWasmOverJs).toBe('boolean');
      expect(rec.wasmMaxRelError as number).toBeLessThan(1e-4);
      expect(rec.openblas === null || (rec.openblas as number) > 0).toBe(true);
    }
    expect(Object.keys(json.ratios as object)).toContain('matmul TN 8x16x12 wasm/JS');
    // OpenBLAS is either measured or said to be unavailable, with the reason.
    const ref = (json.config as { openblasReference: { available: boolean; reason?: string } }).openblasReference;
    if (ref.available) for (const rec of records.filter((x) => x.unit === 'GFLOP/s')) positive(rec, 'openblas');
    else expect((json.notes as string[]).some((n) => n.includes('OpenBLAS reference unavailable'))).toBe(true);
  });

  it('runs the OpenBLAS child on one thread without the old-build overrides, and says why when it cannot', async () => {
    const env = blasEnv({ PATH: '/bin', OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '1048576', OPENBLAS_NUM_THREADS: '8' });
    expect(env).toEqual({ PATH: '/bin', OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' });
    const missing = await timeBlas([[2, 2, 2]], { python: 'no-such-python-for-loom', repeats: 1, minTime: 0.001 });
    expect(missing).toMatchObject({ available: false, seconds: {} });
    expect(missing.reason).toMatch(/not found/);
  });
});

describe('batch-size', () => {
  it('times each batch size and worker count and measures accuracy', async () => {
    const r = await runBatchSize({
      ...batchSizeConfig(true),
      batchSizes: [1, 20], workers: [1, 2], hidden: [8], trainLimit: 200, testLimit: 100,
      timedSamples: 20, minSteps: 1, maxSteps: 3, warmupSamples: 1, budgetS: 0.05, epochs: 1, epochSubset: 40,
    });
    const json = await checkResult(r, 'batch-size', ['batchSize', 'workers', 'updatesPerEpoch', 'secondsPerEpoch', 'samplesPerSec', 'msPerStep', 'budgetAccuracy', 'epochsAccuracy']);
    const records = json.records as Record<string, unknown>[];
    expect(records.map((x) => [x.batchSize, x.workers])).toEqual([[1, 1], [1, 2], [20, 1], [20, 2]]);
    expect(records[0]!.updatesPerEpoch).toBe(50_000);
    expect(records[2]!.updatesPerEpoch).toBe(2_500);
    for (const rec of records) {
      for (const k of ['secondsPerEpoch', 'samplesPerSec', 'msPerStep']) positive(rec, k);
      expect(rec.budgetAccuracy as number).toBeGreaterThanOrEqual(0);
      expect(rec.epochsAccuracy as number).toBeLessThanOrEqual(1);
    }
    expect((json.chart as { logX: boolean }).logX).toBe(true);
    expect((json.chart as { series: unknown[] }).series).toHaveLength(2);
  });
});

describe('scaling', () => {
  it('gives samples per second and the speedup over one worker', async () => {
    const r = await runScaling({ ...scalingConfig(true), batchSizes: [50], workers: [1, 2], hidden: [8], trainLimit: 200, timedSamples: 50, minSteps: 1, warmupSamples: 50, repeats: 1 });
    const json = await checkResult(r, 'scaling', ['batchSize', 'workers', 'samplesPerSec', 'msPerStep', 'speedup', 'efficiency']);
    const records = json.records as Record<string, unknown>[];
    expect(records.map((x) => x.workers)).toEqual([1, 2]);
    expect(records[0]!.speedup).toBe(1);
    positive(records[1]!, 'speedup');
    expect(json.ratios).toHaveProperty(['batch 50: 2 workers vs 1']);
  });
});

describe('distributed', () => {
  it('times 2 processes against 2 threads, the all-reduce against raw TCP, and plans more hosts', async () => {
    const r = await runDistributed({
      ...distributedConfig(true),
      hidden: [8], stepBatchSizes: [20], stepTargets: { 20: 0.8 }, computeBatchSizes: [10, 20], warmupSteps: 1, timedSamples: 40, minSteps: 2, maxSteps: 4,
      repeats: 1, tcpBytes: 2 ** 20, tcpWriteBytes: 2 ** 16, tcpRounds: 1, allReduceFloats: [1000], allReduceWorlds: [2], allReduceJitWarmup: 2, allReduceWarmup: 1, allReduceRepeats: 3,
      hosts: [1, 2, 4], linksGbps: [10], planBatchSizes: [100],
    });
    const json = await checkResult(r, 'distributed', ['measurement', 'measured', 'baseline', 'ratio', 'target', 'met', 'unit']);
    expect(mlpParameterCount([500, 500])).toBe(648_010);
    const records = json.records as Record<string, unknown>[];
    expect(records.map((x) => x.unit)).toEqual(['ms/step', 'bytes/s']);
    for (const rec of records) for (const k of ['measured', 'baseline', 'ratio']) positive(rec, k);
    expect(typeof records[0]!.met).toBe('boolean');
    expect(Object.keys(json.ratios as object)).toEqual(['batch 20: 2 processes × 1 thread vs 1 process × 2 threads', 'all-reduce bus bandwidth / raw loopback TCP']);
    const sections = json.sections as { title: string; table: { columns: string[]; rows: string[][] }; records: Record<string, unknown>[] }[];
    expect(sections).toHaveLength(4);
    for (const s of sections) for (const row of s.table.rows) expect(row).toHaveLength(s.table.columns.length);
    // Steps: both configurations at batch 20, and batch 10 for the compute fit.
    expect(sections[0]!.records.map((x) => [x.batchSize, x.processes])).toEqual(expect.arrayContaining([[20, 2], [20, 1], [10, 1]]));
    // All-reduce at 1,000 floats and at the gradient's 6,370.
    expect(sections[1]!.records.map((x) => x.floats)).toEqual([1000, mlpParameterCount([8])]);
    expect(sections[2]!.records.map((x) => x.parameter)).toEqual(['α', 'β', 'c0', 'c1']);
    for (const p of sections[2]!.records) expect(p.value as number).toBeGreaterThanOrEqual(0);
    // The plan: 2 models × 1 batch × 1 link × 3 host counts; one host is 100% efficient.
    expect(sections[3]!.records).toHaveLength(6);
    expect(sections[3]!.records.filter((x) => x.hosts === 1).every((x) => x.efficiency === 1)).toBe(true);
    expect((json.notes as string[]).some((n) => /fastest at N = \d/.test(n))).toBe(true);
  });
});

describe('first-epoch', () => {
  it('times two epochs in a fresh process and gives their ratio', async () => {
    const r = await runFirstEpoch({ ...firstEpochConfig(true), samples: 300, hidden: [8], runs: 1 });
    const json = await checkResult(r, 'first-epoch', ['run', 'workers', 'firstS', 'secondS', 'ratio']);
    const rec = (json.records as Record<string, unknown>[])[0]!;
    positive(rec, 'firstS');
    positive(rec, 'secondS');
    expect(rec.ratio).toBeCloseTo((rec.firstS as number) / (rec.secondS as number), 10);
    expect(Object.keys(json.ratios as object)).toEqual(['first epoch / second epoch (median)']);
  });
});

describe('peers', () => {
  it('times Loom, both tfjs backends and PyTorch (where it imports) on the same model and gives ratios', async () => {
    const r = await runPeers({
      ...peersConfig(true),
      hidden: [8], batchSize: 20, trainLimit: 200, loomWorkers: [1], loomSteps: 2, loomWarmupSteps: 1,
      tfjsBackends: ['wasm', 'cpu'], tfjsSteps: { wasm: 2, cpu: 2 }, tfjsWarmupSteps: 1,
      torchThreads: [1], torchSteps: 2, torchWarmupSteps: 1,
    });
    const json = await checkResult(r, 'peers', ['framework', 'backend', 'msPerStep', 'secondsPerEpoch', 'samplesPerSec', 'timeRatioVsLoom']);
    const records = json.records as Record<string, unknown>[];
    const torch = (json.config as { torchAvailable: boolean }).torchAvailable;
    // CI has no torch: then the PyTorch row is absent (not zero) and a note says why.
    expect(records.map((x) => String(x.framework).replace(/^PyTorch .*/, 'PyTorch'))).toEqual(['Loom', 'TensorFlow.js 4.22', 'TensorFlow.js 4.22', ...(torch ? ['PyTorch'] : [])]);
    expect(records[0]!.timeRatioVsLoom).toBe(1);
    for (const rec of records) positive(rec, 'secondsPerEpoch');
    expect(Object.keys(json.ratios as object)).toEqual([
      'tfjs-wasm time / Loom 1 worker time', 'tfjs-cpu time / Loom 1 worker time',
      ...(torch ? ['PyTorch 1 thread time / Loom 1 worker time', 'Loom 1 worker time / PyTorch 1 thread time'] : []),
    ]);
    if (!torch) expect((json.notes as string[]).some((n) => n.startsWith('PyTorch not available'))).toBe(true);
  });

  it('says PyTorch is not available, and why, when its interpreter is missing', async () => {
    const r = await runPeers({
      ...peersConfig(true),
      hidden: [8], batchSize: 20, trainLimit: 200, loomWorkers: [1], loomSteps: 2, loomWarmupSteps: 1,
      tfjsBackends: [], torchThreads: [1, 2], torch: { python: 'no-such-python-for-loom' },
    });
    expect(r.records.map((x) => x.framework)).toEqual(['Loom']);
    expect(r.config.torchAvailable).toBe(false);
    expect(r.notes.find((n) => n.startsWith('PyTorch not available'))).toMatch(/no-such-python-for-loom not found/);
  });

  it('gives the torch child its thread counts and OpenBLAS first, without the old-build overrides', () => {
    const env = torchEnv(2, '/x/openblas', { PATH: '/bin', LD_LIBRARY_PATH: '/lib', OPENBLAS_CORETYPE: 'Haswell', OPENBLAS_L2_SIZE: '1048576' });
    expect(env).toEqual({ PATH: '/bin', LD_LIBRARY_PATH: '/x/openblas:/lib', OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2' });
    expect(torchEnv(1, null, { PATH: '/bin' })).toEqual({ PATH: '/bin', OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' });
  });
});

describe('tutorial', () => {
  it('follows the test accuracy over the epochs for Loom, PyTorch (where it imports) and tfjs-wasm', async () => {
    const r = await runTutorial({ ...tutorialConfig(true), hidden: [32], samples: 1000, testLimit: 200, epochs: 3, seeds: [1, 2], torchSeeds: [1], tfjsSeeds: [1], tfjsEpochs: 2, workers: 1 });
    const json = await checkResult(r, 'tutorial', ['epoch', 'Loom accuracy', 'Loom min accuracy', 'Loom max accuracy', 'Loom loss', 'tfjs-wasm accuracy']);
    const records = json.records as Record<string, unknown>[];
    const torch = (json.config as { torchAvailable: boolean }).torchAvailable;
    expect(records.map((x) => x.epoch)).toEqual([1, 2, 3]);
    for (const rec of records) {
      expect(rec['Loom accuracy'] as number).toBeGreaterThan(0.3); // 10+ steps on 1,000 images: far better than chance (0.1)
      expect(rec['Loom min accuracy'] as number).toBeLessThanOrEqual(rec['Loom max accuracy'] as number);
      if (torch) expect(rec['PyTorch accuracy'] as number).toBeGreaterThan(0.3);
      else expect(rec).not.toHaveProperty('PyTorch accuracy');
    }
    // tfjs-wasm ran 2 of the 3 epochs: its third is missing, not zero.
    expect(records.map((x) => x['tfjs-wasm accuracy'] === null)).toEqual([false, false, true]);
    const runs = json.runs as { framework: string; seed: number; accuracy: number[] }[];
    expect(runs.map((x) => [x.framework, x.seed, x.accuracy.length])).toEqual([['Loom', 1, 3], ['Loom', 2, 3], ...(torch ? [['PyTorch', 1, 3]] : []), ['tfjs-wasm', 1, 2]]);
    expect(Object.keys(json.ratios as object)).toEqual(expect.arrayContaining(['Loom mean test accuracy after 2 epochs', 'Loom mean test accuracy after 3 epochs', 'tfjs-wasm mean test accuracy after 2 epochs']));
    const series = (json.chart as { series: { name: string; points: unknown[] }[] }).series;
    expect(series.map((x) => x.points.length)).toEqual([3, ...(torch ? [3] : []), 2, 2]);
    if (!torch) expect((json.notes as string[]).some((n) => n.startsWith('PyTorch not available'))).toBe(true);
  });

  it('leaves PyTorch out with the reason when its interpreter is missing, and checks its epochs', async () => {
    const base = { ...tutorialConfig(true), hidden: [8], samples: 200, testLimit: 100, epochs: 1, seeds: [1], tfjsSeeds: [], tfjsEpochs: 1, workers: 1 };
    const r = await runTutorial({ ...base, torchSeeds: [1], torch: { python: 'no-such-python-for-loom' } });
    expect(r.table.columns.some((c) => c.startsWith('PyTorch'))).toBe(false);
    expect(r.notes.find((n) => n.startsWith('PyTorch not available'))).toMatch(/no-such-python-for-loom not found/);
    await expect(runTutorial({ ...base, tfjsEpochs: 2 })).rejects.toThrow(/tfjsEpochs must be an integer from 1 to epochs \(1\), got 2/);
  });
});

describe('soak', () => {
  it('records memory at every epoch and compares a late epoch with an early one', async () => {
    const r = await runSoak({ ...soakConfig(true), hidden: [8], samples: 100, batchSize: 20, epochs: 3, workers: 1, compareEpochs: [1, 3], reportEpochs: [1, 2, 3] });
    const json = await checkResult(r, 'soak', ['epoch', 'heapUsedBytes', 'rssBytes', 'externalBytes', 'arrayBuffersBytes', 'heapVsEarly', 'rssVsEarly']);
    const records = json.records as Record<string, unknown>[];
    expect(records.map((x) => x.epoch)).toEqual([1, 2, 3]);
    for (const rec of records) for (const k of ['heapUsedBytes', 'rssBytes']) positive(rec, k);
    expect(records[0]!.heapVsEarly).toBe(1);
    expect(Object.keys(json.ratios as object)).toEqual(expect.arrayContaining(['heapUsed epoch 3 / epoch 1', 'rss epoch 3 / epoch 1']));
    const series = (json.chart as { series: { name: string; points: unknown[] }[] }).series;
    expect(series.find((s) => s.name === 'RSS')!.points).toHaveLength(3);
    expect((json.notes as string[])[0]).toMatch(/within 10%/);
  });

  it('rejects epochs to compare that the run does not have', async () => {
    await expect(runSoak({ ...soakConfig(true), epochs: 2, compareEpochs: [2, 5] })).rejects.toThrow(/compareEpochs/);
  });
});

describe('heap', () => {
  it('measures the heap around training steps for both backends', async () => {
    const saved = process.env.LOOM_BACKEND;
    const r = await runHeap({ ...heapConfig(true), hidden: [8], batchSize: 10, trainLimit: 100, warmupSteps: 2, steps: 5, attempts: 1, backends: ['js', 'wasm'] });
    expect(process.env.LOOM_BACKEND).toBe(saved);
    const json = await checkResult(r, 'heap', ['backend', 'kernels', 'steps', 'gcsDuringSteps', 'allocatedBytesPerStep', 'retainedBytesPerStep', 'tracedBytesPerStep', 'msPerStep']);
    const records = json.records as Record<string, unknown>[];
    expect(records.map((x) => x.backend)).toEqual(['js', 'wasm']);
    expect(records[0]!.kernels).toBe('js');
    expect(records[1]!.kernels).toMatch(/^wasm (relaxed|SIMD128)$/);
    for (const rec of records) {
      positive(rec, 'msPerStep');
      expect(Number.isInteger(rec.gcsDuringSteps)).toBe(true);
      expect(rec.allocatedBytesPerStep === null || typeof rec.allocatedBytesPerStep === 'number').toBe(true);
    }
    const series = (json.chart as { series: { name: string; points: unknown[] }[] }).series;
    expect(series).toHaveLength(3);
    expect(series[0]!.points).toHaveLength(6);
  });
});
