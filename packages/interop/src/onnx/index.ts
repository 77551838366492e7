/**
 * ONNX export of Sequential InteropModels (dense layers): a graph of standard ops that
 * onnxruntime runs, with a dynamic batch dimension. See README-onnx.md.
 */
export { toOnnx, type OnnxExportOptions } from './to-onnx.js';
export { writeOnnxFile } from './write-file.js';
