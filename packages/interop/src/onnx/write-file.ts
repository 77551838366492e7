import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { InteropModel } from '../records.js';
import { toOnnx, type OnnxExportOptions } from './to-onnx.js';

/**
 * Writes `toOnnx(model, options)` to `path` atomically: the bytes go to a temporary file beside
 * `path`, which is fsynced and renamed over it, then the directory is fsynced. A bad model fails
 * before any file is touched, and a crash leaves the old file or the new one, never half of one.
 */
export async function writeOnnxFile(path: string, model: InteropModel, options?: OnnxExportOptions): Promise<void> {
  const bytes = toOnnx(model, options);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let renamed = false;
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) await rm(tmp, { force: true }).catch(() => undefined);
  }
  await syncDirectory(dirname(path));
}

// Makes the rename durable. Best effort: some platforms (Windows) cannot open or fsync a directory.
async function syncDirectory(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort
  }
}
