import { describe, expect, it } from 'vitest';
import { expectClose, f32, GRADS, P0, runSteps } from '../test/helpers.js';
import { SGD, sgdUpdate } from './index.js';

describe('SGD', () => {
  it('plain: p -= lr * g, by hand for 3 steps', () => {
    const lr = 0.1;
    const p = P0.map(f32);
    for (let t = 0; t < 3; t++) {
      for (let i = 0; i < 4; i++) p[i] = f32(p[i]! - lr * f32(GRADS[t]![i]!));
    }
    const opt = new SGD({ learningRate: lr });
    expectClose(runSteps(opt), p, 1e-6, 'param');
    expect(opt.slotNames).toEqual([]);
    expect(opt.iterations).toBe(3);
  });

  it('momentum: v = mu*v - lr*g; p += v, by hand for 3 steps', () => {
    const lr = 0.1;
    const mu = 0.9;
    const p = P0.map(f32);
    const v = [0, 0, 0, 0];
    for (let t = 0; t < 3; t++) {
      for (let i = 0; i < 4; i++) {
        const g = f32(GRADS[t]![i]!);
        v[i] = f32(mu * v[i]! - lr * g);
        p[i] = f32(p[i]! + v[i]!);
      }
    }
    const opt = new SGD({ learningRate: lr, momentum: mu });
    expectClose(runSteps(opt), p, 1e-6, 'param');
    expectClose(opt.slots[0]![0]!, v, 1e-6, 'momentum');
  });

  it('nesterov: v = mu*v - lr*g; p += mu*v - lr*g, by hand for 3 steps', () => {
    const lr = 0.1;
    const mu = 0.5;
    const p = P0.map(f32);
    const v = [0, 0, 0, 0];
    for (let t = 0; t < 3; t++) {
      for (let i = 0; i < 4; i++) {
        const g = f32(GRADS[t]![i]!);
        v[i] = f32(mu * v[i]! - lr * g);
        p[i] = f32(p[i]! + mu * v[i]! - lr * g);
      }
    }
    const opt = new SGD({ learningRate: lr, momentum: mu, nesterov: true });
    expectClose(runSteps(opt), p, 1e-6, 'param');
    expectClose(opt.slots[0]![0]!, v, 1e-6, 'momentum');
  });

  it('first step with momentum: p = 1 - 0.1*2 = 0.8, v = -0.2; second: v = 0.9*-0.2 - 0.2 = -0.38', () => {
    const p = new Float32Array([1]);
    const v = new Float32Array(1);
    const hyper = { learningRate: 0.1, momentum: 0.9, nesterov: false };
    sgdUpdate(p, new Float32Array([2]), 0, 1, hyper, v);
    expect(p[0]).toBe(f32(0.8));
    expect(v[0]).toBe(f32(-0.2));
    sgdUpdate(p, new Float32Array([2]), 0, 1, hyper, v);
    expect(v[0]).toBeCloseTo(-0.38, 6);
    expect(p[0]).toBeCloseTo(0.42, 6);
  });

  it('needs the momentum slot when momentum > 0', () => {
    const p = new Float32Array(2);
    expect(() => sgdUpdate(p, p, 0, 2, { learningRate: 0.1, momentum: 0.9, nesterov: false })).toThrow(
      /sgdUpdate: slot momentum must be a Float32Array of length >= 2, got none/,
    );
  });
});
