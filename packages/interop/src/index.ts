/**
 * @loom/interop: models in and out of TensorFlow.js Layers and ONNX, over plain records
 * (`InteropModel`); a layer a format cannot express is refused by name, never dropped.
 */
export type { InteropLayer, InteropModel, InteropWeight } from './records.js';
export { toOnnx, writeOnnxFile, type OnnxExportOptions } from './onnx/index.js';
