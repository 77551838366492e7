/**
 * `Sequential` ↔ `InteropModel`, the plain record `@loom/interop` writes TensorFlow.js (and
 * ONNX) from and reads TensorFlow.js into. The record has layers and weights only: a model
 * read back is built, with its weights, and not compiled (no optimizer state travels).
 */
import { InteropError, isTfjsModelPath, readTfjsModel, writeTfjsModel, type InteropModel } from '@loom/interop';
import { deserializeLayer } from '@loom/layers';
import { formatShape } from '@loom/tensor';
import type { SavableModel } from './checkpoint-record.js';
import { Sequential } from './model.js';

/**
 * The layers and weights of a model, as `@loom/interop` takes them. Building it first if the
 * first layer declares its input shape. A model trained with input scaling is refused: the
 * formats have nowhere to keep it, and the exported model would get unscaled inputs.
 */
export function toInteropModel(model: Pick<SavableModel, 'name' | 'inputShape' | 'getConfig' | 'slots' | 'params' | 'inputScaling'>): InteropModel {
  if (model.inputScaling) {
    throw new InteropError('unsupported', `model ${model.name} scales its inputs (${model.inputScaling.method}, from training with --normalize); TensorFlow.js and ONNX models cannot carry that: retrain without it, or scale inputs before the exported model`);
  }
  const inputShape = [...model.inputShape];
  return {
    name: model.name,
    inputShape,
    layers: model.getConfig().layers.map((l) => ({ className: l.className, config: { ...l.config } })),
    weights: model.slots.map((s) => ({ name: s.name, shape: [...s.shape], data: model.params.slice(s.offset, s.offset + s.size) })),
  };
}

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

/** Writes `model` as a TensorFlow.js Layers folder (`model.json` + shards); returns the `model.json` path. */
export async function saveTfjs(model: Sequential, dir: string): Promise<string> {
  return writeTfjsModel(dir, toInteropModel(model));
}

/** A TensorFlow.js Layers model (`…/model.json`, or its folder) as an uncompiled `Sequential`. */
export async function loadTfjs(path: string): Promise<Sequential> {
  return fromInteropModel(await readTfjsModel(path), path);
}

export { isTfjsModelPath };
