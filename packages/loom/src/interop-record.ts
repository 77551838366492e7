/**
 * `Sequential` → `InteropModel`, the plain record `@loom/interop` writes TensorFlow.js and ONNX
 * from: layers and weights only. Like checkpoint-record.ts it reads the model and constructs
 * none, so `model.ts` can save itself through it (reading a record back, which has to construct
 * a `Sequential`, lives in interop.ts).
 */
import { InteropError, writeTfjsModel, type InteropModel } from '@loom/interop';
import type { SavableModel } from './checkpoint-record.js';

type ExportableModel = Pick<SavableModel, 'name' | 'inputShape' | 'getConfig' | 'slots' | 'params' | 'inputScaling'>;

/**
 * The layers and weights of a model, as `@loom/interop` takes them. Building it first if the
 * first layer declares its input shape. A model trained with input scaling is refused: the
 * formats have nowhere to keep it, and the exported model would get unscaled inputs.
 */
export function toInteropModel(model: ExportableModel): InteropModel {
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

/** Writes `model` as a TensorFlow.js Layers folder (`model.json` + shards); returns the `model.json` path. */
export async function saveTfjs(model: ExportableModel, dir: string): Promise<string> {
  return writeTfjsModel(dir, toInteropModel(model));
}
