import { describe, expect, it } from 'vitest';
import { setUpBackend, tearDownBackend } from './backend.js';

describe('the wasm memory of the engines', () => {
  it('is one arena per thread: reused by the next engine, reset only when no engine uses it', () => {
    const a = setUpBackend('wasm');
    expect(a.wasm).not.toBeNull();
    const first = a.allocator.float32(10);
    tearDownBackend(a.wasm);

    const b = setUpBackend('wasm');
    expect(b.wasm!.memory).toBe(a.wasm!.memory);
    const again = b.allocator.float32(10);
    expect(again.byteOffset).toBe(first.byteOffset); // reset: the closed engine's space is reused
    again[0] = 5;

    const c = setUpBackend('wasm'); // b is still live: share, do not reset
    const other = c.allocator.float32(10);
    expect(other.byteOffset).toBeGreaterThan(again.byteOffset);
    expect(again[0]).toBe(5);
    expect(other.every((v) => v === 0)).toBe(true);
    tearDownBackend(c.wasm);
    tearDownBackend(b.wasm);
  });

  it("'js' uses shared memory and no wasm", () => {
    expect(setUpBackend('js').wasm).toBeNull();
  });
});
