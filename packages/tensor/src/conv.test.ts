import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { col2im, im2col, poolBackward, poolForward, type PoolKind } from './conv.js';
import {
  attachWasmBackend, compileWasmKernels, createWasmMemory, detachWasmBackend, wasmAllocator, wasmCol2im, wasmIm2col, wasmPoolBackward, wasmPoolForward,
} from './wasm/backend.js';
import { Random } from './random.js';
import { window2d, type Padding, type Window2d } from './window2d.js';

const rng = new Random(23);
const fill = (a: Float32Array) => { for (let i = 0; i < a.length; i++) a[i] = rng.uniform() * 2 - 1; return a; };
/** Values from {−1, 0, 1}: plenty of ties for max pooling. */
const fillTies = (a: Float32Array) => { for (let i = 0; i < a.length; i++) a[i] = Math.floor(rng.uniform() * 3) - 1; return a; };
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };
const absDot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! * b[i]!); return s; };
const colsLength = (rows: number, g: Window2d) => rows * g.outH * g.outW * g.kh * g.kw * g.channels;
const inLength = (rows: number, g: Window2d) => rows * g.inH * g.inW * g.channels;
const outLength = (rows: number, g: Window2d) => rows * g.outH * g.outW * g.channels;

type Case = [inH: number, inW: number, c: number, kh: number, kw: number, sh: number, sw: number, padding: Padding];
const win = ([inH, inW, c, kh, kw, sh, sw, padding]: Case) => window2d(inH, inW, c, kh, kw, sh, sw, padding);

/** Convolutions: both paddings, strides 1 and 2, a 3×2 kernel, several channels, 'same' padding unevenly. */
const convCases: Case[] = [
  [7, 6, 3, 3, 2, 1, 1, 'valid'], [7, 6, 3, 3, 2, 1, 1, 'same'], [7, 6, 3, 3, 2, 2, 2, 'same'], [7, 6, 3, 3, 2, 2, 2, 'valid'],
  [8, 5, 2, 3, 3, 2, 1, 'same'], [5, 5, 1, 2, 2, 2, 2, 'same'], [9, 7, 5, 3, 3, 2, 2, 'valid'], [4, 4, 4, 4, 4, 1, 1, 'valid'],
  [6, 6, 4, 3, 2, 1, 2, 'same'], [3, 5, 8, 1, 1, 1, 1, 'same'], [6, 5, 6, 5, 4, 1, 1, 'same'],
];
/** Poolings: both paddings, strides equal to, below and above the pool size, uneven 'same' padding. */
const poolCases: Case[] = [
  [6, 6, 3, 2, 2, 2, 2, 'valid'], [7, 5, 2, 2, 2, 2, 2, 'same'], [7, 7, 3, 3, 3, 2, 2, 'valid'], [7, 6, 5, 3, 3, 2, 2, 'same'],
  [5, 5, 4, 3, 2, 1, 2, 'same'], [5, 5, 1, 2, 2, 3, 3, 'valid'], [8, 8, 8, 3, 3, 1, 1, 'same'], [5, 6, 7, 2, 3, 1, 1, 'valid'],
];

describe('window2d', () => {
  it("follows TensorFlow's rule: 'same' puts the odd padding row and column at the bottom and right", () => {
    expect(window2d(28, 28, 1, 3, 3, 1, 1, 'valid')).toMatchObject({ outH: 26, outW: 26, padTop: 0, padLeft: 0 });
    expect(window2d(11, 11, 64, 2, 2, 2, 2, 'valid')).toMatchObject({ outH: 5, outW: 5 });
    expect(window2d(5, 5, 1, 2, 2, 2, 2, 'same')).toMatchObject({ outH: 3, outW: 3, padTop: 0, padLeft: 0 }); // 1 below
    expect(window2d(7, 7, 1, 3, 3, 2, 2, 'same')).toMatchObject({ outH: 4, outW: 4, padTop: 1, padLeft: 1 }); // 1 above, 1 below
    expect(window2d(8, 6, 1, 3, 3, 2, 2, 'same')).toMatchObject({ outH: 4, outW: 3, padTop: 0, padLeft: 0 }); // 1 below; 1 right
    expect(window2d(8, 8, 1, 4, 4, 1, 1, 'same')).toMatchObject({ outH: 8, padTop: 1 }); // 3 in all: 1 above, 2 below
    expect(() => window2d(2, 5, 1, 3, 3, 1, 1, 'valid')).toThrow(/3×3 window is larger than its 2×5 input/);
  });
});

describe('im2col (the JavaScript reference)', () => {
  it('times the kernel matrix is the direct 7-loop convolution', () => {
    for (const cs of convCases) {
      const g = win(cs), rows = 2, filters = 3, depth = g.kh * g.kw * g.channels;
      const x = fill(new Float32Array(inLength(rows, g))), w = fill(new Float32Array(depth * filters));
      const cols = fill(new Float32Array(colsLength(rows, g))); // stale values: every one is overwritten
      im2col(x, rows, g, cols);
      for (let n = 0; n < rows; n++)
        for (let oy = 0; oy < g.outH; oy++)
          for (let ox = 0; ox < g.outW; ox++)
            for (let f = 0; f < filters; f++) {
              let direct = 0;
              for (let ky = 0; ky < g.kh; ky++)
                for (let kx = 0; kx < g.kw; kx++)
                  for (let c = 0; c < g.channels; c++) {
                    const iy = oy * g.strideH - g.padTop + ky, ix = ox * g.strideW - g.padLeft + kx;
                    if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) continue; // zero padding
                    direct += x[((n * g.inH + iy) * g.inW + ix) * g.channels + c]! * w[((ky * g.kw + kx) * g.channels + c) * filters + f]!;
                  }
              const p = (n * g.outH + oy) * g.outW + ox;
              let viaCols = 0; // a plain matmul: row p of cols times column f of w
              for (let q = 0; q < depth; q++) viaCols += cols[p * depth + q]! * w[q * filters + f]!;
              expect(viaCols).toBeCloseTo(direct, 12);
            }
    }
  });

  it('col2im is its exact adjoint: <col2im(d), x> = <d, im2col(x)>', () => {
    for (const cs of convCases) {
      const g = win(cs), rows = 3;
      const x = fill(new Float32Array(inLength(rows, g))), d = fill(new Float32Array(colsLength(rows, g)));
      const cols = new Float32Array(d.length), dx = fill(new Float32Array(x.length)); // dx stale: overwritten
      im2col(x, rows, g, cols);
      col2im(d, rows, g, dx);
      expect(Math.abs(dot(dx, x) - dot(d, cols))).toBeLessThan(1e-6 * absDot(d, cols) + 1e-12);
    }
  });

  it("col2im gives a sample the same bits whatever the batch beside it", () => {
    const g = win([7, 6, 3, 3, 2, 1, 1, 'same']), rows = 3, per = g.outH * g.outW * g.kh * g.kw * g.channels, sampleIn = g.inH * g.inW * g.channels;
    const d = fill(new Float32Array(rows * per)), all = new Float32Array(rows * sampleIn), one = new Float32Array(sampleIn);
    col2im(d, rows, g, all);
    for (let r = 0; r < rows; r++) {
      col2im(d.subarray(r * per), 1, g, one);
      expect(Array.from(one)).toEqual(Array.from(all.subarray(r * sampleIn, (r + 1) * sampleIn)));
    }
  });
});

/** Pooling by the window's offsets, padding skipped: max (first on ties, row-major) or mean of what is covered. */
function naivePool(kind: PoolKind, x: Float32Array, rows: number, g: Window2d): { y: Float64Array; at: Float64Array } {
  const y = new Float64Array(outLength(rows, g)), at = new Float64Array(y.length);
  for (let n = 0; n < rows; n++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++)
        for (let c = 0; c < g.channels; c++) {
          let best = -Infinity, where = -1, sum = 0, count = 0;
          for (let ky = 0; ky < g.kh; ky++)
            for (let kx = 0; kx < g.kw; kx++) {
              const iy = oy * g.strideH - g.padTop + ky, ix = ox * g.strideW - g.padLeft + kx;
              if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW) continue;
              const i = (iy * g.inW + ix) * g.channels + c, v = x[n * g.inH * g.inW * g.channels + i]!;
              if (where < 0 || v > best) { best = v; where = i; }
              sum += v;
              count++;
            }
          const o = ((n * g.outH + oy) * g.outW + ox) * g.channels + c;
          y[o] = kind === 'max' ? best : sum / count;
          at[o] = where;
        }
  return { y, at };
}

describe('pooling (the JavaScript reference)', () => {
  it('max takes the first maximum in row-major window order and ignores padding', () => {
    for (const cs of poolCases) {
      const g = win(cs), rows = 2;
      const x = fillTies(new Float32Array(inLength(rows, g))).map((v) => v - 2); // all negative: padding (0) would win
      const y = fill(new Float32Array(outLength(rows, g))), argmax = fill(new Float32Array(y.length));
      poolForward('max', x, rows, g, y, argmax);
      const ref = naivePool('max', x, rows, g);
      expect(Array.from(y)).toEqual(Array.from(ref.y));
      expect(Array.from(argmax)).toEqual(Array.from(ref.at));
    }
  });

  it('average divides by the number of inputs the window covers', () => {
    for (const cs of poolCases) {
      const g = win(cs), rows = 2;
      const x = fill(new Float32Array(inLength(rows, g))), y = fill(new Float32Array(outLength(rows, g)));
      poolForward('average', x, rows, g, y, null);
      expect(Array.from(y)).toEqual(Array.from(Float32Array.from(naivePool('average', x, rows, g).y)));
    }
  });

  it('backward is the adjoint of forward: <poolBackward(dy), x> = <dy, poolForward(x)>', () => {
    for (const kind of ['max', 'average'] as const)
      for (const cs of poolCases) {
        const g = win(cs), rows = 2;
        const x = fill(new Float32Array(inLength(rows, g))), y = new Float32Array(outLength(rows, g)), argmax = new Float32Array(y.length);
        const dy = fill(new Float32Array(y.length)), dx = fill(new Float32Array(x.length)); // dx stale: overwritten
        poolForward(kind, x, rows, g, y, argmax);
        poolBackward(kind, dy, rows, g, kind === 'max' ? argmax : null, dx);
        expect(Math.abs(dot(dx, x) - dot(dy, y))).toBeLessThan(1e-6 * absDot(dy, y) + 1e-12);
      }
  });

  it('max pooling may skip the argmax (inference) and gives the same maxima', () => {
    const g = win([7, 6, 5, 3, 3, 2, 2, 'same']);
    const x = fill(new Float32Array(inLength(1, g))), y = new Float32Array(outLength(1, g)), y2 = new Float32Array(y.length);
    poolForward('max', x, 1, g, y, new Float32Array(y.length));
    poolForward('max', x, 1, g, y2, null);
    expect(Array.from(y2)).toEqual(Array.from(y));
  });
});

/** The same bits, any NaN equal to any NaN (their payloads may differ between JS and wasm). */
function expectSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length), e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++)
    if (a[i] !== e[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) expect(`${what}[${i}] = ${actual[i]}`).toBe(`${what}[${i}] = ${expected[i]}`);
}

/** Channel counts around the vector width (1–3 are scalar only, 5–7 a vector and a tail) and the MNIST convnet's layers. */
const wasmCases: Case[] = [
  ...convCases, ...poolCases,
  ...[1, 2, 3, 4, 5, 7, 9, 12].map((c): Case => [6, 7, c, 3, 2, 2, 1, 'same']),
  [28, 28, 1, 3, 3, 1, 1, 'valid'], [13, 13, 32, 3, 3, 1, 1, 'valid'], [26, 26, 32, 2, 2, 2, 2, 'valid'], [11, 11, 64, 2, 2, 2, 2, 'valid'],
  [5, 5, 6, 2, 2, 3, 3, 'same'],
];

for (const relaxed of [false, true]) {
  describe(`the wasm conv and pooling kernels (${relaxed ? 'relaxed SIMD' : 'SIMD128'} build) against the JavaScript references`, () => {
    const compiled = compileWasmKernels({ relaxed });
    beforeAll(() => { attachWasmBackend(compiled!.module, createWasmMemory(1 << 22), compiled!.relaxed); });
    afterAll(() => detachWasmBackend());
    /** A copy of `a` in the wasm memory, and a heap copy (which the JavaScript kernel gets). */
    const inWasm = (a: Float32Array) => { const w = wasmAllocator.float32(a.length); w.set(a); return w; };
    const stale = (n: number) => fill(wasmAllocator.float32(n)); // outputs start with garbage: every value is overwritten

    it('im2col and col2im give the same bits', () => {
      for (const cs of wasmCases) {
        const g = win(cs), rows = 3;
        const x = fill(new Float32Array(inLength(rows, g))), d = fill(new Float32Array(colsLength(rows, g)));
        const cols = new Float32Array(d.length), dx = new Float32Array(x.length);
        im2col(x, rows, g, cols);
        col2im(d, rows, g, dx);
        const wCols = stale(cols.length), wDx = stale(dx.length);
        expect(wasmIm2col(inWasm(x), rows, g, wCols)).toBe(true);
        expect(wasmCol2im(inWasm(d), rows, g, wDx)).toBe(true);
        expectSameBits(wCols, cols, `im2col ${cs.join(' ')}: cols`);
        expectSameBits(wDx, dx, `col2im ${cs.join(' ')}: dx`);
      }
    });

    it('max pooling gives the same maxima, argmax (first on ties, NaN never wins) and gradient', () => {
      for (const cs of wasmCases) {
        const g = win(cs), rows = 3;
        const x = fillTies(new Float32Array(inLength(rows, g))), dy = fill(new Float32Array(outLength(rows, g)));
        for (let i = 0; i < x.length; i += 7) x[i] = [NaN, -0, -Infinity, Infinity][(i / 7) % 4]!;
        const y = new Float32Array(dy.length), argmax = new Float32Array(dy.length), dx = new Float32Array(x.length);
        poolForward('max', x, rows, g, y, argmax);
        poolBackward('max', dy, rows, g, argmax, dx);
        const wY = stale(y.length), wArg = stale(y.length), wY2 = stale(y.length), wDx = stale(dx.length), wX = inWasm(x);
        expect(wasmPoolForward(0, wX, rows, g, wY, wArg)).toBe(true);
        expect(wasmPoolForward(0, wX, rows, g, wY2, null)).toBe(true);
        expect(wasmPoolBackward(0, inWasm(dy), rows, g, wArg, wDx)).toBe(true);
        expectSameBits(wY, y, `max pool ${cs.join(' ')}: y`);
        expectSameBits(wY2, y, `max pool without argmax ${cs.join(' ')}: y`);
        expectSameBits(wArg, argmax, `max pool ${cs.join(' ')}: argmax`);
        expectSameBits(wDx, dx, `max pool backward ${cs.join(' ')}: dx`);
      }
    });

    it('average pooling gives the same bits (it sums and divides in float64 as JavaScript does), forward and backward', () => {
      for (const cs of wasmCases) {
        const g = win(cs), rows = 3;
        const x = fill(new Float32Array(inLength(rows, g))), dy = fill(new Float32Array(outLength(rows, g)));
        const y = new Float32Array(dy.length), dx = new Float32Array(x.length);
        poolForward('average', x, rows, g, y, null);
        poolBackward('average', dy, rows, g, null, dx);
        const wY = stale(y.length), wDx = stale(dx.length);
        expect(wasmPoolForward(1, inWasm(x), rows, g, wY, stale(4))).toBe(true); // an argmax is ignored for average
        expect(wasmPoolBackward(1, inWasm(dy), rows, g, null, wDx)).toBe(true);
        // The brief's bar is 1e-6 relative; the kernel does better, so the test holds it to the bits.
        let worst = 0;
        for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(wY[i]! - y[i]!) - 1e-6 * Math.abs(y[i]!));
        expect(worst).toBeLessThanOrEqual(0);
        expectSameBits(wY, y, `average pool ${cs.join(' ')}: y`);
        expectSameBits(wDx, dx, `average pool backward ${cs.join(' ')}: dx`);
      }
    });

    it('run through conv.ts when the operands are in wasm memory, and give a sample the bits of its batch', () => {
      const g = win([13, 13, 32, 3, 3, 1, 1, 'valid']), rows = 3, per = g.outH * g.outW * g.kh * g.kw * g.channels, sampleIn = g.inH * g.inW * g.channels;
      const d = inWasm(fill(new Float32Array(rows * per))), all = stale(rows * sampleIn), one = stale(sampleIn);
      col2im(d, rows, g, all);
      const js = new Float32Array(all.length);
      col2im(d.slice(), rows, g, js);
      expectSameBits(all, js, 'col2im via conv.ts');
      for (let r = 0; r < rows; r++) {
        col2im(d.subarray(r * per, (r + 1) * per), 1, g, one);
        expectSameBits(one, all.subarray(r * sampleIn, (r + 1) * sampleIn), `col2im sample ${r}`);
      }
    });

    it('decline heap operands, refuse short ones, and step aside when detached', () => {
      const g = win([6, 6, 4, 3, 3, 1, 1, 'same']);
      const x = stale(inLength(1, g)), cols = stale(colsLength(1, g)), y = stale(outLength(1, g));
      expect(wasmIm2col(x.slice(), 1, g, cols)).toBe(false);
      expect(wasmCol2im(cols, 1, g, x.slice())).toBe(false);
      expect(wasmPoolForward(0, x, 1, g, y, new Float32Array(y.length))).toBe(false);
      expect(wasmPoolBackward(0, y, 1, g, null, x)).toBe(false);
      expect(() => wasmIm2col(x, 2, g, cols)).toThrow(/im2col: x has 144 elements, the window needs 288/);
      expect(() => wasmPoolForward(1, x, 1, g, y.subarray(1), null)).toThrow(/poolForward: y has 143 elements/);
      detachWasmBackend();
      expect(wasmIm2col(x, 1, g, cols)).toBe(false);
      attachWasmBackend(compiled!.module, createWasmMemory(1 << 22), compiled!.relaxed);
    });
  });
}
