/**
 * Every tensor buffer in Loom comes from here, so the backing store can be swapped in one
 * place (a SharedArrayBuffer for the coordinator, a shared WebAssembly.Memory for a SIMD backend).
 */
export interface Allocator {
  /** Returns a zero-filled Float32Array of `length` elements. */
  float32(length: number): Float32Array;
}

/** Ordinary heap memory: one ArrayBuffer per request. */
export const heapAllocator: Allocator = {
  float32: (length) => new Float32Array(length),
};

/** Memory every worker thread can see: one SharedArrayBuffer per request. */
export const sharedAllocator: Allocator = {
  float32: (length) => new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT)),
};

let current: Allocator = heapAllocator;

/** Allocates a zero-filled Float32Array from the current allocator. */
export function allocFloat32(length: number): Float32Array {
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(`allocFloat32: length must be a non-negative integer, got ${length}`);
  }
  return current.float32(length);
}

/** Replaces the allocator used by `allocFloat32`; returns the previous one so callers can restore it. */
export function setAllocator(allocator: Allocator): Allocator {
  const previous = current;
  current = allocator;
  return previous;
}

/** Runs `fn` with `allocator` in place, restoring the previous allocator afterwards. */
export function withAllocator<T>(allocator: Allocator, fn: () => T): T {
  const previous = setAllocator(allocator);
  try {
    return fn();
  } finally {
    setAllocator(previous);
  }
}
