import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { InteropModel } from '../records.js';
import { writeFileAtomic } from '@loom/checkpoint';
import { InteropError } from './errors.js';
import { toTfjsLayers, type TfjsExportOptions } from './export.js';
import { fromTfjsLayers, type TfjsImportOptions } from './import.js';

/** `model.json` larger than this is refused before it is read (a topology is kilobytes). */
export const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
const SHARD_FILE = /^group\d+-shard\d+of\d+\.bin$/;

/**
 * Writes a TensorFlow.js Layers model into folder `dir` (created if needed): the weight files
 * first, then `model.json`, each atomically, so a reader never sees a `model.json` whose
 * shards are not all there. Weight files of an earlier export into the same folder that the
 * new `model.json` does not name are removed. Returns the path of `model.json`.
 */
export async function writeTfjsModel(dir: string, model: InteropModel, options: TfjsExportOptions = {}): Promise<string> {
  const { modelJson, shards } = toTfjsLayers(model, options);
  await mkdir(dir, { recursive: true });
  for (const s of shards) await writeFileAtomic(join(dir, s.name), s.bytes);
  const path = join(dir, 'model.json');
  await writeFileAtomic(path, `${JSON.stringify(modelJson)}\n`);
  const keep = new Set(shards.map((s) => s.name));
  for (const f of await readdir(dir)) if (SHARD_FILE.test(f) && !keep.has(f)) await rm(join(dir, f), { force: true });
  return path;
}

/** `path` itself when it names a file, or `path/model.json` when it is a folder. */
export async function tfjsModelJsonPath(path: string): Promise<string> {
  try {
    return (await stat(path)).isDirectory() ? join(path, 'model.json') : path;
  } catch (e) {
    throw missing(e, path);
  }
}

/** True when `path` looks like a TensorFlow.js model: a `*.json` file, or a folder holding `model.json`. */
export async function isTfjsModelPath(path: string): Promise<boolean> {
  if (basename(path).endsWith('.json')) return true;
  try {
    return (await stat(path)).isDirectory() && (await stat(join(path, 'model.json'))).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads a TensorFlow.js Layers model from `model.json` (or a folder holding one) and the weight
 * files beside it; see `fromTfjsLayers` for the checks. Each weight file's size is looked at
 * before it is read.
 */
export async function readTfjsModel(path: string, options: TfjsImportOptions = {}): Promise<InteropModel> {
  const file = await tfjsModelJsonPath(path);
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new InteropError('invalid', `${file}: not a file`, { path: file });
    size = s.size;
  } catch (e) {
    throw missing(e, file);
  }
  if (size > MAX_MODEL_JSON_BYTES) throw new InteropError('too-large', `${file}: ${size} bytes is more than the ${MAX_MODEL_JSON_BYTES} accepted for a model.json`, { path: file });
  const text = await readFile(file, 'utf8');
  const dir = dirname(file);
  return fromTfjsLayers(text, async (shard) => {
    const p = join(dir, shard);
    try {
      if (!(await stat(p)).isFile()) throw new Error('not a file');
    } catch (e) {
      throw new InteropError('missing-shard', `${file}: weight file ${shard} is missing (looked for ${p})`, { path: file, cause: e });
    }
    return new Uint8Array(await readFile(p));
  }, { source: file, ...options });
}

function missing(e: unknown, path: string): unknown {
  if (e instanceof InteropError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new InteropError('missing', `${path}: no such file or folder`, { path, cause: e });
  return e;
}
