/**
 * `InteropModel` → `Sequential`: what `@loom/interop` reads from TensorFlow.js becomes a model,
 * built with its weights and not compiled (no optimizer state travels). The other direction is
 * interop-record.ts.
 */
import { InteropError, isTfjsModelPath, readTfjsModel, type InteropModel } from '@loom/interop';
import { deserializeLayer } from '@loom/layers';
import { formatShape } from '@loom/tensor';
import { Sequential } from './model.js';

/** A built, uncompiled `Sequential` from a record: every weight matched strictly by name and shape. */
export function fromInteropModel(record: InteropModel, source = 'model'): Sequential {
  const model = new Sequential(record.layers.map((l) => deserializeLayer({ className: l.className, config: l.config as never })), { name: record.name });
  model.build(record.inputShape, { initialize: false });
  const byName = new Map(record.weights.map((w) => [w.name, w]));
  const missing = model.slots.filter((s) => !byName.has(s.name)).map((s) => s.name);
  const expected = new Set(model.slots.map((s) => s.name));
  const unexpected = record.weights.filter((w) => !expected.has(w.name)).map((w) => w.name);
  if (missing.length || unexpected.length) {
    throw new InteropError('invalid', `${source}: weights do not fit the model: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`, { path: source });
  }
  for (const s of model.slots) {
    const w = byName.get(s.name)!;
    if (w.shape.join() !== s.shape.join() || w.data.length !== s.size) {
      throw new InteropError('shape-mismatch', `${source}: weight ${s.name} has shape ${formatShape(w.shape)}, the model needs ${formatShape(s.shape)}`, { path: source });
    }
    model.params.set(w.data, s.offset);
  }
  return model;
}

/** A TensorFlow.js Layers model (`…/model.json`, or its folder) as an uncompiled `Sequential`. */
export async function loadTfjs(path: string): Promise<Sequential> {
  return fromInteropModel(await readTfjsModel(path), path);
}

export { isTfjsModelPath };
