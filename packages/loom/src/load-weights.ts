import type { Sequential as Graph } from '@loom/layers';
import { formatShape } from '@loom/tensor';

/** A weight as the records carry it: name, shape, row-major float32 values. */
export interface NamedWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

/**
 * Copies `weights` into a built model's parameters, matched strictly by name and shape: a
 * missing, unexpected or misshapen weight is an error made by `fail` (each record format has
 * its own error class), naming `source`. Shared by checkpoints and the interchange formats.
 */
export function loadWeights(
  model: Graph, weights: readonly NamedWeight[], source: string, fail: (problem: 'names' | 'shape', message: string) => Error,
): void {
  const byName = new Map(weights.map((w) => [w.name, w]));
  const missing = model.slots.filter((s) => !byName.has(s.name)).map((s) => s.name);
  const expected = new Set(model.slots.map((s) => s.name));
  const unexpected = weights.filter((w) => !expected.has(w.name)).map((w) => w.name);
  if (missing.length || unexpected.length) {
    throw fail('names', `${source}: weights do not fit the model: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`);
  }
  for (const s of model.slots) {
    const w = byName.get(s.name)!;
    if (w.shape.join() !== s.shape.join() || w.data.length !== s.size) {
      throw fail('shape', `${source}: weight ${s.name} has shape ${formatShape(w.shape)}, the model needs ${formatShape(s.shape)}`);
    }
    model.params.set(w.data, s.offset);
  }
}
