import type { InteropModel } from '../records.js';
import { writeFileAtomic } from '@loom/checkpoint';
import { toOnnx, type OnnxExportOptions } from './to-onnx.js';

/**
 * Writes `toOnnx(model, options)` to `path` atomically (`writeFileAtomic`). A bad model fails
 * before any file is touched.
 */
export async function writeOnnxFile(path: string, model: InteropModel, options?: OnnxExportOptions): Promise<void> {
  await writeFileAtomic(path, toOnnx(model, options));
}
