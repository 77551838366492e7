/**
 * The benchmark command: `node bench/dist/run.js [all|kernels|batch-size|scaling|distributed|first-epoch|peers|tutorial|cnn|soak|heap …]
 * [--quick] [--out DIR] [--md FILE|--no-md] [--batch-sizes 1,10,100] [--workers 1,2]`.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { batchSizeConfig, runBatchSize } from './batch-size.js';
import { cnnConfig, runCnn } from './cnn.js';
import { distributedConfig, runDistributed } from './distributed.js';
import { heapConfig, runHeap } from './heap.js';
import { kernelsConfig, runKernels } from './kernels.js';
import { peersConfig, runPeers } from './peers.js';
import { firstEpochConfig, runFirstEpoch } from './first-epoch.js';
import { SUITE_NAMES, printResult, readResults, writeBenchmarksMd, writeResult, type SuiteName, type SuiteResult } from './report.js';
import { runInfo, writeSummary } from './summary.js';
import { runScaling, scalingConfig } from './scaling.js';
import { runSoak, soakConfig } from './soak.js';
import { runTutorial, tutorialConfig } from './tutorial.js';

export interface BenchOptions {
  suites: SuiteName[];
  quick: boolean;
  outDir: string;
  /** BENCHMARKS.md to rewrite, or null for none. */
  mdPath: string | null;
  batchSizes?: number[];
  workers?: number[];
  /** Tutorial: how many seeds (1..N) PyTorch and tfjs-wasm train, and tfjs-wasm's epochs. */
  torchSeeds?: number;
  tfjsSeeds?: number;
  tfjsEpochs?: number;
}

/** The bench package's root (`bench/`), from either `src/` or `dist/`. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const USAGE = `usage: node bench/dist/run.js [all|${SUITE_NAMES.join('|')} ...] [options]

  --quick               small samples: the whole run takes a few minutes; results go to
                        bench/results-quick/ (gitignored) unless --out or --md says otherwise
  --out DIR             where <suite>.json and <suite>.svg go (default: bench/results;
                        with --quick, bench/results-quick)
  --md FILE             the report to rewrite (default: bench/BENCHMARKS.md; with --quick,
                        BENCHMARKS.md in the --out folder)
  --no-md               do not rewrite the report
  --batch-sizes LIST    batch-size suite: batch sizes, e.g. 1,10,100,1000
  --workers LIST        batch-size and scaling suites: worker counts, e.g. 1,2
  --torch-seeds N       tutorial: PyTorch trains seeds 1..N (default 3; 0 leaves it out)
  --tfjs-seeds N        tutorial: tfjs-wasm trains seeds 1..N (default 1; 0 leaves it out)
  --tfjs-epochs N       tutorial: tfjs-wasm's epochs, at most the suite's (default 10 of 20; 2 with --quick)
  --help                this text`;

function positiveIntegers(value: string | undefined, flag: string): number[] {
  const list = (value ?? '').split(',').filter((s) => s.trim() !== '').map(Number);
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new Error(`${flag} expects a comma-separated list of positive integers, got ${JSON.stringify(value ?? '')}`);
  }
  return list;
}

function count(value: string | undefined, flag: string, min: number): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new Error(`${flag} expects an integer ≥ ${min}, got ${JSON.stringify(value ?? '')}`);
  }
  return n;
}

/** Parses the command line; throws an Error naming the bad argument. Returns null for --help. */
export function parseArgs(argv: readonly string[]): BenchOptions | null {
  const suites = new Set<SuiteName>();
  const o: BenchOptions = { suites: [], quick: false, outDir: '', mdPath: null };
  let out: string | undefined;
  let md: string | null | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--help':
      case '-h':
        return null;
      case '--quick':
        o.quick = true;
        break;
      case '--out':
        out = resolve(value());
        break;
      case '--md':
        md = resolve(value());
        break;
      case '--no-md':
        md = null;
        break;
      case '--batch-sizes':
        o.batchSizes = positiveIntegers(value(), flag);
        break;
      case '--workers':
        o.workers = positiveIntegers(value(), flag);
        break;
      case '--torch-seeds':
        o.torchSeeds = count(value(), flag, 0);
        break;
      case '--tfjs-seeds':
        o.tfjsSeeds = count(value(), flag, 0);
        break;
      case '--tfjs-epochs':
        o.tfjsEpochs = count(value(), flag, 1);
        break;
      default:
        if (flag === 'all') SUITE_NAMES.forEach((s) => suites.add(s));
        else if ((SUITE_NAMES as readonly string[]).includes(flag)) suites.add(flag as SuiteName);
        else throw new Error(`unknown argument ${JSON.stringify(a)}: expected all, ${SUITE_NAMES.join(', ')} or an option (--help)`);
    }
  }
  o.suites = suites.size === 0 ? [...SUITE_NAMES] : SUITE_NAMES.filter((s) => suites.has(s));
  // bench/results and BENCHMARKS.md are committed full-run figures: a quick run's small samples
  // must not replace them, so by default it writes to the gitignored results-quick/ and keeps its
  // report beside its results. Saying --out or --md is asking for that place, quick or not.
  o.outDir = out ?? resolve(packageRoot, o.quick ? 'results-quick' : 'results');
  o.mdPath = md !== undefined ? md : o.quick ? join(o.outDir, 'BENCHMARKS.md') : resolve(packageRoot, 'BENCHMARKS.md');
  return o;
}

/** Runs one suite with its default configuration for the mode, adjusted by the options. */
export async function runSuite(name: SuiteName, o: Pick<BenchOptions, 'quick' | 'batchSizes' | 'workers' | 'torchSeeds' | 'tfjsSeeds' | 'tfjsEpochs'>, log: (line: string) => void): Promise<SuiteResult> {
  switch (name) {
    case 'kernels':
      return runKernels({ ...kernelsConfig(o.quick), log });
    case 'batch-size': {
      const c = batchSizeConfig(o.quick);
      return runBatchSize({ ...c, batchSizes: o.batchSizes ?? c.batchSizes, workers: o.workers ?? c.workers, log });
    }
    case 'scaling': {
      const c = scalingConfig(o.quick);
      return runScaling({ ...c, workers: o.workers ?? c.workers, log });
    }
    case 'distributed':
      return runDistributed({ ...distributedConfig(o.quick), log });
    case 'first-epoch':
      return runFirstEpoch({ ...firstEpochConfig(o.quick), log });
    case 'peers':
      return runPeers({ ...peersConfig(o.quick), log });
    case 'tutorial': {
      const c = tutorialConfig(o.quick);
      const seeds = (n: number | undefined, dflt: number[]) => (n === undefined ? dflt : Array.from({ length: n }, (_, i) => i + 1));
      return runTutorial({
        ...c, torchSeeds: seeds(o.torchSeeds, c.torchSeeds), tfjsSeeds: seeds(o.tfjsSeeds, c.tfjsSeeds),
        tfjsEpochs: o.tfjsEpochs ?? c.tfjsEpochs, log,
      });
    }
    case 'cnn':
      return runCnn({ ...cnnConfig(o.quick), log });
    case 'soak':
      return runSoak({ ...soakConfig(o.quick), log });
    case 'heap':
      return runHeap({ ...heapConfig(o.quick), log });
  }
}

/**
 * The order suites run in: as listed, except that heap goes first. It measures what a training
 * step allocates, and that depends on the JIT's state: after the kernels suite has run the JS
 * matmul through every shape and transpose, its micro-kernel is compiled differently and the JS
 * backend's step allocates several times more than in a fresh training process.
 */
export function runOrder(suites: readonly SuiteName[]): SuiteName[] {
  return [...suites.filter((s) => s === 'heap'), ...suites.filter((s) => s !== 'heap')];
}

/** The command: runs the suites, prints and saves each, then rewrites BENCHMARKS.md. Returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions | null;
  try {
    options = parseArgs(argv);
  } catch (e) {
    console.error(`bench: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  const t0 = performance.now();
  // Every result of this invocation records it, so summary.md can take its figures from this run only.
  const run = runInfo(argv);
  const log = (line: string) => console.error(`  ${line}`);
  let failed = 0;
  console.log(`Loom benchmarks: ${options.suites.join(', ')}${options.quick ? ' (quick)' : ''}`);
  for (const name of runOrder(options.suites)) {
    console.error(`\n[${name}] running…`);
    try {
      const result: SuiteResult = { ...(await runSuite(name, options, log)), run };
      printResult(result);
      const files = await writeResult(result, options.outDir);
      console.log(`  → ${files.json}, ${files.svg}`);
    } catch (e) {
      failed++;
      console.error(`bench: suite ${name} failed: ${(e as Error).stack ?? String(e)}`);
    }
  }
  const summary = await writeSummary(options.outDir, run, await readResults(options.outDir));
  console.log(`\nSummary of this run: ${summary}`);
  if (options.mdPath) {
    await writeBenchmarksMd(options.outDir, options.mdPath);
    console.log(`\nReport: ${options.mdPath}`);
  }
  console.log(`Done in ${((performance.now() - t0) / 1000).toFixed(1)} s${failed ? `; ${failed} suite(s) failed` : ''}.`);
  return failed ? 1 : 0;
}
