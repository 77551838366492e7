/** What every optimizer shares: sharding, state round trips, config round trips, argument checks. */
import { describe, expect, it } from 'vitest';
import { expectSameBits } from '../test/helpers.js';
import { Adagrad, Adam, type Optimizer, optimizerFromConfig, SGD } from './index.js';

/** Every optimizer, and the variants that add slots, with a learning rate that converges on the quadratic below. */
const CASES: [string, string, Record<string, number | boolean>, number][] = [
  // label, name, config, steps for the quadratic
  ['sgd', 'sgd', { learningRate: 0.1 }, 200],
  ['sgd momentum', 'sgd', { learningRate: 0.05, momentum: 0.9 }, 200],
  ['sgd nesterov', 'sgd', { learningRate: 0.05, momentum: 0.9, nesterov: true }, 200],
  ['rmsprop', 'rmsprop', { learningRate: 0.01 }, 400],
  ['rmsprop momentum centered', 'rmsprop', { learningRate: 0.01, momentum: 0.5, centered: true }, 400],
  ['adagrad', 'adagrad', { learningRate: 0.5 }, 400],
  ['adadelta', 'adadelta', { learningRate: 1, epsilon: 1e-6 }, 1000],
  ['adam', 'adam', { learningRate: 0.05 }, 400],
  ['adam amsgrad', 'adam', { learningRate: 0.05, amsgrad: true }, 400],
  ['adamax', 'adamax', { learningRate: 0.05 }, 400],
  ['nadam', 'nadam', { learningRate: 0.05 }, 400],
];

/** Deterministic values in [-1, 1) (a small LCG), so runs are reproducible without a seed package. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const SIZES = [37, 5];

/** Gradients of step `step` for params of SIZES. */
const gradsAt = (step: number) => SIZES.map((n, i) => values(n, 1000 * step + i));

describe.each(CASES)('%s', (_, name, config, steps) => {
  const make = () => optimizerFromConfig(name, config);

  it('updateRange over [0, k) and [k, n) gives the same bits as over [0, n)', () => {
    const whole = make();
    const split = make();
    const p1 = SIZES.map((n, i) => values(n, 7 + i));
    const p2 = p1.map((p) => p.slice());
    whole.build(SIZES);
    split.build(SIZES);
    for (let t = 1; t <= 4; t++) {
      const grads = gradsAt(t);
      SIZES.forEach((n, i) => {
        whole.updateRange(p1[i]!, grads[i]!, whole.slots[i]!, 0, n, t);
        // three chunks, last one first: order between disjoint chunks must not matter
        const a = Math.floor(n / 3);
        const b = Math.floor((2 * n) / 3);
        split.updateRange(p2[i]!, grads[i]!, split.slots[i]!, b, n, t);
        split.updateRange(p2[i]!, grads[i]!, split.slots[i]!, 0, a, t);
        split.updateRange(p2[i]!, grads[i]!, split.slots[i]!, a, b, t);
      });
    }
    SIZES.forEach((_, i) => {
      expectSameBits(p2[i]!, p1[i]!, `param ${i}`);
      whole.slotNames.forEach((slot, s) => expectSameBits(split.slots[i]![s]!, whole.slots[i]![s]!, `${slot} ${i}`));
    });
  });

  it('getState / setState resumes bit-identically, into a fresh optimizer', () => {
    const straight = make();
    const params = SIZES.map((n, i) => values(n, 3 + i));
    for (let t = 1; t <= 3; t++) straight.apply(params, gradsAt(t));
    const state = straight.getState();
    const saved = params.map((p) => p.slice());
    expect(state.iterations).toBe(3);
    expect(state.slots.map((s) => s.name)).toEqual(straight.slotNames);

    const resumed = optimizerFromConfig(straight.name, straight.getConfig());
    resumed.setState(state);
    for (let t = 4; t <= 6; t++) {
      straight.apply(params, gradsAt(t));
      resumed.apply(saved, gradsAt(t));
    }
    expect(resumed.iterations).toBe(6);
    SIZES.forEach((_, i) => {
      expectSameBits(saved[i]!, params[i]!, `param ${i}`);
      straight.slotNames.forEach((slot, s) => expectSameBits(resumed.slots[i]![s]!, straight.slots[i]![s]!, `${slot} ${i}`));
    });
  });

  it('getState returns copies', () => {
    const opt = make();
    const params = SIZES.map((n) => new Float32Array(n));
    opt.apply(params, gradsAt(1));
    const state = opt.getState();
    for (const slot of state.slots) {
      slot.values.forEach((v, i) => expect(v).not.toBe(opt.slots[i]![opt.slotNames.indexOf(slot.name)]));
    }
  });

  it('config round trip: optimizerFromConfig(name, getConfig())', () => {
    const opt = make();
    const copy = optimizerFromConfig(opt.name, opt.getConfig());
    expect(copy.getConfig()).toEqual(opt.getConfig());
    expect(copy.constructor).toBe(opt.constructor);
    expect(copy.slotNames).toEqual(opt.slotNames);
    expect(opt.getConfig()).toMatchObject(config);
  });

  it('minimizes a quadratic', () => {
    // f(w) = ½ Σ a_i (w_i - c_i)², gradient a_i (w_i - c_i), minimum 0 at w = c
    const a = [1, 3, 0.5, 2];
    const c = [1, -2, 0.5, 3];
    const loss = (w: Float32Array) => w.reduce((sum, wi, i) => sum + 0.5 * a[i]! * (wi - c[i]!) ** 2, 0);
    const w = new Float32Array(4);
    const g = new Float32Array(4);
    const opt = make();
    const start = loss(w);
    for (let s = 0; s < steps; s++) {
      for (let i = 0; i < 4; i++) g[i] = a[i]! * (w[i]! - c[i]!);
      opt.apply([w], [g]);
    }
    expect(loss(w)).toBeLessThan(1e-3 * start);
  });
});

describe('Optimizer base', () => {
  it('apply checks counts and lengths before changing anything', () => {
    const opt = new Adam();
    const w0 = new Float32Array([1, 2]);
    const w1 = new Float32Array([3, 4, 5]);
    expect(() => opt.apply([w0, w1], [new Float32Array(2)])).toThrow('Adam.apply: got 2 params but 1 grads');
    expect(() => opt.apply([w0, w1], [new Float32Array([1, 1]), new Float32Array(2)])).toThrow(
      'Adam.apply: param 1 has length 3 but grad 1 has length 2',
    );
    expect([...w0]).toEqual([1, 2]);
    expect(opt.iterations).toBe(0);
    expect(opt.built).toBe(false);

    opt.apply([w0, w1], [new Float32Array(2), new Float32Array(3)]);
    expect(opt.iterations).toBe(1);
    expect(() => opt.apply([w0], [new Float32Array(2)])).toThrow('Adam.apply: built for 2 params, got 1');
    expect(() => opt.apply([w0, new Float32Array(4)], [new Float32Array(2), new Float32Array(4)])).toThrow(
      'Adam.apply: param 1 has length 4 but the optimizer was built for length 3',
    );
    expect(() => opt.apply([w0, w1], [new Float32Array(2), [0, 0, 0] as unknown as Float32Array])).toThrow(
      'Adam.apply: grad 1 must be a Float32Array, got [0,0,0]',
    );
  });

  it('updateRange rejects a range outside the arrays', () => {
    const opt = new Adam();
    opt.build([4]);
    const p = new Float32Array(4);
    expect(() => opt.updateRange(p, p, opt.slots[0]!, 2, 5, 1)).toThrow(
      'adamUpdate: range [2, 5) must be integers with 0 <= from <= to <= length (param 4, grad 4)',
    );
    expect(() => opt.updateRange(p, p, opt.slots[0]!, 3, 2, 1)).toThrow(/range \[3, 2\)/);
  });

  it('build puts slots where alloc says, and building again keeps the values', () => {
    const opt = new Adagrad();
    const shared = (n: number) => new Float32Array(new SharedArrayBuffer(4 * n));
    opt.build([3, 2]);
    const w = [new Float32Array([1, 2, 3]), new Float32Array([4, 5])];
    opt.apply(w, [new Float32Array([1, 1, 1]), new Float32Array([2, 2])]);
    const before = opt.getState();
    opt.build([3, 2], shared);
    expect(opt.slots[0]![0]!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(opt.getState()).toEqual(before);
    expect(() => opt.build([3, 3])).toThrow('Adagrad.build: param 1 was built with length 2, got 3');
    expect(() => opt.build([3])).toThrow('Adagrad.build: already built for 2 params, got 1 sizes');
    expect(() => new Adam().build([-1])).toThrow('Adam.build: sizes[0] must be a non-negative integer, got -1');
    expect(() => new Adam().build([2], () => new Float32Array(1))).toThrow(/alloc\(2\) must return a Float32Array of length 2/);
  });

  it('setSlots uses the given arrays (views), and setState copies into them', () => {
    const buffer = new SharedArrayBuffer(4 * 2 * 3);
    const m = new Float32Array(buffer, 0, 3);
    const v = new Float32Array(buffer, 12, 3);
    const opt = new Adam();
    opt.setSlots([[m, v]]);
    const w = new Float32Array([1, 2, 3]);
    opt.apply([w], [new Float32Array([1, -1, 0.5])]);
    expect(m[0]).toBeCloseTo(0.1, 7);
    expect(opt.slots[0]![0]).toBe(m);

    const other = new Adam();
    other.apply([new Float32Array(3)], [new Float32Array([3, 3, 3])]);
    opt.setState(other.getState());
    expect(opt.slots[0]![0]).toBe(m);
    expect(m[0]).toBeCloseTo(0.3, 6);
    expect(opt.iterations).toBe(1);

    expect(() => opt.setSlots([[m]])).toThrow('Adam.setSlots: param 0 needs 2 slot arrays (momentum, velocity), got 1');
    expect(() => opt.setSlots([[m, new Float32Array(2)]])).toThrow('Adam.setSlots: param 0 slot velocity has length 2, expected 3');
    expect(() => opt.setSlots([[m, v], [m, v]])).toThrow('Adam.setSlots: built for 1 params, got slots for 2');
  });

  it('setState is strict about slot names, counts and lengths, and changes nothing on error', () => {
    const opt = new Adam();
    opt.apply([new Float32Array(2)], [new Float32Array([1, 2])]);
    const good = opt.getState();
    const slot = (name: string, values: Float32Array[]) => ({ name, values });
    expect(() => opt.setState({ iterations: 5, slots: [slot('momentum', [new Float32Array(2)])] })).toThrow(
      'Adam.setState: missing slot(s) velocity',
    );
    expect(() => opt.setState({ ...good, slots: [...good.slots, slot('accumulator', [])] })).toThrow(
      'Adam.setState: unexpected slot "accumulator"; Adam has slots: momentum, velocity',
    );
    expect(() => opt.setState({ ...good, iterations: -1 })).toThrow('Adam.setState: iterations must be a non-negative integer, got -1');
    expect(() =>
      opt.setState({ iterations: 9, slots: [slot('momentum', [new Float32Array(2)]), slot('velocity', [new Float32Array(3)])] }),
    ).toThrow('Adam.setState: slot velocity param 0 has length 3, expected 2');
    expect(opt.getState()).toEqual(good);
    // a state with slots cannot go to an SGD without momentum (Keras gives it none)
    expect(() => new SGD().setState({ iterations: 1, slots: [slot('momentum', [])] })).toThrow(/unexpected slot "momentum"/);
  });

  it('an optimizer without slots still counts steps and round-trips its state', () => {
    const opt: Optimizer = new SGD();
    opt.apply([new Float32Array(2)], [new Float32Array(2)]);
    expect(opt.getState()).toEqual({ iterations: 1, slots: [] });
    const copy = new SGD();
    copy.setState(opt.getState());
    expect(copy.iterations).toBe(1);
  });
});
