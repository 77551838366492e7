/**
 * @loom/interop: models in and out of TensorFlow.js Layers and ONNX, over plain records
 * (`InteropModel`); a layer a format cannot express is refused by name, never dropped.
 */
export type { InteropLayer, InteropModel, InteropWeight } from './records.js';
export { toOnnx, writeOnnxFile, type OnnxExportOptions } from './onnx/index.js';
export {
  InteropError, toTfjsLayers, fromTfjsLayers, writeTfjsModel, readTfjsModel, isTfjsModelPath, tfjsModelJsonPath,
  tfjsExportableLayers, tfjsImportableLayers, MAX_SHARD_BYTES, MAX_MODEL_JSON_BYTES, DEFAULT_MAX_WEIGHT_BYTES,
  type InteropErrorKind, type TfjsArtifacts, type TfjsExportOptions, type TfjsShard, type ReadShard, type TfjsImportOptions,
  type TfjsModelJson, type TfjsWeightGroup, type TfjsWeightSpec, type KerasLayerJson, type KerasSequentialJson,
} from './tfjs/index.js';
export { writeFileAtomic } from '@loom/checkpoint';
