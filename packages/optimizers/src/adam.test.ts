import { describe, expect, it } from 'vitest';
import { expectClose, f32, GRADS, P0, runSteps } from '../test/helpers.js';
import { Adam, adamUpdate } from './index.js';

/** Kingma & Ba's algorithm with Keras's epsilon placement (outside the bias-corrected sqrt(v)). */
function byHand(lr: number, b1: number, b2: number, eps: number, amsgrad: boolean) {
  const p = P0.map(f32);
  const m = [0, 0, 0, 0];
  const v = [0, 0, 0, 0];
  const vMax = [0, 0, 0, 0];
  for (let t = 1; t <= 3; t++) {
    for (let i = 0; i < 4; i++) {
      const g = f32(GRADS[t - 1]![i]!);
      m[i] = f32(b1 * m[i]! + (1 - b1) * g);
      v[i] = f32(b2 * v[i]! + (1 - b2) * g * g);
      vMax[i] = Math.max(vMax[i]!, v[i]!);
      const mHat = m[i]! / (1 - b1 ** t);
      const vUsed = amsgrad ? vMax[i]! : v[i]!;
      // Keras: lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
      p[i] = f32(p[i]! - (lr * Math.sqrt(1 - b2 ** t) * mHat) / (Math.sqrt(vUsed) + eps));
    }
  }
  return { p, m, v, vMax };
}

describe('Adam', () => {
  it('by hand for 3 steps', () => {
    const h = byHand(0.01, 0.9, 0.999, 1e-7, false);
    const opt = new Adam({ learningRate: 0.01 });
    expectClose(runSteps(opt), h.p, 1e-6, 'param');
    expect(opt.slotNames).toEqual(['momentum', 'velocity']);
    expectClose(opt.slots[0]![0]!, h.m, 1e-6, 'momentum');
    expectClose(opt.slots[0]![1]!, h.v, 1e-6, 'velocity');
  });

  it('amsgrad, by hand for 3 steps', () => {
    const h = byHand(0.01, 0.8, 0.9, 1e-3, true);
    const opt = new Adam({ learningRate: 0.01, beta1: 0.8, beta2: 0.9, epsilon: 1e-3, amsgrad: true });
    expectClose(runSteps(opt), h.p, 1e-6, 'param');
    expect(opt.slotNames).toEqual(['momentum', 'velocity', 'velocity_hat']);
    expectClose(opt.slots[0]![2]!, h.vMax, 1e-6, 'velocity_hat');
  });

  it('the first step moves every nonzero-gradient weight by about lr', () => {
    // m̂ = g, v̂ = g², so the step is lr * g / |g| (up to epsilon)
    const w = new Float32Array([1, 2, 3, 4]);
    new Adam({ learningRate: 0.5 }).apply([w], [new Float32Array([1, 6, 7, 2])]);
    expectClose(w, [0.5, 1.5, 2.5, 3.5], 1e-5);
  });

  it('rejects step 0 (bias correction would divide by zero)', () => {
    const a = new Float32Array(1);
    const hyper = { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false };
    expect(() => adamUpdate(a, a, new Float32Array(1), new Float32Array(1), 0, 1, 0, hyper)).toThrow(
      'adamUpdate: step t must be an integer >= 1, got 0',
    );
  });
});
