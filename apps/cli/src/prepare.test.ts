import { describe, expect, it } from 'vitest';
import { fitScaling, tensor } from '@loom/loom';
import { classesOnlyInValidation, fitTrainingScaling, scaleFeatures, shuffleRows, trainingRows } from './prepare.js';

const set = (n: number) => ({
  x: tensor(Float32Array.from({ length: n * 2 }, (_, i) => i), [n, 2]),
  y: Float32Array.from({ length: n }, (_, i) => (i < n / 2 ? 0 : 1)),
  source: 'rows.csv',
});

describe('the samples loom train hands to fit', () => {
  it('cuts where fit({ validationSplit }) does, and finds classes only the validation part holds', () => {
    expect(trainingRows(set(10), 0)).toBe(10);
    expect(trainingRows(set(10), 0.25)).toBe(7); // floor(10 × 0.75), Keras's cut
    expect(classesOnlyInValidation([0, 0, 1, 1, 2, 3, 2], 4)).toEqual([2, 3]);
    expect(classesOnlyInValidation([0, 1, 2, 0, 1], 3)).toEqual([]);
  });

  it('shuffles rows and labels together, the same way for the same seed', () => {
    const a = shuffleRows(set(20), 7);
    expect(shuffleRows(set(20), 7)).toEqual(a);
    expect(Array.from(a.x.data)).not.toEqual(Array.from(set(20).x.data));
    for (let i = 0; i < 20; i++) {
      const row = a.x.data[i * 2]! / 2; // each row keeps its own two features and its label
      expect(a.x.data[i * 2 + 1]).toBe(row * 2 + 1);
      expect(a.y[i]).toBe(row < 10 ? 0 : 1);
    }
    expect(Array.from(a.x.data).sort((p, q) => p - q)).toEqual(Array.from(set(20).x.data));
  });

  it('fits --normalize on the leading rows only, and names the file when it cannot', () => {
    const s = set(10);
    expect(fitTrainingScaling(s, 7, 'minmax')).toEqual(fitScaling(tensor(s.x.data.slice(0, 14), [7, 2]), 'minmax'));
    const bad = { ...s, x: tensor([[1, NaN]]) };
    expect(() => fitTrainingScaling(bad, 1, 'standard')).toThrow('--normalize standard: rows.csv: x contains NaN at index 1 [0, 1]');
  });

  it('scales with a kept scaling, leaves data alone without one, and names both feature counts on a mismatch', () => {
    const s = set(4);
    const scaling = fitScaling(s.x, 'minmax');
    expect(scaleFeatures(s.x, null, 'a.csv', 'm.loom')).toBe(s.x);
    expect(Array.from(scaleFeatures(s.x, scaling, 'a.csv', 'm.loom').data.subarray(0, 2))).toEqual([0, 0]);
    expect(() => scaleFeatures(tensor([[1, 2, 3]]), scaling, 'b.csv', 'm.loom'))
      .toThrow('b.csv: 3 features per sample, but m.loom was trained on 2 (scaled with --normalize minmax)');
  });
});
