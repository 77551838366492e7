/** TensorFlow's two padding rules for a sliding window. */
export type Padding = 'valid' | 'same';

/**
 * Where a 2-D window slides over a channels-last sample `[inH, inW, channels]`: its size, its
 * strides, the zero rows and columns added above and to the left, and the output's size.
 */
export interface Window2d {
  inH: number;
  inW: number;
  channels: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
}

/**
 * TensorFlow's rule: `'valid'` keeps only whole windows (out = ⌊(in − k) / s⌋ + 1); `'same'`
 * gives out = ⌈in / s⌉ and pads k + (out − 1)·s − in, half above and to the left and the odd
 * one below and to the right. Throws when a `'valid'` window does not fit.
 */
export function window2d(
  inH: number, inW: number, channels: number, kh: number, kw: number, strideH: number, strideW: number, padding: Padding, what = 'window',
): Window2d {
  if (padding !== 'valid' && padding !== 'same') throw new RangeError(`${what}: padding must be 'valid' or 'same', got ${JSON.stringify(padding)}`);
  let outH: number, outW: number, padTop = 0, padLeft = 0;
  if (padding === 'valid') {
    if (kh > inH || kw > inW) throw new RangeError(`${what}: a ${kh}×${kw} window is larger than its ${inH}×${inW} input under padding 'valid'`);
    outH = Math.floor((inH - kh) / strideH) + 1;
    outW = Math.floor((inW - kw) / strideW) + 1;
  } else {
    outH = Math.ceil(inH / strideH);
    outW = Math.ceil(inW / strideW);
    padTop = Math.floor(Math.max(0, (outH - 1) * strideH + kh - inH) / 2);
    padLeft = Math.floor(Math.max(0, (outW - 1) * strideW + kw - inW) / 2);
  }
  return { inH, inW, channels, kh, kw, strideH, strideW, padTop, padLeft, outH, outW };
}
