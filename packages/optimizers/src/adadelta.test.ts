import { describe, expect, it } from 'vitest';
import { expectClose, f32, GRADS, P0, runSteps } from '../test/helpers.js';
import { Adadelta } from './index.js';

describe('Adadelta', () => {
  it('Zeiler\'s rule with a learning rate, by hand for 3 steps', () => {
    const lr = 1.0;
    const rho = 0.95;
    const eps = 1e-6;
    const p = P0.map(f32);
    const eg = [0, 0, 0, 0];
    const ed = [0, 0, 0, 0];
    for (let t = 0; t < 3; t++) {
      for (let i = 0; i < 4; i++) {
        const g = f32(GRADS[t]![i]!);
        eg[i] = f32(rho * eg[i]! + (1 - rho) * g * g);
        // delta = -RMS[delta]_{t-1} / RMS[g]_t * g
        const delta = (-Math.sqrt(ed[i]! + eps) / Math.sqrt(eg[i]! + eps)) * g;
        ed[i] = f32(rho * ed[i]! + (1 - rho) * delta * delta);
        p[i] = f32(p[i]! + lr * delta);
      }
    }
    const opt = new Adadelta({ learningRate: lr, epsilon: eps });
    expectClose(runSteps(opt), p, 1e-6, 'param');
    expect(opt.slotNames).toEqual(['accumulated_grad', 'accumulated_delta_var']);
    expectClose(opt.slots[0]![0]!, eg, 1e-6, 'accumulated_grad');
    expectClose(opt.slots[0]![1]!, ed, 1e-5, 'accumulated_delta_var');
  });
});
