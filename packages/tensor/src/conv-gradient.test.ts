/**
 * Gradient checks in float64 against central finite differences for the convolution and the
 * poolings, through the JavaScript reference kernels. They are plain loops, so they run on
 * Float64Array data as well (the casts below), which makes the differences exact enough to
 * check to 1e-7 rather than float32's few digits. The layers' float32 checks are in @loom/layers.
 */
import { describe, expect, it } from 'vitest';
import { col2im, im2col, poolBackward, poolForward, type PoolKind } from './conv.js';
import { Random } from './random.js';
import { window2d, type Padding, type Window2d } from './window2d.js';

const f32 = (a: Float64Array) => a as unknown as Float32Array;

function random(n: number, rng: Random): Float64Array {
  return new Float64Array(n).map(() => rng.uniform() * 2 - 1);
}

/** y = im2col(x)·K, [rows·outH·outW, f], in float64. */
function conv(x: Float64Array, kernel: Float64Array, rows: number, g: Window2d, f: number): Float64Array {
  const patch = g.kh * g.kw * g.channels, m = rows * g.outH * g.outW;
  const cols = new Float64Array(m * patch);
  im2col(f32(x), rows, g, f32(cols));
  const y = new Float64Array(m * f);
  for (let i = 0; i < m; i++) for (let p = 0; p < patch; p++) for (let o = 0; o < f; o++) y[i * f + o] += cols[i * patch + p]! * kernel[p * f + o]!;
  return y;
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

/** Central differences of L(v) = Σ w·f(v) at every element of v, compared with `analytic`. */
function expectGradient(v: Float64Array, analytic: Float64Array, loss: () => number, what: string): void {
  const h = 1e-6;
  for (let i = 0; i < v.length; i++) {
    const orig = v[i]!;
    v[i] = orig + h;
    const up = loss();
    v[i] = orig - h;
    const down = loss();
    v[i] = orig;
    const numeric = (up - down) / (2 * h);
    if (Math.abs(numeric - analytic[i]!) > 1e-7 * (1 + Math.abs(numeric))) throw new Error(`${what}[${i}]: analytic ${analytic[i]}, numeric ${numeric}`);
  }
}

const convCases: { shape: [number, number, number]; k: [number, number]; s: [number, number]; padding: Padding; f: number }[] = [
  { shape: [5, 6, 3], k: [3, 3], s: [1, 1], padding: 'valid', f: 2 },
  { shape: [5, 6, 3], k: [3, 3], s: [1, 1], padding: 'same', f: 2 },
  { shape: [7, 6, 2], k: [3, 2], s: [2, 2], padding: 'same', f: 3 },
  { shape: [6, 7, 2], k: [2, 3], s: [2, 1], padding: 'valid', f: 2 },
];

describe('float64 gradient checks', () => {
  it('convolution: dK = im2col(x)ᵀ·dy and dx = col2im(dy·Kᵀ) (both paddings, strides 1 and 2, non-square kernels, several channels)', () => {
    const rng = new Random(21);
    for (const { shape: [h, w, c], k: [kh, kw], s: [sh, sw], padding, f } of convCases) {
      const rows = 2, g = window2d(h, w, c, kh, kw, sh, sw, padding);
      const patch = kh * kw * c, m = rows * g.outH * g.outW;
      const x = random(rows * h * w * c, rng), kernel = random(patch * f, rng), weights = random(m * f, rng);
      const loss = () => dot(weights, conv(x, kernel, rows, g, f));
      // dy = weights: the gradient of Σ w·y.
      const cols = new Float64Array(m * patch);
      im2col(f32(x), rows, g, f32(cols));
      const dK = new Float64Array(patch * f);
      for (let i = 0; i < m; i++) for (let p = 0; p < patch; p++) for (let o = 0; o < f; o++) dK[p * f + o] += cols[i * patch + p]! * weights[i * f + o]!;
      const dcols = new Float64Array(m * patch);
      for (let i = 0; i < m; i++) for (let p = 0; p < patch; p++) for (let o = 0; o < f; o++) dcols[i * patch + p] += weights[i * f + o]! * kernel[p * f + o]!;
      const dx = new Float64Array(x.length);
      col2im(f32(dcols), rows, g, f32(dx));
      const where = `${padding} ${kh}×${kw} stride ${sh}×${sw}`;
      expectGradient(kernel, dK, loss, `${where} kernel`);
      expectGradient(x, dx, loss, `${where} input`);
    }
  });

  it('max and average pooling (padding never counts), both paddings, strides other than the pool', () => {
    const rng = new Random(23);
    const cases: { shape: [number, number, number]; p: [number, number]; s: [number, number]; padding: Padding }[] = [
      { shape: [6, 6, 3], p: [2, 2], s: [2, 2], padding: 'valid' },
      { shape: [5, 7, 2], p: [2, 2], s: [2, 2], padding: 'same' },
      { shape: [5, 5, 5], p: [3, 3], s: [1, 1], padding: 'same' },
      { shape: [7, 6, 1], p: [3, 2], s: [2, 1], padding: 'valid' },
    ];
    for (const { shape: [h, w, c], p: [ph, pw], s: [sh, sw], padding } of cases) {
      const rows = 2, g = window2d(h, w, c, ph, pw, sh, sw, padding);
      const n = rows * g.outH * g.outW * c;
      for (const kind of ['max', 'average'] as PoolKind[]) {
        // Distinct values a step apart, shuffled: no max is within the finite difference of a tie.
        const x = new Float64Array(rows * h * w * c).map((_, i) => i * 0.01);
        for (let i = x.length - 1; i > 0; i--) {
          const j = Math.floor(rng.uniform() * (i + 1));
          [x[i], x[j]] = [x[j]!, x[i]!];
        }
        const weights = random(n, rng);
        const y = new Float64Array(n), argmax = kind === 'max' ? new Float64Array(n) : null;
        const loss = () => {
          poolForward(kind, f32(x), rows, g, f32(y), argmax ? f32(argmax) : null);
          return dot(weights, y);
        };
        loss();
        const dx = new Float64Array(x.length);
        poolBackward(kind, f32(weights), rows, g, argmax ? f32(argmax) : null, f32(dx));
        expectGradient(x, dx, loss, `${kind} ${padding} ${ph}×${pw} stride ${sh}×${sw}`);
      }
    }
  });
});
