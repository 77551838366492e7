/**
 * A forced garbage collection for the memory suites, so a heap figure is what is live rather
 * than wherever the collector happened to be. `global.gc` when the process runs with
 * `--expose-gc`; otherwise the same function obtained at run time: V8's flag is turned on just
 * long enough to create one fresh context, whose `gc` global we keep, then turned off again
 * (the flag only decides whether new contexts get `gc`; collecting is the same either way).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export type GcSource = '--expose-gc' | 'V8 flag at run time' | 'unavailable';

let cached: { gc: (() => void) | null; source: GcSource } | null = null;

export function forcedGc(): { gc: (() => void) | null; source: GcSource } {
  if (cached) return cached;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    cached = { gc: () => (exposed as () => void)(), source: '--expose-gc' };
    return cached;
  }
  try {
    v8.setFlagsFromString('--expose-gc');
    const fn = vm.runInNewContext('gc') as unknown;
    v8.setFlagsFromString('--no-expose-gc');
    if (typeof fn === 'function') {
      cached = { gc: () => (fn as () => void)(), source: 'V8 flag at run time' };
      return cached;
    }
  } catch {
    // No way to collect on demand: the figures are then wherever the collector left the heap.
  }
  cached = { gc: null, source: 'unavailable' };
  return cached;
}
