// The batch-norm kernels, wasm against the JavaScript references, at a convnet's sizes (batch
// 128), one thread. Run after `npm run build`: node scripts/bench-batch-norm.mjs [filter]
// (the filter keeps the kernels whose name contains it). JS and wasm rounds alternate, so a
// noisy neighbour slows both alike.
import { readFileSync } from 'node:fs';
import {
  attachWasmBackend, batchNormGradStats, batchNormInputGrad, batchNormNormalize, batchNormRowStats, compileWasmKernels, createWasmMemory, wasmAllocator,
} from '../dist/index.js';

const batch = 128;
const compiled = compileWasmKernels();
attachWasmBackend(compiled.module, createWasmMemory(64 << 20), compiled.relaxed);

function operands(sizes, wasm) {
  return sizes.map((n) => {
    const a = wasm ? wasmAllocator.float32(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.37);
    return a;
  });
}

/** Calls per round so one round takes ~10 ms. */
function calibrate(run) {
  run();
  let calls = 1;
  for (;;) {
    const s = performance.now();
    for (let i = 0; i < calls; i++) run();
    if (performance.now() - s > 10 || calls >= 1 << 16) return calls;
    calls *= 2;
  }
}

/** ms per call of each of `runs`: the best of 7 rounds, the runs alternating within every round. */
function timeInterleaved(runs) {
  const calls = runs.map(calibrate), best = runs.map(() => Infinity);
  for (let round = 0; round < 7; round++) {
    runs.forEach((run, j) => {
      const s = performance.now();
      for (let i = 0; i < calls[j]; i++) run();
      best[j] = Math.min(best[j], (performance.now() - s) / calls[j]);
    });
  }
  return best;
}

const kernels = [];
for (const [h, w, c] of [[13, 13, 32], [11, 11, 64], [1, 1, 128]]) {
  const p = h * w, n = batch * p * c, shape = `${h}×${w}×${c}`;
  const mean = new Float64Array(c).fill(0.1), invStd = new Float64Array(c).fill(1.3), s1 = new Float64Array(c).fill(2), s2 = new Float64Array(c).fill(3);
  kernels.push(
    [`row statistics ${shape}`, [n, batch * 2 * c], ([x, out]) => batchNormRowStats(x, batch, p, c, out)],
    [`normalize ${shape}`, [n, n, n, c, c], ([x, xhat, y, g, b]) => batchNormNormalize(x, batch, p, c, mean, invStd, g, b, xhat, y)],
    [`gradient statistics ${shape}`, [n, n, batch * 2 * c], ([dy, xhat, out]) => batchNormGradStats(dy, xhat, batch, p, c, out)],
    [`dx ${shape}`, [n, n, n, c], ([dy, xhat, dx, g]) => batchNormInputGrad(dy, xhat, batch, p, c, g, invStd, s1, s2, batch * p, dx)],
  );
}

const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
console.log(`${cpu}, Node ${process.versions.node}, batch ${batch}, one thread; ms per call`);
console.log('| kernel | JS | wasm | JS / wasm |\n| --- | ---: | ---: | ---: |');
const filter = process.argv[2] ?? '';
for (const [name, sizes, run] of kernels.filter(([name]) => name.includes(filter))) {
  const js = operands(sizes, false), wasm = operands(sizes, true);
  const [tj, tw] = timeInterleaved([() => run(js), () => run(wasm)]);
  console.log(`| ${name} | ${tj.toFixed(3)} | ${tw.toFixed(3)} | ${(tj / tw).toFixed(1)}× |`);
}
