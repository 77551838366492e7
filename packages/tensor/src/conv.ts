import { wasmCol2im, wasmIm2col, wasmPoolBackward, wasmPoolForward } from './wasm/backend.js';
import type { Window2d } from './window2d.js';

/**
 * Unfolds each of `rows` samples of x (`[inH, inW, C]`) into its patches: cols has one row per
 * output position (`rows · outH · outW` rows, sample-major) of `kh · kw · C` values in
 * `[ky, kx, c]` order, zeros where a window covers padding. In that order a Keras kernel
 * `[kh, kw, C, filters]` is a `[kh·kw·C, filters]` matrix, so the convolution is one gemm.
 */
export function im2col(x: Float32Array, rows: number, g: Window2d, cols: Float32Array): void {
  if (wasmIm2col(x, rows, g, cols)) return;
  const { inH, inW, channels: c, kh, kw, strideH, strideW, padTop, padLeft, outH, outW } = g;
  const sampleIn = inH * inW * c, runLen = kw * c;
  let o = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * sampleIn;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - padLeft;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * strideH - padTop + ky;
          if (iy < 0 || iy >= inH) {
            cols.fill(0, o, o + runLen);
            o += runLen;
            continue;
          }
          const rowBase = base + iy * inW * c;
          if (x0 >= 0 && x0 + kw <= inW) {
            // The window's row lies inside the image: kw·C contiguous values.
            const s = rowBase + x0 * c;
            for (let i = 0; i < runLen; i++) cols[o + i] = x[s + i]!;
            o += runLen;
            continue;
          }
          for (let kx = 0; kx < kw; kx++) {
            const ix = x0 + kx;
            if (ix < 0 || ix >= inW) cols.fill(0, o, o + c);
            else for (let ch = 0, s = rowBase + ix * c; ch < c; ch++) cols[o + ch] = x[s + ch]!;
            o += c;
          }
        }
      }
    }
  }
}

/**
 * The adjoint of `im2col`: dx (`rows` samples of `[inH, inW, C]`, overwritten) is the sum of
 * every patch value of dcols at the input position it was read from. Each sample is summed on
 * its own, in output-position order, so a sample's bits do not depend on its batch.
 */
export function col2im(dcols: Float32Array, rows: number, g: Window2d, dx: Float32Array): void {
  if (wasmCol2im(dcols, rows, g, dx)) return;
  const { inH, inW, channels: c, kh, kw, strideH, strideW, padTop, padLeft, outH, outW } = g;
  const sampleIn = inH * inW * c;
  dx.fill(0, 0, rows * sampleIn);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * sampleIn;
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * strideW - padLeft;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * strideH - padTop + ky;
          if (iy < 0 || iy >= inH) {
            o += kw * c;
            continue;
          }
          const rowBase = base + iy * inW * c;
          for (let kx = 0; kx < kw; kx++) {
            const ix = x0 + kx;
            if (ix >= 0 && ix < inW) for (let ch = 0, d = rowBase + ix * c; ch < c; ch++) dx[d + ch] += dcols[o + ch]!;
            o += c;
          }
        }
      }
    }
  }
}

/** Pooling kinds: the window's maximum, or the mean of the input values it covers. */
export type PoolKind = 'max' | 'average';

/**
 * Pools each channel of `rows` samples of x over the window `g` into y (`[outH, outW, C]` each).
 * Padding never counts, as in TensorFlow: a max ignores it and a mean divides by the values
 * actually covered. For 'max', `argmax` gets, per output value, the index within its sample of
 * the input that won (the first, in row-major window order, on ties), which backward routes to;
 * it may be null when no backward follows (inference).
 */
export function poolForward(kind: PoolKind, x: Float32Array, rows: number, g: Window2d, y: Float32Array, argmax: Float32Array | null): void {
  if (wasmPoolForward(kind === 'max' ? 0 : 1, x, rows, g, y, argmax)) return;
  const { inH, inW, channels: c, kh, kw, strideH, strideW, padTop, padLeft, outH, outW } = g;
  const sampleIn = inH * inW * c, sampleOut = outH * outW * c;
  for (let r = 0; r < rows; r++) {
    const xb = r * sampleIn;
    for (let oy = 0; oy < outH; oy++) {
      const y0 = Math.max(0, oy * strideH - padTop), y1 = Math.min(inH, oy * strideH - padTop + kh);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = Math.max(0, ox * strideW - padLeft), x1 = Math.min(inW, ox * strideW - padLeft + kw);
        const ob = r * sampleOut + (oy * outW + ox) * c;
        for (let ch = 0; ch < c; ch++) {
          if (kind === 'max') {
            let best = -Infinity, at = (y0 * inW + x0) * c + ch;
            for (let iy = y0; iy < y1; iy++) {
              for (let ix = x0; ix < x1; ix++) {
                const i = (iy * inW + ix) * c + ch, v = x[xb + i]!;
                if (v > best) {
                  best = v;
                  at = i;
                }
              }
            }
            y[ob + ch] = best;
            if (argmax) argmax[ob + ch] = at;
          } else {
            let sum = 0;
            for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) sum += x[xb + (iy * inW + ix) * c + ch]!;
            y[ob + ch] = sum / ((y1 - y0) * (x1 - x0));
          }
        }
      }
    }
  }
}

/**
 * The gradient of `poolForward`: dx (overwritten) gets each output gradient at the input that
 * won its max (`argmax`), or spread evenly over the inputs its mean covered. Summed per sample
 * in output order, so the bits do not depend on the batch.
 */
export function poolBackward(kind: PoolKind, dy: Float32Array, rows: number, g: Window2d, argmax: Float32Array | null, dx: Float32Array): void {
  if (kind === 'max' && !argmax) throw new TypeError('poolBackward: max pooling needs the argmax its forward wrote');
  if (wasmPoolBackward(kind === 'max' ? 0 : 1, dy, rows, g, argmax, dx)) return;
  const { inH, inW, channels: c, kh, kw, strideH, strideW, padTop, padLeft, outH, outW } = g;
  const sampleIn = inH * inW * c, sampleOut = outH * outW * c;
  dx.fill(0, 0, rows * sampleIn);
  for (let r = 0; r < rows; r++) {
    const xb = r * sampleIn, yb = r * sampleOut;
    if (kind === 'max') {
      for (let j = 0; j < sampleOut; j++) dx[xb + argmax![yb + j]!] += dy[yb + j]!;
      continue;
    }
    for (let oy = 0; oy < outH; oy++) {
      const y0 = Math.max(0, oy * strideH - padTop), y1 = Math.min(inH, oy * strideH - padTop + kh);
      for (let ox = 0; ox < outW; ox++) {
        const x0 = Math.max(0, ox * strideW - padLeft), x1 = Math.min(inW, ox * strideW - padLeft + kw);
        const ob = yb + (oy * outW + ox) * c, scale = 1 / ((y1 - y0) * (x1 - x0));
        for (let ch = 0; ch < c; ch++) {
          const share = dy[ob + ch]! * scale;
          for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) dx[xb + (iy * inW + ix) * c + ch] += share;
        }
      }
    }
  }
}
