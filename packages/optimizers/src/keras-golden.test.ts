/**
 * Keras's own numbers: the `test_single_step` and `test_correctness_with_golden` tables of
 * keras-team/keras `keras/src/optimizers/*_test.py` (Keras 3), with Keras's tolerances
 * (1e-4 and 5e-4). They check that Loom follows Keras, independently of our hand computations.
 */
import { describe, expect, it } from 'vitest';
import { Adadelta, Adagrad, Adam, Adamax, Nadam, type Optimizer, RMSprop, SGD } from './index.js';

function closeTo(actual: Float32Array, expected: readonly number[], tol: number): void {
  expected.forEach((e, i) => {
    expect(Math.abs(actual[i]! - e), `[${i}]: got ${actual[i]}, expected ${e}`).toBeLessThanOrEqual(tol + tol * Math.abs(e));
  });
}

const SINGLE_STEP: [string, () => Optimizer, number[]][] = [
  ['SGD', () => new SGD({ learningRate: 0.5 }), [0.5, -1.0, -0.5, 3.0]],
  ['RMSprop', () => new RMSprop({ learningRate: 0.5 }), [-0.5811, 0.4189, 1.4189, 2.4189]],
  ['Adagrad', () => new Adagrad({ learningRate: 0.5 }), [0.5233, 1.5007, 2.5005, 3.5061]],
  ['Adadelta', () => new Adadelta({ learningRate: 0.5 }), [0.9993, 1.9993, 2.9993, 3.9993]],
  ['Adam', () => new Adam({ learningRate: 0.5 }), [0.5, 1.5, 2.5, 3.5]],
  ['Adamax', () => new Adamax({ learningRate: 0.5 }), [0.5, 1.5, 2.5, 3.5]],
  ['Nadam', () => new Nadam({ learningRate: 0.5 }), [0.4686, 1.4686, 2.4686, 3.4686]],
];

const tile = (rows: number[]) => rows.map((r) => new Array<number>(10).fill(r));

const GOLDEN: [string, () => Optimizer, number[][]][] = [
  ['SGD nesterov (momentum 0)', () => new SGD({ nesterov: true }), [
    [0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999, 0.9999],
    [0.9989, 0.9979, 0.9969, 0.9959, 0.9949, 0.9939, 0.9929, 0.9919, 0.9909, 0.9899],
    [0.9979, 0.9959, 0.9939, 0.9919, 0.9899, 0.9879, 0.9859, 0.9839, 0.9819, 0.9799],
    [0.9969, 0.9939, 0.9909, 0.9879, 0.9849, 0.9819, 0.9789, 0.9759, 0.9729, 0.9699],
    [0.9959, 0.9919, 0.9879, 0.9839, 0.9799, 0.9759, 0.9719, 0.9679, 0.9639, 0.9599],
  ]],
  ['RMSprop centered', () => new RMSprop({ centered: true }), tile([0.9967, 0.9933, 0.9908, 0.9885, 0.9864])],
  ['Adagrad', () => new Adagrad({ learningRate: 0.2, initialAccumulatorValue: 0.3, epsilon: 1e-6 }), [
    [0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963],
    [0.9604, 0.9278, 0.9003, 0.8784, 0.8615, 0.8487, 0.8388, 0.8313, 0.8255, 0.8209],
    [0.9251, 0.8629, 0.8137, 0.7768, 0.7497, 0.7298, 0.7151, 0.704, 0.6956, 0.6891],
    [0.8903, 0.8012, 0.7342, 0.6862, 0.6521, 0.6277, 0.6099, 0.5967, 0.5867, 0.579],
    [0.856, 0.7422, 0.6604, 0.6037, 0.5644, 0.5367, 0.5168, 0.5021, 0.491, 0.4825],
  ]],
  ['Adadelta', () => new Adadelta({ learningRate: 1.0, rho: 0.8, epsilon: 1e-6 }), tile([0.9978, 0.9947, 0.9915, 0.9882, 0.9849])],
  ['Adam amsgrad', () => new Adam({ amsgrad: true }), tile([0.999, 0.9982, 0.9974, 0.9965, 0.9955])],
  ['Adamax', () => new Adamax({ learningRate: 0.2, beta1: 0.85, beta2: 0.95, epsilon: 1e-6 }), [
    [0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8],
    [0.6827, 0.6873, 0.6888, 0.6896, 0.6901, 0.6904, 0.6906, 0.6908, 0.6909, 0.691],
    [0.5333, 0.5407, 0.5431, 0.5444, 0.5451, 0.5456, 0.546, 0.5462, 0.5464, 0.5466],
    [0.368, 0.3773, 0.3804, 0.382, 0.3829, 0.3835, 0.384, 0.3843, 0.3846, 0.3848],
    [0.1933, 0.204, 0.2076, 0.2094, 0.2105, 0.2112, 0.2117, 0.2121, 0.2124, 0.2126],
  ]],
  ['Nadam', () => new Nadam({ learningRate: 0.5, beta1: 0.5, beta2: 0.67, epsilon: 1e-5 }), [
    [0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281, 0.4281],
    [-0.1738, -0.1731, -0.1726, -0.1723, -0.1721, -0.172, -0.1719, -0.1718, -0.1718, -0.1717],
    [-0.7115, -0.7103, -0.7096, -0.7092, -0.709, -0.7088, -0.7086, -0.7085, -0.7085, -0.7084],
    [-1.2335, -1.2322, -1.2313, -1.2309, -1.2306, -1.2304, -1.2302, -1.2301, -1.23, -1.2299],
    [-1.7492, -1.7478, -1.7469, -1.7464, -1.7461, -1.7459, -1.7457, -1.7456, -1.7455, -1.7454],
  ]],
];

describe("Keras's test tables", () => {
  it.each(SINGLE_STEP)('%s: single step from [1, 2, 3, 4] with gradient [1, 6, 7, 2]', (_, make, expected) => {
    const w = new Float32Array([1, 2, 3, 4]);
    make().apply([w], [new Float32Array([1, 6, 7, 2])]);
    closeTo(w, expected, 1e-4);
  });

  it.each(GOLDEN)('%s: golden 5 steps (first gradient 0.01, then 0.1..1.0)', (_, make, golden) => {
    const opt = make();
    const x = new Float32Array(10).fill(1);
    const first = new Float32Array(10).fill(0.01);
    const grads = Float32Array.from({ length: 10 }, (_, i) => (i + 1) / 10);
    opt.apply([x], [first]);
    for (const row of golden) {
      closeTo(x, row, 5e-4);
      opt.apply([x], [grads]);
    }
  });
});
