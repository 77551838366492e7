/**
 * `InteropModel` → `Sequential`: what `@loom/interop` reads from TensorFlow.js becomes a model,
 * built with its weights and not compiled (no optimizer state travels). The other direction is
 * interop-record.ts.
 */
import { InteropError, isTfjsModelPath, readTfjsModel, type InteropModel } from '@loom/interop';
import { deserializeLayer } from '@loom/layers';
import { loadWeights } from './load-weights.js';
import { Sequential } from './model.js';

/** A built, uncompiled `Sequential` from a record: every weight matched strictly by name and shape. */
export function fromInteropModel(record: InteropModel, source = 'model'): Sequential {
  const model = new Sequential(record.layers.map((l) => deserializeLayer({ className: l.className, config: l.config as never })), { name: record.name });
  model.build(record.inputShape, { initialize: false });
  loadWeights(model, record.weights, source, (problem, message) =>
    new InteropError(problem === 'names' ? 'invalid' : 'shape-mismatch', message, { path: source }));
  return model;
}

/** A TensorFlow.js Layers model (`…/model.json`, or its folder) as an uncompiled `Sequential`. */
export async function loadTfjs(path: string): Promise<Sequential> {
  return fromInteropModel(await readTfjsModel(path), path);
}

export { isTfjsModelPath };
