import { describe, expect, it } from 'vitest';
import { Random, setSeed, tensor, zeros } from '@loom/tensor';
import { activationNames } from '@loom/autodiff';
import { getLoss, lossNames } from './losses.js';
import { getMetric } from './metrics.js';
import { layers, deserializeLayer, serializeLayer } from './registry.js';
import { Sequential } from './sequential.js';
import { checkModelGradient } from './testing.js';
import type { Layer, StepInfo } from './layer.js';

const rng = new Random(99);
const infer: StepInfo = { training: false, seed: 0, step: 0, rowOffset: 0 };

function randomData(n: number, from: Random = rng): Float32Array {
  return new Float32Array(n).map(() => from.uniform() * 2 - 1);
}

function labelsFor(loss: string, rows: number, cols: number): Float32Array {
  if (loss === 'sparse_categorical_crossentropy') return new Float32Array(rows).map((_, r) => (r * 3) % cols);
  if (loss === 'categorical_crossentropy') {
    const y = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) y[r * cols + ((r * 3) % cols)] = 1;
    return y;
  }
  if (loss === 'binary_crossentropy') return new Float32Array(rows * cols).map((_, i) => (i % 3 === 0 ? 1 : 0));
  return randomData(rows * cols);
}

/** Shared layer test: build, forward shape, config round trip. */
function runLayerTest(layer: Layer, inputShape: number[], expectedOutput: number[]): void {
  const model = new Sequential([layer]);
  model.build(inputShape);
  expect(layer.outputShape).toEqual(expectedOutput);
  const rows = 3;
  const out = model.forward(randomData(rows * inputShape.reduce((p, d) => p * d, 1)), rows, infer);
  expect(out.length).toBeGreaterThanOrEqual(rows * expectedOutput.reduce((p, d) => p * d, 1));
  const again = deserializeLayer(JSON.parse(JSON.stringify(serializeLayer(layer))));
  expect(again.getConfig()).toEqual(layer.getConfig());
  expect(again.className).toBe(layer.className);
}

describe('layers', () => {
  it('build, call and round-trip their config', () => {
    runLayerTest(layers.dense({ units: 4, activation: 'relu' }), [5], [4]);
    runLayerTest(layers.dense({ units: 2, activation: 'leaky_relu', alpha: 0.2, useBias: false, kernelInitializer: 'he_normal' }), [3], [2]);
    runLayerTest(layers.activation({ activation: 'tanh' }), [6], [6]);
    runLayerTest(layers.dropout({ rate: 0.5 }), [6], [6]);
    runLayerTest(layers.flatten(), [2, 3, 1], [6]);
    runLayerTest(layers.maxout({ units: 3, pieces: 2 }), [4], [3]);
  });

  it('reject bad configs with the option named', () => {
    expect(() => layers.dense({ units: 0 })).toThrow(/units must be a positive integer, got 0/);
    expect(() => layers.dense({ units: 3, activation: 'swish' })).toThrow(/Unknown activation 'swish'. Known: linear, sigmoid, tanh, relu, leaky_relu, elu, softmax/);
    expect(() => layers.dense({ units: 3, kernelInitializer: 'nope' })).toThrow(/Unknown kernelInitializer/);
    expect(() => layers.dropout({ rate: 1 })).toThrow(/rate must be a number in \[0, 1\), got 1/);
    expect(() => layers.maxout({ units: 2, pieces: 1.5 })).toThrow(/pieces must be a positive integer/);
    expect(() => getLoss('hinge')).toThrow(/Unknown loss 'hinge'. Known: categorical_crossentropy/);
    expect(() => getMetric('auc', getLoss('mse'))).toThrow(/Unknown metric 'auc'. Known: accuracy/);
    expect(() => new Sequential([layers.dense({ units: 2 })]).build()).toThrow(/inputShape/);
  });

  it('dense computes x·W + b with Keras weight order', () => {
    const model = new Sequential([layers.dense({ units: 2, inputShape: [3] })]);
    model.build();
    model.setWeights([tensor([[1, 2], [3, 4], [5, 6]]), tensor([0.5, -0.5])]);
    const y = model.forward(new Float32Array([1, 1, 1, 0, 1, 0]), 2, infer);
    expect(Array.from(y.subarray(0, 4))).toEqual([9.5, 11.5, 3.5, 3.5]);
    expect(model.getWeights().map((w) => w.shape)).toEqual([[3, 2], [2]]);
    expect(() => model.setWeights([zeros([2, 3]), zeros([2])])).toThrow(/weight 0 \(.*kernel\) must have shape \[3, 2\], got \[2, 3\]/);
  });

  it('initializes from the seed', () => {
    const make = () => {
      setSeed(3);
      const m = new Sequential([layers.dense({ units: 5, inputShape: [4] })]);
      m.build();
      return m.params.slice();
    };
    expect(make()).toEqual(make());
  });

  it('prints the Keras summary table', () => {
    const model = new Sequential([layers.dense({ units: 500, inputShape: [784], activation: 'relu', name: 'd1' }), layers.dense({ units: 10, activation: 'softmax', name: 'd2' })]);
    model.build();
    const s = model.summary();
    expect(s).toMatch(/d1 \(Dense\)\s+\(None, 500\)\s+392500/);
    expect(s).toMatch(/Total params: 397,510/);
  });
});

describe('gradients through a small model match finite differences', () => {
  for (const act of activationNames) {
    it(`activation ${act}`, () => {
      setSeed(11);
      const model = new Sequential([
        layers.dense({ units: 5, inputShape: [4], activation: act }),
        layers.dense({ units: 3, activation: 'linear' }),
      ]);
      model.build();
      const rows = 4;
      // A small step keeps relu-type kinks from falling inside the difference quotient.
      // Data from a per-test generator, so each case is reproducible on its own.
      checkModelGradient(model, randomData(rows * 4, new Random(21)), labelsFor('mse', rows, 3), rows, getLoss('mse'), { epsilon: 1e-3 });
    });
  }

  for (const lossName of lossNames) {
    for (const lastAct of ['softmax', 'sigmoid', 'linear']) {
      if (lossName.includes('crossentropy') && lastAct === 'linear') continue;
      it(`loss ${lossName} after ${lastAct}`, () => {
        setSeed(12);
        const model = new Sequential([
          layers.dense({ units: 6, inputShape: [5], activation: 'tanh' }),
          layers.dense({ units: 4, activation: lastAct }),
        ]);
        model.build();
        const rows = 5;
        checkModelGradient(model, randomData(rows * 5), labelsFor(lossName, rows, 4), rows, getLoss(lossName));
      });
    }
  }

  it('maxout, dropout (inference), flatten and a separate activation layer', () => {
    setSeed(13);
    const model = new Sequential([
      layers.flatten({ inputShape: [2, 3] }),
      layers.maxout({ units: 4, pieces: 3 }),
      layers.dropout({ rate: 0.3 }),
      layers.dense({ units: 3 }),
      layers.activation({ activation: 'softmax' }),
    ]);
    model.build();
    const rows = 3;
    checkModelGradient(model, randomData(rows * 6), labelsFor('categorical_crossentropy', rows, 3), rows, getLoss('categorical_crossentropy'));
  });
});

describe('dropout', () => {
  it('drops about `rate`, scales the rest, and is the identity in inference', () => {
    const d = layers.dropout({ rate: 0.25 });
    const m = new Sequential([d]);
    m.build([1000]);
    const x = new Float32Array(2000).fill(1);
    const y = m.forward(x, 2, { training: true, seed: 5, step: 1, rowOffset: 0 });
    const kept = Array.from(y.subarray(0, 2000)).filter((v) => v !== 0);
    expect(kept.length / 2000).toBeCloseTo(0.75, 1);
    expect(kept[0]).toBeCloseTo(1 / 0.75, 6);
    expect(m.forward(x, 2, infer)).toBe(x);
  });

  it('gives a sample the same mask whatever shard it is in', () => {
    const d = layers.dropout({ rate: 0.5 });
    const m = new Sequential([d]);
    m.build([8]);
    const x = randomData(4 * 8);
    const whole = m.forward(x, 4, { training: true, seed: 1, step: 7, rowOffset: 0 }).slice(0, 32);
    const secondHalf = m.forward(x.subarray(16), 2, { training: true, seed: 1, step: 7, rowOffset: 2 }).slice(0, 16);
    expect(secondHalf).toEqual(whole.subarray(16));
    const otherStep = m.forward(x, 4, { training: true, seed: 1, step: 8, rowOffset: 0 }).slice(0, 32);
    expect(otherStep).not.toEqual(whole);
  });
});

describe('metrics', () => {
  it('accuracy follows the shapes, as in Keras 3', () => {
    const pred = new Float32Array([0.1, 0.9, 0.8, 0.2]);
    expect(getMetric('accuracy', getLoss('categorical_crossentropy')).compute(pred, new Float32Array([0, 1, 0, 1]), 2, 2)).toBe(1);
    expect(getMetric('accuracy', getLoss('sparse_categorical_crossentropy')).compute(pred, new Float32Array([1, 0]), 2, 2)).toBe(2);
    expect(getMetric('accuracy', getLoss('binary_crossentropy'), 1).compute(pred, new Float32Array([0, 1, 1, 0]), 4, 1)).toBe(4);
    // Keras 3: with several outputs, accuracy is categorical whatever the loss.
    expect(getMetric('accuracy', getLoss('binary_crossentropy'), 2).compute(pred, new Float32Array([0, 1, 1, 0]), 2, 2)).toBe(2);
    expect(getMetric('mae', getLoss('mse')).compute(new Float32Array([1, 3]), new Float32Array([0, 0]), 1, 2)).toBe(2);
  });
});

describe('the split step', () => {
  it('shards of rows and parts of the weights give the whole step\'s gradient bit for bit', () => {
    const build = () => {
      setSeed(21);
      const m = new Sequential([
        layers.dense({ units: 7, inputShape: [5], activation: 'relu' }),
        layers.dropout({ rate: 0.25 }),
        layers.maxout({ units: 3, pieces: 2 }),
        layers.dense({ units: 4, activation: 'softmax' }),
      ]);
      m.build();
      m.allocateBuffers(11);
      return m;
    };
    const rows = 11, loss = getLoss('categorical_crossentropy');
    const x = randomData(rows * 5), y = labelsFor('categorical_crossentropy', rows, 4);
    const whole = build();
    const stats = new Float64Array(1);
    whole.trainStep(x, y, rows, loss, [], 1 / rows, { training: true, seed: 3, step: 2, rowOffset: 0 }, stats);

    const split = build();
    // Three shards of rows (4, 4, 3), one after another as three workers would run them.
    for (const [from, to] of [[0, 4], [4, 8], [8, 11]] as const) {
      split.setWindow(from);
      split.backwardRows(x.subarray(from * 5), y.subarray(from * 4), to - from, loss, 1 / rows, { training: true, seed: 3, step: 2, rowOffset: from });
    }
    for (let part = 0; part < 5; part++) split.weightGradients(x, rows, part, 5);
    expect(split.grads).toEqual(whole.grads);
    const splitStats = new Float64Array(1);
    split.batchStats(x, y, rows, loss, [], splitStats);
    expect(splitStats).toEqual(stats);
    // The parts' parameter ranges cover every parameter exactly once.
    const owned = new Uint8Array(split.countParams());
    for (let part = 0; part < 5; part++) {
      const r = split.weightChunks(part, 5);
      for (let i = 0; i < r.length; i += 2) for (let j = r[i]!; j < r[i + 1]!; j++) owned[j]!++;
    }
    expect(owned.every((c) => c === 1)).toBe(true);
  });
});
