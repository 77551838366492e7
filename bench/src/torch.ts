/**
 * PyTorch as a peer: Debian's python3-torch (1.13) with OpenBLAS's OpenMP build from
 * `bench/.peers/` (see `bench/tools/setup-pytorch.sh`), driven through one `python3` child per
 * configuration running `bench/python/torch_mlp.py` on the same MNIST IDX files Loom reads.
 * Where torch does not import the result says why, and the suites leave the column out.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mnistFiles } from '@loom/data';
import { stepTiming, type StepTiming } from './mlp.js';

/** The bench package's root (`bench/`), from either `src/` or `dist/`. */
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const TORCH_SCRIPT = resolve(packageRoot, 'python', 'torch_mlp.py');
/** Where setup-pytorch.sh unpacks libopenblas0-openmp. */
export const DEFAULT_TORCH_BLAS_DIR = resolve(packageRoot, '.peers', 'root', 'usr', 'lib', 'x86_64-linux-gnu', 'openblas-openmp');

export interface TorchOptions {
  /** The interpreter: Debian's, where python3-torch installs (not a pyenv or venv python3). */
  python?: string;
  /** A folder with OpenBLAS's libblas.so.3, put first on LD_LIBRARY_PATH; skipped when it does not exist. */
  blasDir?: string;
  /** The child is killed after this long (ms). */
  timeoutMs?: number;
  /** The Python script the child runs (default: torch_mlp.py; the cnn suite passes torch_cnn.py). */
  script?: string;
}

export const DEFAULT_TORCH_PYTHON = '/usr/bin/python3';

/**
 * The torch child's environment: `threads` OpenMP and OpenBLAS threads, OpenBLAS first on the
 * library path when `blasDir` is given, and without `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE`
 * (set on some of these machines for old OpenBLAS builds; they make this one pick a slower
 * kernel). Only this child's environment changes.
 */
export function torchEnv(threads: number, blasDir: string | null, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const child: NodeJS.ProcessEnv = { ...env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  delete child.OPENBLAS_CORETYPE;
  delete child.OPENBLAS_L2_SIZE;
  if (blasDir) child.LD_LIBRARY_PATH = env.LD_LIBRARY_PATH ? `${blasDir}:${env.LD_LIBRARY_PATH}` : blasDir;
  return child;
}

export type TorchOutcome<T> = { available: true; torch: string; threads: number; blas: string | null; value: T } | { available: false; reason: string };

/** Runs the script with `config` (plus the MNIST file paths) on `threads` threads; parses its JSON line. */
export function runTorchChild<T>(config: Record<string, unknown>, threads: number, o: TorchOptions = {}): Promise<TorchOutcome<T>> {
  const python = o.python ?? DEFAULT_TORCH_PYTHON;
  const blasDir = o.blasDir ?? DEFAULT_TORCH_BLAS_DIR;
  const arg = JSON.stringify({ ...config, files: mnistFiles(), threads });
  return new Promise((done) => {
    execFile(python, [o.script ?? TORCH_SCRIPT, arg], { env: torchEnv(threads, existsSync(blasDir) ? blasDir : null), timeout: o.timeoutMs ?? 3_600_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? `${python} not found` : `${python} failed: ${(stderr || err.message).trim().split('\n').pop()}`;
        done({ available: false, reason: why });
        return;
      }
      let parsed: { error?: string; torch?: string; threads?: number; blas?: string | null } & Record<string, unknown>;
      try {
        parsed = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {
        done({ available: false, reason: `${python} printed no result: ${stdout.slice(0, 200)}` });
        return;
      }
      if (parsed.error) done({ available: false, reason: parsed.error });
      else done({ available: true, torch: parsed.torch ?? '?', threads: parsed.threads ?? threads, blas: parsed.blas ?? null, value: parsed as T });
    });
  });
}

/** The BLAS a result ran on, for the backend column: OpenBLAS from bench/.peers, or what the system gave. */
export function describeTorchBlas(blas: string | null): string {
  if (!blas) return 'no BLAS library mapped';
  if (blas.includes('openblas-openmp')) return 'OpenBLAS OpenMP';
  return `system ${blas.split('/').pop()} (run bench/tools/setup-pytorch.sh for OpenBLAS)`;
}

/**
 * Times `steps` PyTorch training steps after `warmupSteps`, on `threads` threads, timed as Loom's
 * are (fresh model, shuffled batches, clock from the end of the last warm-up step to the end of
 * the last timed step; start-up reported apart).
 */
export async function timeTorchSteps(
  o: { hidden: readonly number[]; batchSize: number; trainLimit: number; warmupSteps: number; steps: number; threads: number; seed?: number } & TorchOptions,
): Promise<TorchOutcome<StepTiming>> {
  const r = await runTorchChild<{ endsMs: number[]; startupMs: number }>(
    { mode: 'time', hidden: o.hidden, batchSize: o.batchSize, trainLimit: o.trainLimit, warmupSteps: o.warmupSteps, steps: o.steps, seed: o.seed ?? 1 },
    o.threads, o,
  );
  if (!r.available) return r;
  return { ...r, value: stepTiming(r.value.endsMs, o.batchSize, r.threads, o.warmupSteps, r.value.startupMs) };
}

export interface TorchTrainRun {
  seed: number;
  /** Test accuracy and loss after each epoch. */
  accuracy: number[];
  loss: number[];
  /** Training time, evaluation excluded. */
  seconds: number;
}

/** Trains the tutorial MLP once per seed for `epochs` epochs, evaluating the test set after every epoch. */
export async function trainTorchEpochs(
  o: { hidden: readonly number[]; batchSize: number; epochs: number; samples: number; testLimit: number; seeds: readonly number[]; threads: number } & TorchOptions,
): Promise<TorchOutcome<TorchTrainRun[]>> {
  const r = await runTorchChild<{ runs: TorchTrainRun[] }>(
    { mode: 'train', hidden: o.hidden, batchSize: o.batchSize, epochs: o.epochs, samples: o.samples, testLimit: o.testLimit, seeds: o.seeds },
    o.threads, o,
  );
  return r.available ? { ...r, value: r.value.runs } : r;
}
