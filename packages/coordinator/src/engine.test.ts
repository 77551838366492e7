import { describe, expect, it } from 'vitest';
import { Random, setSeed } from '@loom/tensor';
import { Sequential, layers } from '@loom/layers';
import { Adadelta, Adagrad, Adam, Adamax, Nadam, RMSprop, SGD, type Optimizer } from '@loom/optimizers';
import os from 'node:os';
import { MIN_WORK_PER_WORKER, ThreadEngine, createEngine, defaultWorkers, usefulWorkers, type Engine, type FaultInjection } from './index.js';

const IN = 12, CLASSES = 4, N = 96;
const rng = new Random(4);
const X = new Float32Array(N * IN).map(() => rng.uniform() * 2 - 1);
const Y = new Float32Array(N * CLASSES);
for (let i = 0; i < N; i++) Y[i * CLASSES + (i % CLASSES)] = 1;

function makeModel(dropout = false): Sequential {
  setSeed(1);
  const m = new Sequential([
    layers.dense({ units: 16, inputShape: [IN], activation: 'relu' }),
    ...(dropout ? [layers.dropout({ rate: 0.3 })] : []),
    layers.dense({ units: CLASSES, activation: 'softmax' }),
  ]);
  m.build();
  return m;
}

/** Trains `epochs` passes over X in batches, like fit does, and returns the final weights. */
async function train(workers: number, opts: { batch?: number; dropout?: boolean; optimizer?: Optimizer; fault?: FaultInjection; retries?: number; threaded?: boolean; backend?: 'js' | 'wasm' } = {}) {
  const { batch = 10, dropout = false, optimizer = new Adam({ learningRate: 0.01 }), fault, retries = 0, threaded = false, backend } = opts;
  const model = makeModel(dropout);
  const options = {
    model, optimizer, loss: 'categorical_crossentropy', metrics: ['accuracy'], workers, maxRows: batch, labelWidth: CLASSES, faultInjection: fault, retryWorkerFaults: retries, backend,
    minWorkPerWorker: 0, // this test model is tiny: force the threads
  };
  // threaded: a worker thread even for workers: 1 (createEngine would use the main thread).
  const engine: Engine = threaded ? await ThreadEngine.create(options) : await createEngine(options);
  const losses: number[] = [];
  try {
    let step = 0;
    for (let epoch = 0; epoch < 2; epoch++) {
      for (let s = 0; s < N; s += batch) {
        const rows = Math.min(batch, N - s);
        engine.x.set(X.subarray(s * IN, (s + rows) * IN));
        engine.y.set(Y.subarray(s * CLASSES, (s + rows) * CLASSES));
        await engine.trainStep(rows, 7, step++);
        losses.push(engine.stats[0]! / rows);
      }
    }
    const evalStats = await engine.evaluate(X, Y, N, 32);
    const pred = await engine.predict(X, N, 32);
    return { params: model.params.slice(), losses, evalStats, pred, iterations: optimizer.iterations };
  } finally {
    await engine.close();
  }
}

describe('defaultWorkers', () => {
  it('is every core, shared between the processes a launcher started here (LOCAL_WORLD_SIZE)', () => {
    const cores = os.availableParallelism();
    expect(defaultWorkers({})).toBe(cores);
    expect(defaultWorkers({ LOCAL_WORLD_SIZE: '1' })).toBe(cores);
    expect(defaultWorkers({ LOCAL_WORLD_SIZE: '2' })).toBe(Math.max(1, Math.floor(cores / 2)));
    expect(defaultWorkers({ LOCAL_WORLD_SIZE: String(cores * 4) })).toBe(1);
    expect(defaultWorkers({ LOCAL_WORLD_SIZE: 'x' })).toBe(cores);
  });
});

describe('engines', () => {
  // Bit for bit: row-invariant kernels, the loss scaled by the batch size, every weight-gradient
  // element summed over all rows in one order by its chunk owner, and the batch's loss summed
  // by one worker. N = 96 in batches of 10 ends each epoch with a batch of 6; 3 and 4 workers
  // divide neither.
  for (const backend of ['wasm', 'js'] as const) {
    it(`1, 2, 3 and 4 workers give the same bits: weights, losses, evaluate, predict (${backend} kernels, dropout)`, async () => {
      const one = await train(1, { dropout: true, backend });
      expect(one.iterations).toBe(20);
      expect(one.losses[one.losses.length - 1]!).toBeLessThan(one.losses[0]!);
      for (const w of [2, 3, 4]) {
        const many = await train(w, { dropout: true, backend });
        expect(many.params, `${w} workers`).toEqual(one.params);
        expect(many.losses, `${w} workers`).toEqual(one.losses);
        expect(many.evalStats, `${w} workers`).toEqual(one.evalStats);
        expect(many.pred, `${w} workers`).toEqual(one.pred);
      }
    });
  }

  it('every optimizer gives the same bits on 1 and 3 workers, batch 32 (3 does not divide it)', async () => {
    const optimizers = (): Optimizer[] => [
      new SGD({ learningRate: 0.1, momentum: 0.9, nesterov: true }), new RMSprop({ learningRate: 0.01 }), new Adagrad({ learningRate: 0.1 }),
      new Adadelta({ learningRate: 1 }), new Adam({ learningRate: 0.01 }), new Adamax({ learningRate: 0.01 }), new Nadam({ learningRate: 0.01 }),
    ];
    const a = optimizers(), b = optimizers();
    for (let i = 0; i < a.length; i++) {
      const one = await train(1, { batch: 32, optimizer: a[i]! });
      const three = await train(3, { batch: 32, optimizer: b[i]! });
      expect(three.params, a[i]!.name).toEqual(one.params);
      expect(three.losses, a[i]!.name).toEqual(one.losses);
    }
  });

  it('one worker thread gives the main thread\'s weights bit for bit', async () => {
    const main = await train(1, { dropout: true });
    const thread = await train(1, { dropout: true, threaded: true });
    expect(thread.params).toEqual(main.params);
  });

  it('the same seed and worker count give identical bits twice', async () => {
    const a = await train(2, { dropout: true, optimizer: new SGD({ learningRate: 0.1, momentum: 0.9 }) });
    const b = await train(2, { dropout: true, optimizer: new SGD({ learningRate: 0.1, momentum: 0.9 }) });
    expect(a.params).toEqual(b.params);
  });

  it('runs a batch smaller than the worker count on fewer workers, with the same bits', async () => {
    const one = await train(1, { batch: 1 });
    const three = await train(3, { batch: 1 });
    expect(three.params).toEqual(one.params);
  });

  it('a worker that throws rejects the step with its error, and its threads go back to the pool', async () => {
    await expect(train(2, { fault: { worker: 1, atStep: 3, kind: 'throw' } })).rejects.toThrow(/injected fault in worker 1 at step 3/);
    // The pool's threads are free again: the next engine trains on them.
    const after = await train(2);
    expect(after.iterations).toBe(20);
  });

  it('a worker that dies rejects the step', async () => {
    await expect(train(2, { fault: { worker: 1, atStep: 2, kind: 'exit' } })).rejects.toThrow(/worker 1 died/);
  });

  it('replaces a worker that throws or dies and redoes the step: the same bits as a run without the fault', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const clean = await train(2, { dropout: true });
      const threw = await train(2, { dropout: true, retries: 2, fault: { worker: 1, atStep: 4, kind: 'throw' } });
      const died = await train(2, { dropout: true, retries: 2, fault: { worker: 1, atStep: 7, kind: 'exit' } });
      expect(threw.params).toEqual(clean.params);
      expect(died.params).toEqual(clean.params);
      expect(threw.losses).toEqual(clean.losses);
      await new Promise((r) => setImmediate(r));
      expect(warnings.some((w) => /worker fault at step 4: injected fault in worker 1.*retry 1 of 2/.test(w))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('gives up after the allowed retries when the fault keeps coming back', async () => {
    await expect(train(2, { retries: 2, fault: { worker: 1, atStep: 2, kind: 'throw', persistent: true } })).rejects.toThrow(/injected fault in worker 1 at step 2/);
  });

  it('a convolution\'s work per sample counts every output position, so a convnet batch is split', async () => {
    setSeed(1);
    const conv = new Sequential([layers.conv2d({ filters: 8, kernelSize: 3, inputShape: [12, 12, 1] }), layers.flatten(), layers.dense({ units: CLASSES })]);
    conv.build();
    // 80 weights at 100 positions, then 800 × 4 + 4 Dense weights.
    expect(conv.workPerSample()).toBe(80 * 100 + 3204);
    expect(conv.countParams()).toBe(80 + 3204);
  });

  it('keeps a model too small to gain from threads in the main thread', async () => {
    const model = makeModel();
    const engine = await createEngine({ model, optimizer: new Adam(), loss: 'mse', metrics: [], workers: 2, maxRows: 10, labelWidth: CLASSES });
    expect(engine.workers).toBe(1);
    await engine.close();
  });

  it('starts only the workers the largest batch keeps busy', async () => {
    const model = makeModel(); // 276 parameters
    const p = model.countParams();
    // 10 rows bring 2,760; at 1,104 each that keeps 2 of the 3 workers asked for busy.
    const engine = await createEngine({ model, optimizer: new Adam(), loss: 'mse', metrics: [], workers: 3, maxRows: 10, labelWidth: CLASSES, minWorkPerWorker: 4 * p });
    try {
      expect(engine.workers).toBe(2);
    } finally {
      await engine.close();
    }
    // Inference splits the samples, not a batch: every worker asked for, once threads pay.
    const inference = await createEngine({ model, optimizer: new Adam(), loss: 'mse', metrics: [], workers: 3, maxRows: 10, labelWidth: CLASSES, minWorkPerWorker: 4 * p, inference: true });
    const tooSmall = await createEngine({ model, optimizer: new Adam(), loss: 'mse', metrics: [], workers: 3, maxRows: 5, labelWidth: CLASSES, minWorkPerWorker: 4 * p, inference: true });
    try {
      expect(inference.workers).toBe(3);
      expect(tooSmall.workers).toBe(1);
    } finally {
      await inference.close();
      await tooSmall.close();
    }
  });

  it('usefulWorkers: as many workers as bring the minimum work each, at least one', () => {
    const mlp = 648_010, min = MIN_WORK_PER_WORKER.wasm;
    // The MNIST MLP: from about 12 rows a worker (measured on 2 and on 16 cores).
    expect(usefulWorkers(16, mlp, 100, min)).toBe(8);
    expect(usefulWorkers(2, mlp, 100, min)).toBe(2);
    expect(usefulWorkers(16, mlp, 1000, min)).toBe(16);
    expect(usefulWorkers(16, mlp, 24, min)).toBe(1);
    expect(usefulWorkers(16, mlp, 25, min)).toBe(2);
    expect(usefulWorkers(16, mlp, 1, min)).toBe(1);
    expect(usefulWorkers(4, 10, 1, 0)).toBe(4);
  });

  it('rejects a bad worker count', async () => {
    const model = makeModel();
    await expect(createEngine({ model, optimizer: new Adam(), loss: 'mse', metrics: [], workers: 0, maxRows: 4, labelWidth: CLASSES })).rejects.toThrow(/workers must be a positive integer, got 0/);
    await expect(createEngine({ model, optimizer: new Adam(), loss: 'mse', metrics: [], workers: 1.5, maxRows: 4, labelWidth: CLASSES })).rejects.toThrow(/workers must be a positive integer, got 1.5/);
  });
});
