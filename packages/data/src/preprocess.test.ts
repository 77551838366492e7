import { tensor } from '@loom/tensor';
import { describe, expect, it } from 'vitest';
import { checkFinite, normalize, toCategorical } from './index.js';

describe('toCategorical', () => {
  it('one-hot encodes labels', () => {
    const t = toCategorical([2, 0, 1], 4);
    expect(t.shape).toEqual([3, 4]);
    expect(t.toArray()).toEqual([
      [0, 0, 1, 0],
      [1, 0, 0, 0],
      [0, 1, 0, 0],
    ]);
  });

  it('infers numClasses as max + 1 and takes typed arrays and tensors', () => {
    expect(toCategorical(Uint8Array.from([0, 3])).shape).toEqual([2, 4]);
    expect(toCategorical(tensor([1, 0]), 2).toArray()).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(toCategorical([], 3).shape).toEqual([0, 3]);
  });

  it('names the index and value of a bad label', () => {
    expect(() => toCategorical([0, 1, 10, 2], 10)).toThrow('toCategorical: label at index 2 is 10, expected an integer in [0, 10)');
    expect(() => toCategorical([0, -1], 3)).toThrow('label at index 1 is -1');
    expect(() => toCategorical([0, 1.5], 3)).toThrow('label at index 1 is 1.5');
    expect(() => toCategorical([0, NaN], 3)).toThrow('label at index 1 is NaN');
    expect(() => toCategorical([1, -2])).toThrow('toCategorical: label at index 1 is -2, expected a non-negative integer');
    expect(() => toCategorical([1], 0)).toThrow('numClasses must be a positive integer, got 0');
    expect(() => toCategorical([])).toThrow(/numClasses is required/);
  });
});

describe('normalize', () => {
  it('gives each feature zero mean and unit variance, and returns the statistics', () => {
    const x = tensor([
      [1, 10, 5],
      [3, 20, 5],
      [5, 30, 5],
      [7, 40, 5],
    ]);
    const { x: z, mean, std } = normalize(x);
    expect(Array.from(mean.data)).toEqual([4, 25, 5]);
    expect(std.data[0]).toBeCloseTo(Math.sqrt(5), 6);
    expect(std.data[1]).toBeCloseTo(Math.sqrt(125), 5);
    // A constant feature is only centered (std reported as 1).
    expect(std.data[2]).toBe(1);
    for (let f = 0; f < 3; f++) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < 4; i++) {
        s += z.data[i * 3 + f]!;
        s2 += z.data[i * 3 + f]! ** 2;
      }
      expect(s / 4).toBeCloseTo(0, 6);
      expect(s2 / 4).toBeCloseTo(f === 2 ? 0 : 1, 5);
    }
    // The same transform applied to other data.
    const again = normalize(tensor([[4, 25, 6]]), { mean, std });
    expect(Array.from(again.x.data)).toEqual([0, 0, 1]);
    expect(() => normalize(x, { mean })).toThrow(/give both mean and std/);
    expect(() => normalize(x, { mean: [0], std: [1] })).toThrow(/need 3 entries/);
  });

  it('axis picks the axis with its own statistics; null pools everything', () => {
    // [n=2, h=1, w=2, c=2]: per channel.
    const x = tensor(new Float32Array([0, 100, 2, 100, 4, 300, 6, 300]), [2, 1, 2, 2]);
    const perChannel = normalize(x);
    expect(Array.from(perChannel.mean.data)).toEqual([3, 200]);
    const pooled = normalize(x, { axis: null });
    expect(pooled.mean.shape).toEqual([1]);
    expect(pooled.mean.data[0]).toBeCloseTo(101.5, 5);
    const rank1 = normalize(tensor([1, 2, 3]));
    expect(Array.from(rank1.mean.data)).toEqual([2]);
    expect(() => normalize(x, { axis: 4 })).toThrow(/axis must be an integer/);
  });
});

describe('checkFinite', () => {
  it('passes finite data through', () => {
    const a = new Float32Array([1, 2]);
    expect(checkFinite(a, 'x')).toBe(a);
  });

  it('names the first NaN or Infinity', () => {
    expect(() => checkFinite([1, 2, NaN, Infinity], 'x')).toThrow('x contains NaN at index 2 (the first non-finite value)');
    expect(() => checkFinite(new Float32Array([0, -Infinity]), 'labels')).toThrow('labels contains -Infinity at index 1');
    expect(() => checkFinite(tensor(new Float32Array([0, 0, 0, 0, 0, NaN]), [2, 3]), 'x')).toThrow('x contains NaN at index 5 [1, 2]');
  });
});
