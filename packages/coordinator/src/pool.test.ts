import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { setSeed } from '@loom/tensor';
import { Sequential, layers } from '@loom/layers';
import { Adam } from '@loom/optimizers';
import { ThreadEngine, poolInfo, shutdown } from './index.js';

function engineOptions(workers: number) {
  setSeed(2);
  const model = new Sequential([layers.dense({ units: 8, inputShape: [6], activation: 'relu' }), layers.dense({ units: 3, activation: 'softmax' })]);
  model.build();
  return { model, optimizer: new Adam(), loss: 'categorical_crossentropy', metrics: [], workers, maxRows: 8, labelWidth: 3 };
}

async function steps(workers: number): Promise<void> {
  const engine = await ThreadEngine.create(engineOptions(workers));
  try {
    engine.y.fill(0);
    for (let r = 0; r < 8; r++) engine.y[r * 3 + (r % 3)] = 1;
    for (let s = 0; s < 3; s++) await engine.trainStep(8, 1, s);
  } finally {
    await engine.close();
  }
}

afterAll(() => shutdown());

describe('the process pool', () => {
  // An engine of W workers leases W - 1 threads: the main thread is worker 0.
  it('is started once, reused by every engine, and grows when an engine asks for more workers', async () => {
    await shutdown();
    expect(poolInfo().threads).toBe(0);
    await steps(3);
    const first = poolInfo();
    expect(first.threads).toBe(2);
    await steps(3);
    await steps(2);
    await steps(1);
    expect(poolInfo()).toEqual(first);
    await steps(4);
    expect(poolInfo().threads).toBe(3);
    expect(poolInfo().generation).toBe(first.generation + 1);
  });

  it('shutdown twice is harmless, and the next engine starts a new pool', async () => {
    await steps(2);
    const before = poolInfo().generation;
    await shutdown();
    await shutdown();
    expect(poolInfo().threads).toBe(0);
    await steps(2);
    expect(poolInfo().generation).toBe(before + 1);
  });

  it('never keeps the process alive once idle', () => {
    // A fresh process that trains on two threads and ends without shutdown() must exit by itself.
    const script = `
      import { setSeed } from '@loom/tensor';
      import { Sequential, layers } from '@loom/layers';
      import { Adam } from '@loom/optimizers';
      import { ThreadEngine } from '@loom/coordinator';
      setSeed(1);
      const model = new Sequential([layers.dense({ units: 4, inputShape: [3] })]);
      model.build();
      const engine = await ThreadEngine.create({ model, optimizer: new Adam(), loss: 'mse', metrics: [], workers: 2, maxRows: 4, labelWidth: 4 });
      await engine.trainStep(4, 1, 0);
      await engine.close();
      console.log('trained');
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('trained');
    expect(run.status).toBe(0);
  });
});
