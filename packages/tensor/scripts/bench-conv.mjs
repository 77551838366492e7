// The conv and pooling kernels, wasm against the JavaScript references, at the Keras MNIST
// convnet's sizes (batch 128), one thread. Run after `npm run build`: node scripts/bench-conv.mjs [filter]
// (the filter keeps the kernels whose name contains it)
import { readFileSync } from 'node:fs';
import {
  attachWasmBackend, col2im, compileWasmKernels, createWasmMemory, im2col, poolBackward, poolForward, wasmAllocator, window2d,
} from '../dist/index.js';

const batch = 128;
const compiled = compileWasmKernels();
attachWasmBackend(compiled.module, createWasmMemory(256 << 20), compiled.relaxed);

/** Operands for one kernel, in wasm memory or on the heap, filled with the same values. */
function operands(sizes, wasm) {
  return sizes.map((n) => {
    const a = wasm ? wasmAllocator.float32(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.37);
    return a;
  });
}

/** ms per call: the best of 5 rounds of enough calls to take ~60 ms. */
function time(run) {
  run();
  let calls = 1;
  for (let t = 0; t < 15 && calls < 1 << 20; calls *= 2) { const s = performance.now(); for (let i = 0; i < calls; i++) run(); t = performance.now() - s; if (t > 15) break; }
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const s = performance.now();
    for (let i = 0; i < calls * 4; i++) run();
    best = Math.min(best, (performance.now() - s) / (calls * 4));
  }
  return best;
}

const conv1 = window2d(28, 28, 1, 3, 3, 1, 1, 'valid'), conv2 = window2d(13, 13, 32, 3, 3, 1, 1, 'valid');
const pool1 = window2d(26, 26, 32, 2, 2, 2, 2, 'valid'), pool2 = window2d(11, 11, 64, 2, 2, 2, 2, 'valid');
const inN = (g) => batch * g.inH * g.inW * g.channels, outN = (g) => batch * g.outH * g.outW * g.channels;
const colsN = (g) => outN(g) * g.kh * g.kw;
const kernels = [
  ['im2col conv1 28×28×1 k3 → 26×26 (cols 9)', [inN(conv1), colsN(conv1)], ([x, c]) => im2col(x, batch, conv1, c)],
  ['im2col conv2 13×13×32 k3 → 11×11 (cols 288)', [inN(conv2), colsN(conv2)], ([x, c]) => im2col(x, batch, conv2, c)],
  ['col2im conv2 (its input gradient)', [colsN(conv2), inN(conv2)], ([d, dx]) => col2im(d, batch, conv2, dx)],
  ['max pool 26×26×32 → 13×13, forward', [inN(pool1), outN(pool1), outN(pool1)], ([x, y, a]) => poolForward('max', x, batch, pool1, y, a)],
  ['max pool 26×26×32 → 13×13, backward', [outN(pool1), outN(pool1), inN(pool1)], ([dy, a, dx]) => poolBackward('max', dy, batch, pool1, a, dx)],
  ['max pool 11×11×64 → 5×5, forward', [inN(pool2), outN(pool2), outN(pool2)], ([x, y, a]) => poolForward('max', x, batch, pool2, y, a)],
  ['max pool 11×11×64 → 5×5, backward', [outN(pool2), outN(pool2), inN(pool2)], ([dy, a, dx]) => poolBackward('max', dy, batch, pool2, a, dx)],
  ['average pool 26×26×32 → 13×13, forward', [inN(pool1), outN(pool1)], ([x, y]) => poolForward('average', x, batch, pool1, y, null)],
  ['average pool 26×26×32 → 13×13, backward', [outN(pool1), inN(pool1)], ([dy, dx]) => poolBackward('average', dy, batch, pool1, null, dx)],
];

const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
console.log(`${cpu}, Node ${process.versions.node}, batch ${batch}, one thread; ms per call`);
console.log('| kernel | JS | wasm | JS / wasm |\n| --- | ---: | ---: | ---: |');
const filter = process.argv[2] ?? '';
for (const [name, sizes, run] of kernels.filter(([name]) => name.includes(filter))) {
  const js = operands(sizes, false), wasm = operands(sizes, true);
  if (name.includes('backward') && name.startsWith('max')) { // argmax from a forward, so the indices are real
    const g = name.includes('26×26') ? pool1 : pool2;
    for (const [ops, w] of [[js, false], [wasm, true]]) poolForward('max', operands([inN(g)], w)[0], batch, g, operands([outN(g)], w)[0], ops[1]);
  }
  const tj = time(() => run(js)), tw = time(() => run(wasm));
  console.log(`| ${name} | ${tj.toFixed(3)} | ${tw.toFixed(3)} | ${(tj / tw).toFixed(1)}× |`);
}
