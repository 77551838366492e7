import { mkdtempSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SGD, Adam } from '@loom/optimizers';
import { Callback } from './callbacks.js';
import { ModelCheckpoint, inspectCheckpoint, latestCheckpoint, loadModel } from './checkpointing.js';
import type { Sequential } from './model.js';
import { mlp, mnistSubset } from './test-helpers.js';

let data: Awaited<ReturnType<typeof mnistSubset>>;
const dir = mkdtempSync(join(tmpdir(), 'loom-ckpt-'));
beforeAll(async () => {
  data = await mnistSubset(600, 200);
});

type Variant = { name: string; optimizer: () => SGD | Adam; dropout: number };
const variants: Variant[] = [
  { name: 'Adam', optimizer: () => new Adam({ learningRate: 2e-3 }), dropout: 0 },
  { name: 'SGD with momentum', optimizer: () => new SGD({ learningRate: 0.05, momentum: 0.9 }), dropout: 0 },
  { name: 'Adam with dropout', optimizer: () => new Adam(), dropout: 0.3 },
];

function fresh(v: Variant): Sequential {
  // Large enough (234k parameters × 100 rows) that workers: 2 really runs on two threads.
  const model = mlp({ hidden: [256, 128], dropout: v.dropout, seed: 2 });
  model.compile({ loss: 'categorical_crossentropy', optimizer: v.optimizer(), metrics: ['accuracy'] });
  return model;
}

const fitOptions = { batchSize: 100, workers: 2, seed: 9, verbose: 0 as const, validationSplit: 0.2 };

describe('checkpoints', () => {
  it('a saved and loaded model predicts identical bits', async () => {
    const model = fresh(variants[0]!);
    await model.fit(data.x, data.y, { ...fitOptions, epochs: 1 });
    const path = join(dir, 'predict.loom');
    await model.save(path);
    const again = await loadModel(path);
    expect((await again.predict(data.testX)).data).toEqual((await model.predict(data.testX)).data);
    expect(again.getConfig()).toEqual(model.getConfig());
  });

  for (const v of variants) {
    it(`resume is exact: 3 epochs straight = 2 epochs, save, load, 1 more (${v.name})`, async () => {
      const straight = fresh(v);
      const h = await straight.fit(data.x, data.y, { ...fitOptions, epochs: 3 });

      const first = fresh(v);
      await first.fit(data.x, data.y, { ...fitOptions, epochs: 2 });
      const path = join(dir, `resume-${v.name}.loom`);
      await first.save(path);
      const resumed = await loadModel(path);
      expect(resumed.progress.epoch).toBe(2);
      const h2 = await resumed.fit(data.x, data.y, { ...fitOptions, epochs: 3, initialEpoch: 2 });

      expect(resumed.params).toEqual(straight.params);
      expect(resumed.optimizer!.iterations).toBe(straight.optimizer!.iterations);
      expect(h2.epoch).toEqual([0, 1, 2]);
      expect(h2.history).toEqual(h.history);
    });
  }

  it('resumes exactly from a checkpoint written on interrupt in the middle of an epoch', async () => {
    const v = variants[2]!;
    const straight = fresh(v);
    await straight.fit(data.x, data.y, { ...fitOptions, epochs: 2 });

    const model = fresh(v);
    const ckpt = new ModelCheckpoint({ filepath: join(dir, 'int-{epoch}.loom') });
    class InterruptAt extends Callback {
      override onBatchEnd(batch: number) {
        if (batch === 3 && this.model.progress.epoch === 1) process.emit('SIGINT', 'SIGINT');
      }
    }
    await model.fit(data.x, data.y, { ...fitOptions, epochs: 2, callbacks: [ckpt, new InterruptAt()] });
    expect(ckpt.interrupted).toBe('SIGINT');
    expect(model.progress).toMatchObject({ epoch: 1, step: 4 });
    // Named after the epoch it stopped in (Keras's numbering); epoch 1's end-of-epoch file is untouched.
    expect(ckpt.lastSaved).toBe(join(dir, 'int-2.loom'));
    expect((await loadModel(join(dir, 'int-1.loom'))).progress).toMatchObject({ epoch: 1, step: 0 });
    const resumed = await loadModel(ckpt.lastSaved!);
    await resumed.fit(data.x, data.y, { ...fitOptions, epochs: 2, initialEpoch: resumed.progress.epoch });
    expect(resumed.params).toEqual(straight.params);
    expect(resumed.trainingHistory.history).toEqual(straight.trainingHistory.history);
  });

  it('a checkpoint saved with 2 workers continues with 1 exactly as training that never stopped', async () => {
    const straight = fresh(variants[2]!);
    const h = await straight.fit(data.x, data.y, { ...fitOptions, epochs: 2 });
    const model = fresh(variants[2]!);
    const first = await model.fit(data.x, data.y, { ...fitOptions, epochs: 1 });
    expect(first.params.workers).toBe(2);
    const path = join(dir, 'w2.loom');
    await model.save(path);
    const resumed = await loadModel(path);
    const h2 = await resumed.fit(data.x, data.y, { ...fitOptions, workers: 1, epochs: 2, initialEpoch: 1 });
    expect(h2.epoch).toEqual([0, 1]);
    expect(h2.params.workers).toBe(1);
    expect(resumed.params).toEqual(straight.params);
    expect(h2.history).toEqual(h.history);
  });

  it('ModelCheckpoint saves every epoch, keeps the last K, and the latest is found', async () => {
    const sub = mkdtempSync(join(tmpdir(), 'loom-mc-'));
    const model = fresh(variants[1]!);
    await model.fit(data.x, data.y, { ...fitOptions, epochs: 4, callbacks: [new ModelCheckpoint({ filepath: join(sub, 'ckpt-{epoch}.loom'), keep: 2 })] });
    expect(readdirSync(sub).sort()).toEqual(['ckpt-3.loom', 'ckpt-4.loom']);
    expect(await latestCheckpoint(sub)).toBe(join(sub, 'ckpt-4.loom'));
    const text = await inspectCheckpoint(join(sub, 'ckpt-4.loom'));
    expect(text).toMatch(/Dense/);
    expect(text).toMatch(/sgd/i);
  });

  it('keeps the input scaling through save, ModelCheckpoint and load; a model without one loads with null', async () => {
    const { fitScaling } = await import('@loom/data');
    const model = mlp({ hidden: [16], seed: 3 });
    model.compile({ loss: 'categorical_crossentropy', optimizer: 'sgd', metrics: ['accuracy'] });
    model.build();
    await model.save(join(dir, 'unscaled.loom'));
    expect((await loadModel(join(dir, 'unscaled.loom'))).inputScaling).toBeNull();

    model.inputScaling = fitScaling(data.x, 'minmax');
    const sub = mkdtempSync(join(tmpdir(), 'loom-scaled-'));
    await model.fit(data.x, data.y, { batchSize: 200, epochs: 1, workers: 1, verbose: 0, callbacks: [new ModelCheckpoint({ filepath: join(sub, 'ckpt-{epoch}.loom') })] });
    const again = await loadModel(join(sub, 'ckpt-1.loom'));
    expect(again.inputScaling).toEqual(model.inputScaling);
    expect(again.inputScaling!.scale.every((v) => v > 0)).toBe(true); // MNIST's always-0 border pixels: scale 1
    expect(await inspectCheckpoint(join(sub, 'ckpt-1.loom'))).toMatch(/^Input scaling: minmax, 784 features/m);

    const { loadCheckpoint, saveCheckpoint } = await import('@loom/checkpoint');
    const rec = await loadCheckpoint(join(sub, 'ckpt-1.loom'));
    rec.inputScaling = { method: 'minmax', offset: [0, 0], scale: [1, 1] };
    await saveCheckpoint(join(sub, 'narrow.loom'), rec);
    await expect(loadModel(join(sub, 'narrow.loom'))).rejects.toThrow('narrow.loom: input scaling has 2 features, the model takes 784');
    rec.inputScaling = { ...model.inputScaling!, method: 'robust' };
    await saveCheckpoint(join(sub, 'robust.loom'), rec);
    await expect(loadModel(join(sub, 'robust.loom'))).rejects.toThrow("robust.loom: input scaling method 'robust' is not one this Loom knows (minmax, standard)");
  });

  it('loading refuses weights that do not fit, and damaged files, with distinct errors', async () => {
    const model = fresh(variants[0]!);
    model.build();
    const path = join(dir, 'good.loom');
    await model.save(path);
    const { loadCheckpoint, saveCheckpoint } = await import('@loom/checkpoint');
    const rec = await loadCheckpoint(path);
    rec.weights[0]!.shape = [392, 512];
    const badShape = join(dir, 'bad-shape.loom');
    await saveCheckpoint(badShape, rec);
    await expect(loadModel(badShape)).rejects.toThrow(/weight .*kernel has shape \[392, 512\], the model needs \[784, 256\]/);
    await expect(loadModel(join(dir, 'missing.loom'))).rejects.toThrow(/missing|not found|no such/i);
    const bytes = readFileSync(path);
    const truncated = join(dir, 'truncated.loom');
    writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
    await expect(loadModel(truncated)).rejects.toThrow(/truncated/);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 5] ^= 0xff;
    const corrupted = join(dir, 'corrupted.loom');
    writeFileSync(corrupted, flipped);
    await expect(loadModel(corrupted)).rejects.toThrow(/checksum|corrupted/);
  });
});
