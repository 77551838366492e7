import { describe, expect, it } from 'vitest';
import { heapAllocator, sharedAllocator, withAllocator } from './allocator.js';
import { add, div, mul, relu, sigmoid, sub, sumToShape } from './elementwise.js';
import { Random, getGlobalRandom, permutation, randomNormal, randomUniform, setSeed, truncatedNormal, uniformAt } from './random.js';
import { argmax, max, mean, sum } from './reduce.js';
import { logSoftmax, softmax } from './softmax.js';
import { Tensor, fill, ones, scalar, tensor, zeros } from './tensor.js';

describe('Tensor', () => {
  it('wraps data without copying and infers nested shapes', () => {
    const d = new Float32Array([1, 2, 3, 4]);
    const t = tensor(d, [2, 2]);
    expect(t.data).toBe(d);
    expect(tensor([[1, 2, 3], [4, 5, 6]]).shape).toEqual([2, 3]);
    expect(tensor([[1, 2], [3, 4]]).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(scalar(3).item()).toBe(3);
    expect(ones([2]).data).toEqual(new Float32Array([1, 1]));
    expect(fill([3], 7).data[2]).toBe(7);
    expect(t.reshape([-1]).shape).toEqual([4]);
  });

  it('rejects bad shapes and data lengths with the argument and the shapes', () => {
    expect(() => new Tensor(new Float32Array(3), [2, 2])).toThrow(/data length 3 does not match shape \[2, 2\] \(4 elements\)/);
    expect(() => zeros([2, NaN])).toThrow(/shape must contain non-negative integers, got \[2, NaN\]/);
    expect(() => zeros([-1, 3])).toThrow(/shape must contain non-negative integers, got \[-1, 3\]/);
    expect(() => zeros([1.5])).toThrow(/shape/);
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
    expect(() => tensor([1, 2, 3]).reshape([2, 2])).toThrow(/reshape: shape \[2, 2\] has 4 elements, the tensor has 3/);
  });

  it('allocates from the current allocator', () => {
    const t = withAllocator(sharedAllocator, () => zeros([4]));
    expect(t.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    const h = withAllocator(heapAllocator, () => zeros([4]));
    expect(h.data.buffer).toBeInstanceOf(ArrayBuffer);
  });
});

describe('elementwise', () => {
  it('broadcasts like NumPy', () => {
    const a = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(add(a, tensor([10, 20, 30])).toArray()).toEqual([[11, 22, 33], [14, 25, 36]]);
    expect(mul(a, tensor([[2], [3]])).toArray()).toEqual([[2, 4, 6], [12, 15, 18]]);
    expect(sub(tensor([[1], [2]]), tensor([1, 2, 3])).toArray()).toEqual([[0, -1, -2], [1, 0, -1]]);
    expect(div(a, scalar(2)).data[5]).toBe(3);
    const b3 = add(zeros([2, 1, 3]), tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9], [0, 0, 1]]));
    expect(b3.shape).toEqual([2, 4, 3]);
    expect(b3.data[3 * 4 + 2]).toBe(3);
  });

  it('names both shapes when they cannot broadcast', () => {
    expect(() => add(zeros([2, 3]), zeros([4]))).toThrow(/add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
  });

  it('sums a gradient back to a broadcast operand shape', () => {
    const g = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(sumToShape(g, [3]).toArray()).toEqual([5, 7, 9]);
    expect(sumToShape(g, [2, 1]).toArray()).toEqual([[6], [15]]);
    expect(sumToShape(g, []).item()).toBe(21);
  });

  it('sigmoid is stable at the extremes and relu clips', () => {
    const s = sigmoid(tensor([-1000, 0, 1000]));
    expect(Array.from(s.data)).toEqual([0, 0.5, 1]);
    expect(Array.from(relu(tensor([-1, 2])).data)).toEqual([0, 2]);
  });
});

describe('reductions', () => {
  const x = tensor([[1, 5, 3], [4, 2, 6]]);
  it('reduce along axes and overall', () => {
    expect(sum(x).item()).toBe(21);
    expect(sum(x, { axis: 0 }).toArray()).toEqual([5, 7, 9]);
    expect(sum(x, { axis: 1, keepDims: true }).shape).toEqual([2, 1]);
    expect(mean(x, { axis: -1 }).toArray()).toEqual([3, 4]);
    expect(max(x, { axis: 0 }).toArray()).toEqual([4, 5, 6]);
    expect(argmax(x, 1).toArray()).toEqual([1, 2]);
    expect(() => sum(x, { axis: 2 })).toThrow(/axis must be an integer in \[-2, 1\], got 2/);
  });
});

describe('softmax', () => {
  it('is stable for large inputs and log-softmax agrees', () => {
    const x = tensor([[1000, 1001, 1002], [-1000, -1000, -1000]]);
    const s = softmax(x);
    const ls = logSoftmax(x);
    for (let i = 0; i < 6; i++) {
      expect(Number.isFinite(s.data[i]!)).toBe(true);
      expect(Math.exp(ls.data[i]!)).toBeCloseTo(s.data[i]!, 6);
    }
    expect(s.data[3]).toBeCloseTo(1 / 3, 6);
    expect(s.data[0]! + s.data[1]! + s.data[2]!).toBeCloseTo(1, 6);
  });
});

describe('random', () => {
  it('is reproducible from a seed and from a saved state', () => {
    const a = new Random(42), b = new Random(42);
    expect(randomNormal([100], 0, 1, a).data).toEqual(randomNormal([100], 0, 1, b).data);
    const state = a.getState();
    const next = a.uniform();
    const c = new Random(0);
    c.setState(state);
    expect(c.uniform()).toBe(next);
    setSeed(5);
    const first = randomUniform([3]).data;
    setSeed(5);
    expect(randomUniform([3]).data).toEqual(first);
    expect(getGlobalRandom()).toBeInstanceOf(Random);
  });

  it('draws sensible distributions', () => {
    const rng = new Random(1);
    const n = randomNormal([20000], 2, 3, rng).data;
    let m = 0;
    for (const v of n) m += v;
    m /= n.length;
    let v2 = 0;
    for (const v of n) v2 += (v - m) ** 2;
    expect(m).toBeCloseTo(2, 1);
    expect(Math.sqrt(v2 / n.length)).toBeCloseTo(3, 1);
    const t = truncatedNormal([1000], 0, 1, rng).data;
    for (const v of t) expect(Math.abs(v)).toBeLessThanOrEqual(2);
    const u = randomUniform([1000], -1, 1, rng).data;
    for (const v of u) expect(v >= -1 && v < 1).toBe(true);
    const p = permutation(50, rng);
    expect([...p].sort((x, y) => x - y)).toEqual([...Array(50).keys()]);
    expect(uniformAt(1, 2, 3)).toBe(uniformAt(1, 2, 3));
    expect(uniformAt(1, 2, 3)).not.toBe(uniformAt(1, 2, 4));
  });
});
