import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { shortestFloat32 } from './commands/predict.js';
import { UsageError } from './errors.js';
import { column, fraction, layerSizes, positiveInt, positiveNumber, scalingMethod, seed } from './parsers.js';

describe('option parsers', () => {
  it('accept what the help promises', () => {
    expect(positiveInt('20')).toBe(20);
    expect(seed('0')).toBe(0);
    expect(seed('4294967295')).toBe(4294967295);
    expect(positiveNumber('1e-3')).toBe(0.001);
    expect(fraction('0.1')).toBe(0.1);
    expect(layerSizes('500, 500')).toEqual([500, 500]);
    expect(layerSizes('')).toEqual([]);
    expect(column('label')).toBe('label');
    expect(column('-1')).toBe(-1);
  });

  it('reject the rest with commander’s InvalidArgumentError (exit code 2)', () => {
    for (const [parse, value] of [
      [positiveInt, 'abc'], [positiveInt, '0'], [positiveInt, '2.5'], [positiveInt, '-3'], [positiveInt, ''], [positiveInt, '1e3'],
      [seed, '-1'], [seed, '4294967296'], [positiveNumber, '0'], [positiveNumber, 'NaN'], [positiveNumber, 'Infinity'],
      [fraction, '1'], [fraction, '-0.1'], [layerSizes, '500,x'], [layerSizes, '0'], [column, ' '],
    ] as [(v: string) => unknown, string][]) {
      expect(() => parse(value), `${parse.name}(${JSON.stringify(value)})`).toThrow(InvalidArgumentError);
    }
  });
});

describe('--normalize', () => {
  it('takes minmax or standard, and names the option and both choices otherwise (a UsageError: exit code 2)', () => {
    expect(scalingMethod('minmax')).toBe('minmax');
    expect(scalingMethod(' standard ')).toBe('standard');
    expect(() => scalingMethod('x')).toThrow(new UsageError("--normalize must be minmax or standard, got 'x'"));
    expect(() => scalingMethod('MinMax')).toThrow(UsageError);
  });
});

describe('shortestFloat32', () => {
  it('prints the shortest decimal that reads back as the same float32', () => {
    for (const v of [0.1, 1 / 3, 0.9978049, 3.4015503e-7, 1, 0]) {
      const f = Math.fround(v);
      const s = shortestFloat32(f);
      expect(Math.fround(Number(s))).toBe(f);
      expect(s.replace(/^0\.0*|e.*$|\./g, '').length).toBeLessThanOrEqual(9);
    }
    expect(shortestFloat32(Math.fround(0.1))).toBe('0.1');
  });
});
