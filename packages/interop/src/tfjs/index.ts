/** The TensorFlow.js Layers format: `model.json` + float32 weight shards, both directions. */
export { InteropError, type InteropErrorKind } from './errors.js';
export { toTfjsLayers, tfjsExportableLayers, type TfjsArtifacts, type TfjsExportOptions, type TfjsShard } from './export.js';
export { fromTfjsLayers, tfjsImportableLayers, DEFAULT_MAX_WEIGHT_BYTES, type ReadShard, type TfjsImportOptions } from './import.js';
export { writeTfjsModel, readTfjsModel, isTfjsModelPath, tfjsModelJsonPath, MAX_MODEL_JSON_BYTES } from './files.js';
export { MAX_SHARD_BYTES, type TfjsModelJson, type TfjsWeightGroup, type TfjsWeightSpec, type KerasLayerJson, type KerasSequentialJson } from './format.js';
