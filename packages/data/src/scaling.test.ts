import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor } from '@loom/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { applyScaling, fitScaling, normalize, readCsv } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-scaling-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fitScaling and applyScaling', () => {
  const x = tensor([
    [1, 10, 5],
    [3, 20, 5],
    [5, 60, 5],
  ]);

  it('minmax maps each feature of the fitted samples onto [0, 1]', () => {
    const s = fitScaling(x, 'minmax');
    expect(s).toEqual({ method: 'minmax', offset: [1, 10, 5], scale: [4, 50, 1] });
    expect(applyScaling(x, s).toArray()).toEqual([
      [0, 0, 0],
      [0.5, Math.fround(0.2), 0],
      [1, 1, 0],
    ]);
  });

  it('standard gives the same statistics and values as normalize', () => {
    const s = fitScaling(x, 'standard');
    const n = normalize(x);
    expect(s.method).toBe('standard');
    expect(Float32Array.from(s.offset)).toEqual(n.mean.data);
    expect(Float32Array.from(s.scale)).toEqual(n.std.data);
    const out = applyScaling(x, s).data;
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(n.x.data[i]!, 6);
  });

  it('a constant feature gets scale 1 and maps to 0, never NaN', () => {
    for (const method of ['minmax', 'standard'] as const) {
      const s = fitScaling(tensor([[7, 1], [7, 2]]), method);
      expect(s.scale[0]).toBe(1);
      const out = applyScaling(tensor([[7, 1], [8, 2]]), s).data;
      expect(out[0]).toBe(0);
      expect(out[2]).toBe(1); // a value the fit never saw is shifted, not divided by 0
      expect(Array.from(out).every(Number.isFinite)).toBe(true);
    }
  });

  it('applies statistics fitted on one part to another, unchanged', () => {
    const s = fitScaling(tensor([[0, -1], [10, 1]]), 'minmax');
    expect(applyScaling(tensor([[20, 0], [-10, 3]]), s).toArray()).toEqual([
      [2, 0.5],
      [-1, 2],
    ]);
  });

  it('fits a CSV file read from disk and survives a JSON round trip exactly', async () => {
    const path = join(dir, 'iris-like.csv');
    writeFileSync(path, 'a,b,label\n5.1,3.5,0\n4.9,3.0,0\n7.0,3.2,1\n6.3,3.3,2\n');
    const { x: features } = await readCsv(path, { labelColumn: 'label' });
    const s = fitScaling(features, 'standard');
    const back = JSON.parse(JSON.stringify(s)) as typeof s;
    expect(back).toEqual(s);
    expect(applyScaling(features, back).data).toEqual(applyScaling(features, s).data);
    const column = Array.from({ length: 4 }, (_, i) => applyScaling(features, s).data[i * 2]!);
    expect(column.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 5);
  });

  it('names the argument and what was expected', () => {
    expect(() => fitScaling(x, 'zscore' as never)).toThrow("fitScaling: method must be minmax or standard, got 'zscore'");
    expect(() => fitScaling(tensor([1, 2, 3]), 'minmax')).toThrow('fitScaling: x must be a Tensor [samples, features…], got shape [3]');
    expect(() => fitScaling(tensor(new Float32Array(0), [0, 3]), 'minmax')).toThrow('fitScaling: x has no samples to fit on');
    expect(() => fitScaling(tensor([[1, NaN]]), 'standard')).toThrow('fitScaling: x contains NaN at index 1 [0, 1]');
    const s = fitScaling(x, 'minmax');
    expect(() => applyScaling(tensor([[1, 2]]), s)).toThrow('applyScaling: x has 2 features per sample, the scaling was fitted on 3');
    expect(() => applyScaling(x, { ...s, scale: [1, 0, 1] })).toThrow('applyScaling: scale[1] is 0, expected a finite non-zero number');
    expect(() => applyScaling(x, { ...s, offset: [1, 2] })).toThrow(/one offset and one scale per feature/);
  });
});
