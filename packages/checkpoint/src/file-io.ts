import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { decodeCheckpoint, encodeCheckpoint } from './codec.js';
import { CheckpointError } from './errors.js';
import { HEADER_SIZE, parseHeader } from './header.js';
import type { CheckpointRecord } from './records.js';

/** Options for `loadCheckpoint` / `loadCheckpointSync`. */
export interface LoadOptions {
  /** Refuse files larger than this many bytes before reading them (default 4 GiB). */
  maxBytes?: number;
}

export const DEFAULT_MAX_BYTES = 4 * 1024 ** 3;
// fs.read takes at most 2 GiB - 1 per call; read big files in pieces.
const READ_CHUNK = 1024 ** 3;

/**
 * Saves a checkpoint atomically (`writeFileAtomic`): a crash at any moment leaves either the
 * previous file or the new one at `path`, never a mix (a stray `*.tmp-*` file may remain).
 */
export async function saveCheckpoint(path: string, rec: CheckpointRecord): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(rec));
}

/**
 * Writes `bytes` to `path` atomically: a temporary file beside `path`, fsynced and renamed over
 * it, then the directory fsynced. Checkpoints use it, and so do the interchange formats
 * (`@loom/interop`), so no file Loom writes is ever left half-written.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = tempPathFor(path);
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

/** `saveCheckpoint` without promises, for places that cannot await (a SIGINT handler). */
export function saveCheckpointSync(path: string, rec: CheckpointRecord): void {
  const bytes = encodeCheckpoint(rec);
  const tmp = tempPathFor(path);
  let renamed = false;
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeFileSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // The original error matters more than a leftover temp file.
      }
    }
  }
  syncDirectorySync(dirname(path));
}

/**
 * Loads a checkpoint file. Throws a `CheckpointError` naming the file: `missing`, `truncated`,
 * `not-a-checkpoint`, `unsupported-version`, `corrupted` or `invalid` (see `decodeCheckpoint`).
 * Reads the 20-byte header first and allocates only what the actual file size allows.
 */
export async function loadCheckpoint(path: string, options: LoadOptions = {}): Promise<CheckpointRecord> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let fh: fs.promises.FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw openError(e, path);
  }
  try {
    const size = checkSize((await fh.stat()), path, maxBytes);
    const head = Buffer.alloc(Math.min(size, HEADER_SIZE));
    await fh.read(head, 0, head.length, 0);
    parseHeader(head, size, path);
    const bytes = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await fh.read(bytes, got, Math.min(READ_CHUNK, size - got), got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return decodeCheckpoint(got === size ? bytes : bytes.subarray(0, got), path);
  } finally {
    await fh.close();
  }
}

/** `loadCheckpoint` without promises. */
export function loadCheckpointSync(path: string, options: LoadOptions = {}): CheckpointRecord {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw openError(e, path);
  }
  try {
    const size = checkSize(fs.fstatSync(fd), path, maxBytes);
    const head = Buffer.alloc(Math.min(size, HEADER_SIZE));
    fs.readSync(fd, head, 0, head.length, 0);
    parseHeader(head, size, path);
    const bytes = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const bytesRead = fs.readSync(fd, bytes, got, Math.min(READ_CHUNK, size - got), got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return decodeCheckpoint(got === size ? bytes : bytes.subarray(0, got), path);
  } finally {
    fs.closeSync(fd);
  }
}

function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

function openError(e: unknown, path: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new CheckpointError('missing', `${path}: no such checkpoint file`, { path, cause: e });
  }
  // Permissions and other I/O failures are not about the checkpoint's contents: pass them on.
  return e;
}

function checkSize(stat: fs.Stats, path: string, maxBytes: number): number {
  if (!stat.isFile()) {
    throw new CheckpointError('not-a-checkpoint', `${path}: not a Loom checkpoint (not a regular file)`, { path });
  }
  if (stat.size > maxBytes) {
    throw new CheckpointError(
      'invalid',
      `${path}: invalid: the file is ${stat.size} bytes, more than the ${maxBytes}-byte limit (raise maxBytes to load it)`,
      { path },
    );
  }
  return stat.size;
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

function syncDirectorySync(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // best effort
  }
}
