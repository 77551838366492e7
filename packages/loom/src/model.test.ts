import { beforeAll, describe, expect, it } from 'vitest';
import { setSeed, tensor, type Tensor } from '@loom/tensor';
import { Accuracy, CategoricalCrossentropy, GlorotUniform, HeNormal, MeanSquaredError, Zeros, activations, layers } from '@loom/layers';
import { Adam } from '@loom/optimizers';
import { Callback, EarlyStopping, type Logs } from './callbacks.js';
import { Sequential } from './model.js';
import { shutdown } from './index.js';
import { poolInfo } from '@loom/coordinator';
import { maxAbsDiff, mlp, mnistSubset } from './test-helpers.js';

let data: Awaited<ReturnType<typeof mnistSubset>>;
beforeAll(async () => {
  data = await mnistSubset(2000);
});

describe('the classic tutorial on a subset of the real MNIST', () => {
  it('784-500-500-10 relu/softmax, Adam, batch 100, 2 epochs: learns', async () => {
    const model = mlp();
    model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    const history = await model.fit(data.x, data.y, { batchSize: 100, epochs: 2, workers: 2, seed: 1, verbose: 0, validationSplit: 0.1 });
    expect(history.epoch).toEqual([0, 1]);
    expect(history.history.loss![1]!).toBeLessThan(history.history.loss![0]!);
    expect(history.history.val_accuracy).toHaveLength(2);
    const [loss, acc] = await model.evaluate(data.testX, data.testY);
    expect(loss).toBeLessThan(0.6);
    expect(acc).toBeGreaterThan(0.8); // 1,800 training samples; the full-data figure is in bench/
    const probs = await model.predict(data.testX);
    expect(probs.shape).toEqual([1000, 10]);
    let s = 0;
    for (let j = 0; j < 10; j++) s += probs.data[j]!;
    expect(s).toBeCloseTo(1, 5);
  });

  it('sparse labels and the typed optimizer form train too', async () => {
    const model = mlp({ hidden: [32] });
    model.compile({ loss: 'sparse_categorical_crossentropy', optimizer: new Adam({ learningRate: 3e-3 }), metrics: ['accuracy'] });
    const h = await model.fit(data.x, data.labels, { batchSize: 50, epochs: 2, workers: 1, seed: 3, verbose: 0 });
    expect(h.history.accuracy![1]!).toBeGreaterThan(0.8);
  });
});

describe('data parallelism through fit', () => {
  // Large enough (234k parameters × 110 rows = 25.8M, over 3 × the coordinator's 8M a worker)
  // that 3 workers really run, on shards of 37, 37 and 36 rows.
  async function weightsAfter(workers: number, dropout = 0.2): Promise<Float32Array> {
    return (await trainWith(workers, dropout)).params;
  }

  async function trainWith(workers: number, dropout = 0.2) {
    const model = mlp({ hidden: [256, 128], dropout });
    model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    // 1,800 training samples in batches of 110: the last batch of each epoch has 40 rows.
    const h = await model.fit(data.x.reshape([-1, 784]), data.y, { batchSize: 110, epochs: 1, workers, seed: 5, verbose: 0, validationSplit: 0.1 });
    expect(h.params.workers).toBe(workers);
    return { params: model.params.slice(), history: h.history };
  }

  it('1, 2 and 3 workers end an epoch with the same bits: weights and History (loss, accuracy, validation)', async () => {
    const one = await trainWith(1);
    for (const w of [2, 3]) {
      const many = await trainWith(w);
      expect(many.params, `${w} workers`).toEqual(one.params);
      expect(many.history, `${w} workers`).toEqual(one.history);
    }
  });

  it('the same seed and worker count give identical bits', async () => {
    expect(await weightsAfter(2)).toEqual(await weightsAfter(2));
  });

  it('shutdown() ends the worker pool, is harmless twice, and the next fit starts a new one with the same bits', async () => {
    const before = await weightsAfter(2);
    const pool = poolInfo();
    expect(pool.threads).toBeGreaterThanOrEqual(2);
    await shutdown();
    await shutdown();
    expect(poolInfo().threads).toBe(0);
    expect(await weightsAfter(2)).toEqual(before);
    expect(poolInfo().generation).toBeGreaterThan(pool.generation);
  });
});

describe('worker faults during fit', () => {
  async function run(fault?: { worker: number; atStep: number; kind: 'throw' | 'exit' }, retryWorkerFaults?: number) {
    const model = mlp({ hidden: [256, 128], dropout: 0.2 });
    model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    const h = await model.fit(data.x, data.y, { batchSize: 100, epochs: 2, workers: 2, seed: 4, verbose: 0, faultInjection: fault, retryWorkerFaults });
    expect(h.params.workers).toBe(2);
    return { params: model.params.slice(), history: h.history };
  }

  it('a worker that throws or is terminated at step k is replaced: training completes with the same bits', async () => {
    const quiet = () => {};
    process.on('warning', quiet);
    try {
      const clean = await run();
      for (const kind of ['throw', 'exit'] as const) {
        const faulty = await run({ worker: 1, atStep: 7, kind });
        expect(faulty.params).toEqual(clean.params);
        expect(faulty.history).toEqual(clean.history);
      }
    } finally {
      process.off('warning', quiet);
    }
  });

  it('with retryWorkerFaults: 0 the first fault ends fit with the worker error and its stack, within a second', async () => {
    const t0 = Date.now();
    const err = await run({ worker: 1, atStep: 3, kind: 'throw' }, 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/injected fault in worker 1 at step 3/);
    expect((err as Error).stack).toMatch(/worker\.js/);
    expect(Date.now() - t0).toBeLessThan(5000);
    await expect(run(undefined, -1)).rejects.toThrow(/retryWorkerFaults must be a non-negative integer, got -1/);
  });
});

describe('kernel backends', () => {
  it('wasm and JS kernels train to the same weights within 1e-3 after an epoch', async () => {
    const saved = process.env.LOOM_BACKEND;
    const weights: Float32Array[] = [];
    try {
      for (const backend of ['js', 'wasm']) {
        process.env.LOOM_BACKEND = backend;
        const model = mlp({ hidden: [64, 32] });
        model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
        await model.fit(data.x, data.y, { batchSize: 50, epochs: 1, workers: 2, seed: 8, verbose: 0 });
        weights.push(model.params.slice());
        // After fit the weights are back in ordinary memory, not tied to the engine's.
        expect(model.params.buffer).toBeInstanceOf(ArrayBuffer);
      }
    } finally {
      if (saved === undefined) delete process.env.LOOM_BACKEND;
      else process.env.LOOM_BACKEND = saved;
    }
    expect(maxAbsDiff(weights[0]!, weights[1]!)).toBeLessThan(1e-3);
  });
});

describe('callbacks', () => {
  it('are called in Keras order with logs', async () => {
    const events: string[] = [];
    class Recorder extends Callback {
      override onTrainBegin() { events.push('trainBegin'); }
      override onEpochBegin(e: number) { events.push(`epochBegin${e}`); }
      override onBatchEnd(b: number, logs?: Logs) { if (b === 0) events.push(`batchEnd0:${typeof logs?.loss}`); }
      override onEpochEnd(e: number, logs?: Logs) { events.push(`epochEnd${e}:${Object.keys(logs ?? {}).join(',')}`); }
      override onTrainEnd() { events.push('trainEnd'); }
    }
    const model = mlp({ hidden: [8] });
    model.compile({ loss: 'categorical_crossentropy', optimizer: 'sgd', metrics: ['accuracy'] });
    await model.fit(data.x, data.y, { batchSize: 500, epochs: 2, workers: 1, verbose: 0, callbacks: [new Recorder(), { onEpochEnd: () => { events.push('lambda'); } }], validationSplit: 0.2 });
    expect(events).toEqual([
      'trainBegin', 'epochBegin0', 'batchEnd0:number', 'epochEnd0:loss,accuracy,val_loss,val_accuracy', 'lambda',
      'epochBegin1', 'batchEnd0:number', 'epochEnd1:loss,accuracy,val_loss,val_accuracy', 'lambda', 'trainEnd',
    ]);
  });

  it('evaluate and predict from a callback during a threaded fit use its engine and leave training intact', async () => {
    const run = async (probe: boolean) => {
      const model = mlp({ hidden: [256, 128] });
      model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
      const seen: number[] = [];
      const h = await model.fit(data.x, data.y, {
        batchSize: 100, epochs: 2, workers: 2, seed: 6, verbose: 0,
        callbacks: probe ? [{ onEpochEnd: async () => { seen.push((await model.evaluate(data.testX, data.testY))[1]!, (await model.predict(data.testX)).shape[0]!); } }] : [],
      });
      expect(h.params.workers).toBe(2);
      return { params: model.params.slice(), seen };
    };
    const plain = await run(false);
    const probed = await run(true);
    expect(probed.params).toEqual(plain.params);
    expect(probed.seen).toHaveLength(4);
    expect(probed.seen[1]).toBe(1000);
  });

  it('a Callback subclass reaches the model it trains through this.model (a TrainingModel)', async () => {
    const model = mlp({ hidden: [8] });
    model.compile({ loss: 'categorical_crossentropy', optimizer: 'sgd', metrics: ['accuracy'] });
    const seen: { same: boolean; metrics: number; weights: number; iterations: number }[] = [];
    class Probe extends Callback {
      override async onEpochEnd() {
        const metrics = await this.model.evaluate(data.testX, data.testY);
        seen.push({ same: this.model === model, metrics: metrics.length, weights: this.model.getWeights().length, iterations: this.model.optimizer!.iterations });
      }
    }
    await model.fit(data.x, data.y, { batchSize: 500, epochs: 2, workers: 1, verbose: 0, callbacks: [new Probe()] });
    const steps = Math.ceil(data.x.shape[0]! / 500);
    expect(seen).toEqual([
      { same: true, metrics: 2, weights: 4, iterations: steps },
      { same: true, metrics: 2, weights: 4, iterations: 2 * steps },
    ]);
  });

  it('EarlyStopping ends training when the monitored value stops improving', async () => {
    const model = mlp({ hidden: [8] });
    model.compile({ loss: 'categorical_crossentropy', optimizer: new Adam({ learningRate: 0 }) });
    const stop = new EarlyStopping({ monitor: 'loss', patience: 1 });
    const h = await model.fit(data.x, data.y, { batchSize: 1000, epochs: 10, workers: 1, verbose: 0, callbacks: [stop], shuffle: false });
    expect(h.epoch.length).toBeLessThan(10);
    expect(stop.stoppedEpoch).toBeGreaterThan(0);
  });
});

describe('the model API', () => {
  it('getWeights/setWeights round trip, summary, nested-array input', async () => {
    const model = new Sequential([layers.dense({ units: 2, inputShape: [3], activation: 'linear' })]);
    model.compile({ loss: 'mse', optimizer: 'sgd' });
    model.build();
    model.setWeights([tensor([[1, 0], [0, 1], [1, 1]]), tensor([0, 1])]);
    const y = await model.predict([[1, 2, 3]]);
    expect(Array.from(y.data)).toEqual([4, 6]);
    expect(model.getWeights()[0]!.toArray()).toEqual([[1, 0], [0, 1], [1, 1]]);
    const lines: string[] = [];
    model.summary((l) => lines.push(l));
    expect(lines[0]).toMatch(/Total params: 8/);
    const [mse] = await model.evaluate([[1, 2, 3]], [[4, 6]]);
    expect(mse).toBe(0);
  });
});

describe('typed object forms of the string identifiers', () => {
  it('build, train and save the same model as the names', async () => {
    const build = (typed: boolean) => {
      setSeed(11);
      const model = new Sequential([
        layers.dense({
          units: 16, inputShape: [784], activation: typed ? activations.relu : 'relu',
          kernelInitializer: typed ? new HeNormal() : 'he_normal', biasInitializer: typed ? new Zeros() : 'zeros',
        }),
        layers.dense({ units: 10, activation: typed ? activations.softmax : 'softmax', kernelInitializer: typed ? new GlorotUniform() : 'glorot_uniform' }),
      ]);
      model.compile(typed
        ? { loss: new CategoricalCrossentropy(), optimizer: new Adam(), metrics: [new Accuracy(), new MeanSquaredError()] }
        : { loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy', 'mean_squared_error'] });
      model.build(); // the weights now, from the seed just set
      return model;
    };
    const [named, typed] = [build(false), build(true)];
    const fit = (m: Sequential) => m.fit(data.x, data.y, { batchSize: 100, epochs: 1, workers: 1, seed: 2, verbose: 0 });
    const [h1, h2] = [await fit(named), await fit(typed)];
    expect(h2.history).toEqual(h1.history);
    expect(Object.keys(h2.history)).toEqual(['loss', 'accuracy', 'mean_squared_error']);
    named.getWeights().forEach((w, i) => expect(Array.from(typed.getWeights()[i]!.data)).toEqual(Array.from(w.data)));
    // Inside (and so in checkpoints) the model keeps the identifiers.
    expect(typed.loss).toBe('categorical_crossentropy');
    expect(typed.metricNames).toEqual(['accuracy', 'mean_squared_error']);
    expect((typed.layers[0] as unknown as { getConfig(): object }).getConfig()).toMatchObject({ activation: 'relu', kernelInitializer: 'he_normal' });
  });

  it('anything else is refused with the argument named', () => {
    const model = mlp({ hidden: [4] });
    expect(() => model.compile({ loss: 42 as never })).toThrow(/compile: loss must be a name or an object with a name.*got number/);
    expect(() => model.compile({ loss: 'mse', metrics: [null as never] })).toThrow(/compile: metrics\[0\] must be a name or an object with a name.*got null/);
    expect(() => model.compile({ loss: { name: 'hinge' } })).toThrow(/Unknown loss 'hinge'. Known: categorical_crossentropy/);
    expect(() => layers.dense({ units: 2, activation: 7 as never })).toThrow(/activation of .* must be a name or an object with a name/);
  });
});

describe('bad input is refused before any training step', () => {
  let model: Sequential;
  let before: Float32Array;
  const x = (): Tensor => data.x;
  beforeAll(() => {
    model = mlp({ hidden: [4] });
    model.compile({ loss: 'categorical_crossentropy', optimizer: 'adam', metrics: ['accuracy'] });
    model.build();
    before = model.params.slice();
  });

  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['fit before compile', () => mlp({ hidden: [4] }).fit(data.x, data.y), /fit before compile/],
    ['rows differ', () => model.fit(x(), data.y.reshape([-1]).data.subarray(0, 10 * 1999)), /x has 2000 samples but y has 1999/],
    ['feature width', () => model.fit(tensor([[1, 2, 3]]), tensor([[0, 1, 0, 0, 0, 0, 0, 0, 0, 0]])), /x: each sample has 3 features.*input shape is \[784\]/],
    ['label width', () => model.fit(x(), data.labels), /y: each label has 1 values.*outputs 10.*toCategorical/],
    ['batchSize 0', () => model.fit(x(), data.y, { batchSize: 0 }), /batchSize must be a positive integer, got 0/],
    ['batchSize 2.5', () => model.fit(x(), data.y, { batchSize: 2.5 }), /batchSize must be a positive integer, got 2.5/],
    ['epochs -1', () => model.fit(x(), data.y, { epochs: -1 }), /epochs must be a positive integer, got -1/],
    ['validationSplit 1', () => model.fit(x(), data.y, { validationSplit: 1 }), /validationSplit must be a number in \[0, 1\), got 1/],
    ['workers 0', () => model.fit(x(), data.y, { workers: 0 }), /workers must be a positive integer, got 0/],
    ['NaN in x', () => { const bad = x().clone(); bad.data[785] = NaN; return model.fit(bad, data.y); }, /x.*NaN.*index 785|x.*index 785.*NaN/],
    ['Infinity in y', () => { const bad = data.y.clone(); bad.data[3] = Infinity; return model.fit(x(), bad); }, /y.*Infinity|y.*index 3/],
  ];
  for (const [name, run, message] of cases) {
    it(name, async () => {
      await expect(run()).rejects.toThrow(message);
      expect(model.params).toEqual(before);
    });
  }

  it('unknown names list the known ones', () => {
    const m = mlp({ hidden: [4] });
    expect(() => m.compile({ loss: 'hinge' })).toThrow(/Unknown loss 'hinge'. Known: categorical_crossentropy/);
    expect(() => m.compile({ loss: 'mse', optimizer: 'adamw' })).toThrow(/adamw.*adam/i);
    expect(() => m.compile({ loss: 'mse', metrics: ['f1'] })).toThrow(/Unknown metric 'f1'. Known: accuracy/);
    expect(() => layers.dense({ units: 2, activation: 'gelu' })).toThrow(/Unknown activation 'gelu'. Known: linear/);
  });

  it('a sparse label out of range', async () => {
    const m = mlp({ hidden: [4] });
    m.compile({ loss: 'sparse_categorical_crossentropy', optimizer: 'adam' });
    const labels = Float32Array.from(data.labels);
    labels[7] = 10;
    await expect(m.fit(data.x, labels)).rejects.toThrow(/y: label 10 at index 7 is not a class index in \[0, 10\)/);
  });
});
