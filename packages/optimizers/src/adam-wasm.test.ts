import { afterAll, describe, expect, it } from 'vitest';
import { attachWasmBackend, compileWasmKernels, createWasmMemory, detachWasmBackend, wasmAllocator } from '@loom/tensor';
import { Adam } from './adam.js';

afterAll(() => detachWasmBackend());

describe('Adam on wasm memory', () => {
  it('runs the same rule in wasm SIMD: agrees with the JS rule within float32 rounding, and sharding keeps the bits', () => {
    const compiled = compileWasmKernels({ relaxed: false });
    expect(compiled).not.toBeNull();
    attachWasmBackend(compiled!.module, createWasmMemory(1 << 20), compiled!.relaxed);
    const n = 1003; // not a multiple of 4: the scalar tail runs too
    const init = (f: (i: number) => number) => {
      const a = wasmAllocator.float32(n);
      for (let i = 0; i < n; i++) a[i] = f(i);
      return a;
    };
    const p = init((i) => Math.sin(i)), g = init((i) => Math.cos(3 * i) * 0.1);
    const ref = { p: p.slice(), g: g.slice() };
    const wasmOpt = new Adam({ learningRate: 0.01 });
    wasmOpt.build([n], (len) => wasmAllocator.float32(len));
    const jsOpt = new Adam({ learningRate: 0.01 });
    for (let t = 0; t < 3; t++) {
      wasmOpt.apply([p], [g]);
      jsOpt.apply([ref.p], [ref.g]);
    }
    for (let i = 0; i < n; i++) expect(Math.abs(p[i]! - ref.p[i]!)).toBeLessThan(1e-6);

    // Chunks (as the coordinator shards them) give the same bits as one pass.
    const q = init((i) => Math.sin(i)), h = init((i) => Math.cos(3 * i) * 0.1);
    const sharded = new Adam({ learningRate: 0.01 });
    sharded.build([n], (len) => wasmAllocator.float32(len));
    for (let t = 1; t <= 3; t++) {
      sharded.updateRange(q, h, sharded.slots[0]!, 501, n, t);
      sharded.updateRange(q, h, sharded.slots[0]!, 0, 501, t);
    }
    expect(Array.from(q)).toEqual(Array.from(p));
  });

  it('flushes moments that decay below 1e-30 to zero instead of letting them go subnormal', () => {
    const n = 8;
    const p = wasmAllocator.float32(n), g = wasmAllocator.float32(n);
    g.fill(0.5);
    const opt = new Adam();
    opt.build([n], (len) => wasmAllocator.float32(len));
    opt.apply([p], [g]);
    g.fill(0); // a weight whose gradient is always 0 from now on (a blank pixel)
    for (let t = 0; t < 900; t++) opt.apply([p], [g]);
    const [m] = opt.slots[0]!;
    for (const v of m!) expect(v).toBe(0); // 0.9^900 · 0.05 would be ~1e-42: subnormal
  });
});
