import type { Sequential } from './sequential.js';
import type { LossKernel } from './losses.js';
import type { StepInfo } from './layer.js';

/**
 * Shared test helper: compares a model's backward pass with central finite differences of its
 * loss, for every parameter (or a strided sample of them). The loss is evaluated in float64
 * over float32 activations; the step is the float32 difference actually applied.
 */
export function checkModelGradient(
  model: Sequential, x: Float32Array, labels: Float32Array, rows: number, loss: LossKernel,
  options: { epsilon?: number; rtol?: number; atol?: number; maxChecks?: number; training?: boolean } = {},
): { checked: number; maxAbsError: number } {
  const { epsilon = 1e-2, rtol = 3e-2, atol = 1e-3, maxChecks = 200, training = false } = options;
  // training: the loss of a training forward (BatchNormalization's batch statistics; dropout's
  // masks are keyed by the fixed seed and step, so the same every time).
  const info: StepInfo = { training, seed: 0, step: 0, rowOffset: 0 };
  const stats = new Float64Array(1);
  model.trainStep(x, labels, rows, loss, [], 1 / rows, info, stats);
  const analytic = model.grads.slice();
  const lossAt = (): number => {
    const s = new Float64Array(1);
    model.evaluateStep(x, labels, rows, loss, [], info, s);
    return s[0]! / rows;
  };
  const p = model.params;
  const stride = Math.max(1, Math.floor(p.length / maxChecks));
  let checked = 0, maxAbsError = 0;
  const frozen = new Set<number>();
  for (const l of model.layers) for (const w of l.weights) if (!w.trainable) frozen.add(model.slots.find((s) => s.name === w.name)!.offset);
  for (let i = 0; i < p.length; i += stride) {
    const slotAt = model.slots.find((s) => i >= s.offset && i < s.offset + s.size)!;
    if (frozen.has(slotAt.offset)) continue; // moving statistics: no gradient, by design
    const orig = p[i]!;
    const h = epsilon * Math.max(1, Math.abs(orig));
    p[i] = orig + h;
    const up = p[i]!;
    const fPlus = lossAt();
    p[i] = orig - h;
    const down = p[i]!;
    const fMinus = lossAt();
    p[i] = orig;
    const numeric = (fPlus - fMinus) / (up - down);
    const a = analytic[i]!;
    const err = Math.abs(a - numeric);
    maxAbsError = Math.max(maxAbsError, err);
    if (!(err <= atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)))) {
      const slot = model.slots.find((s) => i >= s.offset && i < s.offset + s.size)!;
      throw new Error(`gradient mismatch at ${slot.name}[${i - slot.offset}]: analytic ${a}, numeric ${numeric}`);
    }
    checked++;
  }
  return { checked, maxAbsError };
}
