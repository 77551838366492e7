import { describe, expect, it } from 'vitest';
import { expectClose, f32, GRADS, P0, runSteps } from '../test/helpers.js';
import { Adagrad } from './index.js';

describe('Adagrad', () => {
  it('acc += g²; p -= lr*g/sqrt(acc + eps), by hand for 3 steps', () => {
    const lr = 0.05;
    const init = 0.1;
    const eps = 1e-7;
    const p = P0.map(f32);
    const acc = [init, init, init, init].map(f32);
    for (let t = 0; t < 3; t++) {
      for (let i = 0; i < 4; i++) {
        const g = f32(GRADS[t]![i]!);
        acc[i] = f32(acc[i]! + g * g);
        p[i] = f32(p[i]! - (lr * g) / Math.sqrt(acc[i]! + eps));
      }
    }
    const opt = new Adagrad({ learningRate: lr });
    expectClose(runSteps(opt), p, 1e-6, 'param');
    expectClose(opt.slots[0]![0]!, acc, 1e-6, 'accumulator');
  });

  it('starts its accumulator at initialAccumulatorValue', () => {
    const opt = new Adagrad({ initialAccumulatorValue: 0.25 });
    opt.build([3]);
    expect([...opt.slots[0]![0]!]).toEqual([0.25, 0.25, 0.25]);
    // a zero accumulator and a zero gradient give 0 / sqrt(eps) = 0, not NaN
    const zero = new Adagrad({ initialAccumulatorValue: 0 });
    const w = new Float32Array([1]);
    zero.apply([w], [new Float32Array([0])]);
    expect(w[0]).toBe(1);
  });
});
