/**
 * The harness of the hostile-file fuzz tests (issue 10) that the checkpoint and data packages
 * share: run one reader call, time it and measure what it allocated, and say what is wrong
 * with the outcome. Each test adds its own stricter checks (an error class, a result's shape).
 */

/** Time one case may take (ms): a hang detector, not a speed target. */
export const CASE_MS = 1000;
/** Byte values that sit on signed and unsigned boundaries. */
export const BOUNDARY_BYTES: readonly number[] = [0x00, 0xff, 0x7f, 0x80];

export interface Outcome {
  error?: unknown;
  result?: unknown;
  ms: number;
  /** Growth of `process.memoryUsage().arrayBuffers` across the call (typed arrays, Buffers). */
  grew: number;
}

/** Runs `fn` (sync or async), catching what it throws. */
export async function attempt(fn: () => unknown): Promise<Outcome> {
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  const out: Outcome = { ms: 0, grew: 0 };
  try {
    out.result = await fn();
  } catch (e) {
    out.error = e;
  }
  out.ms = performance.now() - t0;
  out.grew = process.memoryUsage().arrayBuffers - before;
  return out;
}

/** What is wrong with an outcome, or undefined: a non-Error throw, a slow case, too much memory. */
export function outcomeProblem(o: Outcome, maxGrowth: number): string | undefined {
  if (o.error !== undefined && !(o.error instanceof Error)) return `threw a non-Error: ${String(o.error)}`;
  if (o.ms > CASE_MS) return `took ${o.ms.toFixed(0)} ms`;
  if (o.grew > maxGrowth) return `array buffers grew by ${o.grew} bytes (limit ${maxGrowth})`;
  return undefined;
}
