import { describe, expect, it } from 'vitest';
import { expectClose, f32, GRADS, P0, runSteps } from '../test/helpers.js';
import { RMSprop } from './index.js';

/** The Keras 3 rule written out with plain numbers, rounding stored values to float32. */
function byHand(lr: number, rho: number, mu: number, eps: number, centered: boolean) {
  const p = P0.map(f32);
  const v = [0, 0, 0, 0];
  const mom = [0, 0, 0, 0];
  const avg = [0, 0, 0, 0];
  for (let t = 0; t < 3; t++) {
    for (let i = 0; i < 4; i++) {
      const g = f32(GRADS[t]![i]!);
      v[i] = f32(rho * v[i]! + (1 - rho) * g * g);
      let denominator = v[i]! + eps;
      if (centered) {
        avg[i] = f32(rho * avg[i]! + (1 - rho) * g);
        denominator = v[i]! - avg[i]! * avg[i]! + eps;
      }
      const increment = (lr * g) / Math.sqrt(denominator);
      if (mu > 0) {
        mom[i] = f32(mu * mom[i]! + increment);
        p[i] = f32(p[i]! - mom[i]!);
      } else {
        p[i] = f32(p[i]! - increment);
      }
    }
  }
  return { p, v, mom, avg };
}

describe('RMSprop', () => {
  it('plain, by hand for 3 steps', () => {
    const h = byHand(0.01, 0.9, 0, 1e-7, false);
    const opt = new RMSprop({ learningRate: 0.01 });
    expectClose(runSteps(opt), h.p, 1e-6, 'param');
    expect(opt.slotNames).toEqual(['velocity']);
    expectClose(opt.slots[0]![0]!, h.v, 1e-6, 'velocity');
  });

  it('with momentum, by hand for 3 steps', () => {
    const h = byHand(0.01, 0.8, 0.7, 1e-6, false);
    const opt = new RMSprop({ learningRate: 0.01, rho: 0.8, momentum: 0.7, epsilon: 1e-6 });
    expectClose(runSteps(opt), h.p, 1e-6, 'param');
    expect(opt.slotNames).toEqual(['velocity', 'momentum']);
    expectClose(opt.slots[0]![1]!, h.mom, 1e-6, 'momentum');
  });

  it('centered, by hand for 3 steps', () => {
    const h = byHand(0.01, 0.9, 0, 1e-7, true);
    const opt = new RMSprop({ learningRate: 0.01, centered: true });
    expectClose(runSteps(opt), h.p, 1e-6, 'param');
    expect(opt.slotNames).toEqual(['velocity', 'average_gradient']);
    expectClose(opt.slots[0]![1]!, h.avg, 1e-6, 'average_gradient');
  });

  it('centered with momentum, by hand for 3 steps', () => {
    const h = byHand(0.02, 0.9, 0.5, 1e-7, true);
    const opt = new RMSprop({ learningRate: 0.02, momentum: 0.5, centered: true });
    expectClose(runSteps(opt), h.p, 1e-6, 'param');
    expect(opt.slotNames).toEqual(['velocity', 'momentum', 'average_gradient']);
    expectClose(opt.slots[0]![0]!, h.v, 1e-6, 'velocity');
    expectClose(opt.slots[0]![1]!, h.mom, 1e-6, 'momentum');
    expectClose(opt.slots[0]![2]!, h.avg, 1e-6, 'average_gradient');
  });

  it("Keras's docstring example: var 10, loss var²/2, learning rate 0.1 -> 9.683772", () => {
    const w = new Float32Array([10]);
    new RMSprop({ learningRate: 0.1 }).apply([w], [new Float32Array([10])]);
    expect(w[0]).toBeCloseTo(9.683772, 5);
  });
});
