import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from './index.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const childScript = join(packageDir, 'test', 'fixtures', 'save-loop.mjs');
const dir = mkdtempSync(join(tmpdir(), 'loom-ckpt-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The child imports dist/: build it when missing or older than a source file (nx builds first anyway). */
beforeAll(() => {
  const built = join(packageDir, 'dist', 'index.js');
  const srcDir = join(packageDir, 'src');
  const newestSource = Math.max(
    ...readdirSync(srcDir)
      .filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))
      .map((n) => statSync(join(srcDir, n)).mtimeMs),
  );
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-b'], { cwd: packageDir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tsc -b failed:\n${result.stdout}${result.stderr}`);
});

/** Starts the saving loop, waits for its first complete save, lets it run `ms` more, then SIGKILLs it. */
function runAndKill(path: string, first: number, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, path, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let ready = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', () => {
      if (ready) return;
      ready = true;
      setTimeout(() => child.kill('SIGKILL'), ms);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' && ready) resolve();
      else reject(new Error(`save loop ended by itself (code ${code}, signal ${signal}):\n${stderr}`));
    });
  });
}

describe('crash safety', () => {
  it('a process SIGKILLed while saving in a loop always leaves a loadable checkpoint', async () => {
    const path = join(dir, 'ckpt.loom');
    let first = 0;
    for (let round = 0; round < 6; round++) {
      const ms = 5 + Math.floor(Math.random() * 120);
      await runAndKill(path, first, ms);
      const rec = await loadCheckpoint(path); // throws if the file is damaged
      const i = Number(rec.metadata?.iteration);
      expect(i, `round ${round}, killed after ${ms} ms`).toBeGreaterThanOrEqual(first);
      const w = rec.weights[0].data;
      expect(w.length).toBe(1000 + 500 * (i % 400));
      expect(w[0]).toBe(i);
      expect(w[w.length - 1]).toBe(i);
      first = i + 1;
    }
    // A kill can strand a temporary file, never more than one per kill.
    const strays = readdirSync(dir).filter((n) => n.includes('.tmp-'));
    expect(strays.length).toBeLessThanOrEqual(6);
  }, 30_000);
});
