import { describe, expect, it } from 'vitest';
import { expectClose, f32, GRADS, P0, runSteps } from '../test/helpers.js';
import { Nadam, nadamMomentumProduct } from './index.js';

describe('Nadam', () => {
  it("Keras 3's rule with the 0.96^t momentum schedule, by hand for 3 steps", () => {
    const lr = 0.01;
    const b1 = 0.9;
    const b2 = 0.999;
    const eps = 1e-7;
    const mu = (t: number) => b1 * (1 - 0.5 * 0.96 ** t);
    const p = P0.map(f32);
    const m = [0, 0, 0, 0];
    const v = [0, 0, 0, 0];
    let product = 1; // mu(1) * ... * mu(t)
    for (let t = 1; t <= 3; t++) {
      product *= mu(t);
      const productNext = product * mu(t + 1);
      for (let i = 0; i < 4; i++) {
        const g = f32(GRADS[t - 1]![i]!);
        m[i] = f32(b1 * m[i]! + (1 - b1) * g);
        v[i] = f32(b2 * v[i]! + (1 - b2) * g * g);
        const mHat = (mu(t + 1) * m[i]!) / (1 - productNext) + ((1 - mu(t)) * g) / (1 - product);
        const vHat = v[i]! / (1 - b2 ** t);
        p[i] = f32(p[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps));
      }
    }
    const opt = new Nadam({ learningRate: lr });
    expectClose(runSteps(opt), p, 1e-6, 'param');
    expect(opt.slotNames).toEqual(['momentum', 'velocity']);
    expectClose(opt.slots[0]![0]!, m, 1e-6, 'momentum');
    expectClose(opt.slots[0]![1]!, v, 1e-6, 'velocity');
  });

  it('the momentum product is u_1 * ... * u_t', () => {
    expect(nadamMomentumProduct(0, 0.9)).toBe(1);
    const u1 = 0.9 * (1 - 0.5 * 0.96);
    const u2 = 0.9 * (1 - 0.5 * 0.96 * 0.96);
    expect(nadamMomentumProduct(2, 0.9)).toBeCloseTo(u1 * u2, 15);
  });

  it('gives the same bits when steps are skipped or revisited (the product cache)', () => {
    const a = new Nadam();
    const b = new Nadam();
    a.build([4]);
    b.build([4]);
    const p1 = Float32Array.from(P0);
    const p2 = Float32Array.from(P0);
    const g = Float32Array.from(GRADS[0]!);
    // a: step 7 straight away; b: steps 1, 2, then 7, then 7 again on a second copy
    a.updateRange(p1, g, a.slots[0]!, 0, 4, 7);
    const scratch = Float32Array.from(P0);
    b.updateRange(scratch, g, [new Float32Array(4), new Float32Array(4)], 0, 4, 1);
    b.updateRange(scratch, g, [new Float32Array(4), new Float32Array(4)], 0, 4, 2);
    b.updateRange(p2, g, b.slots[0]!, 0, 4, 7);
    expect([...p2]).toEqual([...p1]);
  });
});
