import { describe, expect, it } from 'vitest';
import { Random, Tensor, randomUniform, tensor } from '@loom/tensor';
import { checkGradient } from './gradient-check.js';
import {
  abs, activation, add, clip, div, elu, exp, leakyRelu, log, logSoftmax, matmul, maximum, maxPieces, mean, mul, neg,
  relu, reshape, sigmoid, softmax, softmaxCrossEntropy, sqrt, square, sub, sum, tanh,
} from './ops.js';
import { activationNames } from './activations.js';
import { grad, isRecording, valueAndGrad } from './tape.js';

const rng = new Random(123);

/** Random shapes, including size-1 dimensions. */
function randomShape(rank: number): number[] {
  return Array.from({ length: rank }, () => 1 + rng.int(4));
}

/** Values bounded away from 0 by `gap` so kinked functions are smooth within a finite-difference step. */
function awayFromZero(shape: number[], gap = 0.05): Tensor {
  const t = randomUniform(shape, -2, 2, rng);
  for (let i = 0; i < t.size; i++) if (Math.abs(t.data[i]!) < gap) t.data[i] = gap * (t.data[i]! < 0 ? -2 : 2);
  return t;
}

/** Weighted sum, so every output element gets a different, nonzero upstream gradient. */
function weighted(y: Tensor): Tensor {
  const w = new Tensor(new Float32Array(y.size).map((_, i) => 0.3 + ((i * 7) % 11) / 10), y.shape);
  return sum(mul(y, w));
}

describe('gradients match central finite differences', () => {
  for (const rank of [1, 2, 3]) {
    it(`binary ops with broadcasting, rank ${rank}`, () => {
      for (let trial = 0; trial < 3; trial++) {
        const shape = randomShape(rank);
        // b broadcasts: its dimensions are randomly 1 and it may have lower rank.
        const bShape = shape.slice(rng.int(rank)).map((d) => (rng.uniform() < 0.5 ? 1 : d));
        const a = randomUniform(shape, -2, 2, rng);
        const b = randomUniform(bShape, 0.5, 2, rng);
        checkGradient((x, y) => weighted(add(x, y)), [a, b]);
        checkGradient((x, y) => weighted(sub(x, y)), [a, b]);
        checkGradient((x, y) => weighted(mul(x, y)), [a, b]);
        checkGradient((x, y) => weighted(div(x, y)), [a, b]);
        checkGradient((x, y) => weighted(maximum(x, y)), [a, awayFromZero(bShape).reshape(bShape)], { atol: 5e-3 });
      }
    });
  }

  it('unary math', () => {
    const x = randomUniform([3, 4], 0.5, 2, rng);
    for (const f of [neg, exp, log, sqrt, square]) checkGradient((v) => weighted(f(v)), [x]);
    checkGradient((v) => weighted(abs(v)), [awayFromZero([5])]);
    const c = tensor([-2, -0.5, 0.2, 0.7, 3]);
    checkGradient((v) => weighted(clip(v, -1, 1)), [c]);
  });

  it('every activation', () => {
    for (const name of activationNames) {
      const x = awayFromZero([3, 5]);
      checkGradient((v) => weighted(activation(v, name)), [x]);
    }
    const x = awayFromZero([2, 4]);
    for (const f of [sigmoid, tanh, relu, softmax, logSoftmax, (v: Tensor) => leakyRelu(v, 0.2), (v: Tensor) => elu(v, 0.7)]) {
      checkGradient((v) => weighted(f(v)), [x]);
    }
  });

  it('matmul in all four transpose layouts', () => {
    for (const ta of [false, true])
      for (const tb of [false, true]) {
        const [m, k, n] = [1 + rng.int(4), 1 + rng.int(5), 1 + rng.int(4)];
        const a = randomUniform(ta ? [k, m] : [m, k], -1, 1, rng);
        const b = randomUniform(tb ? [n, k] : [k, n], -1, 1, rng);
        checkGradient((x, y) => weighted(matmul(x, y, { transposeA: ta, transposeB: tb })), [a, b]);
      }
  });

  it('reductions and reshape', () => {
    const x = randomUniform([2, 3, 4], -1, 1, rng);
    for (const axis of [undefined, 0, 1, 2, -1]) {
      checkGradient((v) => weighted(sum(v, axis)), [x]);
      checkGradient((v) => weighted(mean(v, axis, true)), [x]);
    }
    checkGradient((v) => weighted(reshape(v, [6, 4])), [x]);
  });

  it('maxout pieces', () => {
    // Pieces well separated so the max does not switch within a step.
    const x = new Tensor(new Float32Array(2 * 6).map((_, i) => ((i * 5) % 12) * 0.3 - 1.5), [2, 6]);
    checkGradient((v) => weighted(maxPieces(v, 3)), [x]);
    expect(maxPieces(tensor([[1, 5, 2, 0, -1, 3]]), 3).toArray()).toEqual([[5, 3]]);
  });

  it('fused softmax cross-entropy', () => {
    const logits = randomUniform([4, 5], -3, 3, rng);
    const labels = new Tensor(new Float32Array(20), [4, 5]);
    for (let r = 0; r < 4; r++) labels.data[r * 5 + ((r * 3) % 5)] = 1;
    checkGradient((z) => softmaxCrossEntropy(z, labels), [logits]);
    // Agrees with the unfused form where the unfused form is accurate.
    const unfused = -sum(mul(labels, logSoftmax(logits))).item() / 4;
    expect(softmaxCrossEntropy(logits, labels).item()).toBeCloseTo(unfused, 5);
  });
});

describe('the tape', () => {
  it('accumulates the gradient of a value used twice', () => {
    const x = tensor([3]);
    const [g] = grad((v) => sum(mul(v, v)))(x);
    expect(g!.data[0]).toBe(6);
    const [g2] = grad((v) => sum(add(mul(v, v), v)))(x);
    expect(g2!.data[0]).toBe(7);
  });

  it('gives a zero gradient to unused inputs and the same gradient to a repeated argument', () => {
    const x = tensor([1, 2]);
    const [gx, gy] = grad((a) => sum(square(a)))(x, tensor([5]));
    expect(Array.from(gx!.data)).toEqual([2, 4]);
    expect(Array.from(gy!.data)).toEqual([0]);
  });

  it('keeps no tape outside grad (inference)', () => {
    expect(isRecording()).toBe(false);
    let inside = false;
    valueAndGrad((v) => {
      inside = isRecording();
      return sum(v);
    })(tensor([1]));
    expect(inside).toBe(true);
    expect(isRecording()).toBe(false);
  });

  it('rejects a non-scalar result and names unknown activations', () => {
    expect(() => grad((v) => mul(v, v))(tensor([1, 2]))).toThrow(/scalar.*\[2\]/);
    expect(() => activation(tensor([1]), 'swishy')).toThrow(/Unknown activation 'swishy'. Known: linear, sigmoid/);
    expect(() => add(tensor([1, 2]), tensor([1, 2, 3]))).toThrow(/add: shapes \[2\] and \[3\] cannot be broadcast/);
  });

  it('handles a deep chain without recursion', () => {
    let x = tensor([0.5]);
    const [g] = grad((v) => {
      let y = v;
      for (let i = 0; i < 20000; i++) y = add(y, tensor([0]));
      return sum(y);
    })(x);
    expect(g!.data[0]).toBe(1);
    x = tensor([0]);
  });
});

describe('checkGradient', () => {
  it('catches a wrong backward', async () => {
    const { defineOp } = await import('./tape.js');
    const { unaryOp } = await import('@loom/tensor');
    const wrongSquare = defineOp({
      name: 'wrongSquare',
      forward: ([x]) => ({ output: unaryOp(x!, (v) => v * v) }),
      backward: (dy, [x]) => [unaryOp(x!, (v) => 2.1 * v * dy.data[0]!)],
    });
    expect(() => checkGradient((v) => sum(wrongSquare([v], undefined)), [tensor([1.5])])).toThrow(/analytic 3.15.*numeric 3/);
  });
});
