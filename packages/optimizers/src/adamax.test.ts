import { describe, expect, it } from 'vitest';
import { expectClose, f32, GRADS, P0, runSteps } from '../test/helpers.js';
import { Adamax } from './index.js';

describe('Adamax', () => {
  it('m = b1*m + (1-b1)*g; u = max(b2*u, |g|); p -= lr/(1-b1^t) * m/(u + eps), by hand for 3 steps', () => {
    const lr = 0.02;
    const b1 = 0.9;
    const b2 = 0.5; // small, so that the max switches between b2*u and |g| within 3 steps
    const eps = 1e-7;
    const p = P0.map(f32);
    const m = [0, 0, 0, 0];
    const u = [0, 0, 0, 0];
    for (let t = 1; t <= 3; t++) {
      for (let i = 0; i < 4; i++) {
        const g = f32(GRADS[t - 1]![i]!);
        m[i] = f32(b1 * m[i]! + (1 - b1) * g);
        u[i] = f32(Math.max(b2 * u[i]!, Math.abs(g)));
        p[i] = f32(p[i]! - ((lr / (1 - b1 ** t)) * m[i]!) / (u[i]! + eps));
      }
    }
    const opt = new Adamax({ learningRate: lr, beta2: b2 });
    expectClose(runSteps(opt), p, 1e-6, 'param');
    expect(opt.slotNames).toEqual(['momentum', 'norm']);
    expectClose(opt.slots[0]![0]!, m, 1e-6, 'momentum');
    expectClose(opt.slots[0]![1]!, u, 1e-6, 'norm');
  });
});
