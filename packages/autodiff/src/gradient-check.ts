import { Tensor, formatShape } from '@loom/tensor';
import { grad } from './tape.js';

export interface GradientCheckOptions {
  /** Relative step; the absolute step is `epsilon · max(1, |x|)`. */
  epsilon?: number;
  /** Allowed |analytic − numeric| ≤ atol + rtol · max(|analytic|, |numeric|). */
  rtol?: number;
  atol?: number;
}

export interface GradientCheckResult {
  maxAbsError: number;
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
}

/**
 * Compares `grad(f)` with central finite differences. The tensors are float32, so the
 * difference quotient is formed in float64 from the float32 values actually evaluated
 * (the real step is (x+h)₃₂ − (x−h)₃₂, not 2h), which keeps the rounding of the step itself out
 * of the estimate. Throws an Error naming the input, element and both values on a mismatch.
 */
export function checkGradient(
  f: (...args: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: GradientCheckOptions = {},
): GradientCheckResult {
  const { epsilon = 1e-2, rtol = 2e-2, atol = 2e-3 } = options;
  const analytic = grad(f)(...inputs);
  let maxAbsError = 0;
  let worst: GradientCheckResult['worst'] = null;
  for (let t = 0; t < inputs.length; t++) {
    const x = inputs[t]!.data;
    const g = analytic[t]!;
    if (g.shape.join() !== inputs[t]!.shape.join()) {
      throw new Error(`checkGradient: gradient of input ${t} has shape ${formatShape(g.shape)}, expected ${formatShape(inputs[t]!.shape)}`);
    }
    for (let i = 0; i < x.length; i++) {
      const orig = x[i]!;
      const h = epsilon * Math.max(1, Math.abs(orig));
      x[i] = orig + h;
      const up = x[i]!;
      const fPlus = f(...inputs).data[0]!;
      x[i] = orig - h;
      const down = x[i]!;
      const fMinus = f(...inputs).data[0]!;
      x[i] = orig;
      const numeric = (fPlus - fMinus) / (up - down);
      const a = g.data[i]!;
      const err = Math.abs(a - numeric);
      if (err > maxAbsError) {
        maxAbsError = err;
        worst = { input: t, index: i, analytic: a, numeric };
      }
      if (!(err <= atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)))) {
        throw new Error(
          `checkGradient: input ${t} ${formatShape(inputs[t]!.shape)}, element ${i}: analytic ${a}, numeric ${numeric}`,
        );
      }
    }
  }
  return { maxAbsError, worst };
}
