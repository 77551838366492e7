// Issue 18 asked to measure a direct convolution against im2col + the packed gemm. The Keras
// convnet's second convolution (batch 128, 13×13×32 → 11×11×64, 3×3) forward, one thread:
// a direct loop (output-stationary: every input value read once per kernel tap, the 64
// filters the innermost, contiguous loop), im2col + the JS gemm, and im2col + gemm in wasm.
// Run after `npm run build`: node scripts/bench-conv-direct.mjs
import { readFileSync } from 'node:fs';
import { attachWasmBackend, compileWasmKernels, createWasmMemory, gemm, im2col, wasmAllocator, window2d } from '../dist/index.js';

const batch = 128, f = 64, g = window2d(13, 13, 32, 3, 3, 1, 1, 'valid');
const patch = g.kh * g.kw * g.channels, m = batch * g.outH * g.outW;
const compiled = compileWasmKernels();
attachWasmBackend(compiled.module, createWasmMemory(256 << 20), compiled.relaxed);

function direct(x, kernel, y) {
  const { inW, channels: c, kh, kw, outH, outW } = g;
  y.fill(0);
  for (let r = 0; r < batch; r++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const yo = ((r * outH + oy) * outW + ox) * f;
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            const xo = ((r * g.inH + oy + ky) * inW + ox + kx) * c, ko = (ky * kw + kx) * c * f;
            for (let ch = 0; ch < c; ch++) {
              const v = x[xo + ch], kr = ko + ch * f;
              for (let o = 0; o < f; o++) y[yo + o] += v * kernel[kr + o];
            }
          }
        }
      }
    }
  }
}

function fill(a) {
  for (let i = 0; i < a.length; i++) a[i] = Math.sin(i * 0.37);
  return a;
}

function best(run, rounds = 5) {
  run();
  let t = Infinity;
  for (let i = 0; i < rounds; i++) {
    const s = performance.now();
    run();
    t = Math.min(t, performance.now() - s);
  }
  return t;
}

const heap = { x: fill(new Float32Array(batch * 13 * 13 * 32)), k: fill(new Float32Array(patch * f)), cols: new Float32Array(m * patch), y: new Float32Array(m * f) };
const wasm = { x: fill(wasmAllocator.float32(heap.x.length)), k: fill(wasmAllocator.float32(heap.k.length)), cols: wasmAllocator.float32(m * patch), y: wasmAllocator.float32(m * f) };
const flops = 2 * m * f * patch;
const rows = [
  ['direct loop, JS', best(() => direct(heap.x, heap.k, heap.y))],
  ['im2col + gemm, JS', best(() => { im2col(heap.x, batch, g, heap.cols); gemm(m, f, patch, heap.cols, false, heap.k, false, heap.y); })],
  ['im2col + gemm, wasm', best(() => { im2col(wasm.x, batch, g, wasm.cols); gemm(m, f, patch, wasm.cols, false, wasm.k, false, wasm.y); })],
  ['of which im2col, wasm', best(() => im2col(wasm.x, batch, g, wasm.cols))],
];
const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
console.log(`${cpu}, Node ${process.versions.node}; conv2 forward at batch 128, one thread, best of 5`);
console.log('| method | ms | GFLOP/s |\n| --- | ---: | ---: |');
for (const [name, ms] of rows) console.log(`| ${name} | ${ms.toFixed(2)} | ${name.startsWith('of which') ? '–' : (flops / ms / 1e6).toFixed(1)} |`);
