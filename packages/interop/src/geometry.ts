/**
 * The window arithmetic of Conv2D and the 2-D poolings, TensorFlow's rules (which Loom's
 * `window2d` follows): 'valid' keeps the windows that fit; 'same' gives ceil(in / stride)
 * outputs and pads the total needed, the odd row or column at the bottom or right.
 */
export interface Window {
  outH: number;
  outW: number;
  /** ONNX's `pads` order: top, left, bottom, right. */
  pads: [number, number, number, number];
}

/** The output size and explicit pads of a window, or null when a 'valid' window is larger than its input. */
export function windowOf(inH: number, inW: number, kh: number, kw: number, sh: number, sw: number, padding: 'valid' | 'same'): Window | null {
  if (padding === 'valid') {
    if (kh > inH || kw > inW) return null;
    return { outH: Math.floor((inH - kh) / sh) + 1, outW: Math.floor((inW - kw) / sw) + 1, pads: [0, 0, 0, 0] };
  }
  const outH = Math.ceil(inH / sh), outW = Math.ceil(inW / sw);
  const totalH = Math.max(0, (outH - 1) * sh + kh - inH), totalW = Math.max(0, (outW - 1) * sw + kw - inW);
  const top = Math.floor(totalH / 2), left = Math.floor(totalW / 2);
  return { outH, outW, pads: [top, left, totalH - top, totalW - left] };
}
