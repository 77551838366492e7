/**
 * The IDX format (LeCun's MNIST files): a 4-byte magic number, one big-endian uint32 per
 * dimension, then the data in row-major order, big-endian. The magic number is two zero bytes,
 * a dtype code and the number of dimensions.
 *
 * Every size in the header is checked against the file length and `maxBytes` before anything
 * is allocated, so a corrupt or hostile header cannot make us allocate gigabytes.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** The element types the IDX format defines. */
export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** The typed array that holds each dtype. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A parsed IDX file: its element type, its shape and its data (host byte order). */
export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  data: IdxData;
}

export interface ReadIdxOptions {
  /** Largest data section accepted, in bytes (default 2 GiB). Checked before allocating. */
  maxBytes?: number;
  /**
   * Read only the first `limit` entries of the first dimension (the first `limit` images of an
   * MNIST file). The header is still checked against the whole file length. Larger values read
   * everything, as a slice `a[:limit]` does.
   */
  limit?: number;
}

/** Default cap on the data section: 2 GiB. */
export const IDX_DEFAULT_MAX_BYTES = 2 ** 31;

interface DtypeInfo {
  dtype: IdxDtype;
  bytes: number;
  make: (length: number) => IdxData;
}

/** Dtype codes from the format's definition (the third byte of the magic number). */
const DTYPES: ReadonlyMap<number, DtypeInfo> = new Map<number, DtypeInfo>([
  [0x08, { dtype: 'uint8', bytes: 1, make: (n) => new Uint8Array(n) }],
  [0x09, { dtype: 'int8', bytes: 1, make: (n) => new Int8Array(n) }],
  [0x0b, { dtype: 'int16', bytes: 2, make: (n) => new Int16Array(n) }],
  [0x0c, { dtype: 'int32', bytes: 4, make: (n) => new Int32Array(n) }],
  [0x0d, { dtype: 'float32', bytes: 4, make: (n) => new Float32Array(n) }],
  [0x0e, { dtype: 'float64', bytes: 8, make: (n) => new Float64Array(n) }],
]);

/** The dtype code of each IDX dtype, for writers. */
export const IDX_DTYPE_CODES: Readonly<Record<IdxDtype, number>> = {
  uint8: 0x08,
  int8: 0x09,
  int16: 0x0b,
  int32: 0x0c,
  float32: 0x0d,
  float64: 0x0e,
};

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** What the header says, already checked against the file. */
interface IdxLayout {
  info: DtypeInfo;
  shape: number[];
  headerBytes: number;
  /** Elements to read (after `limit`). */
  count: number;
}

function fail(path: string, problem: string): Error {
  return new Error(`readIdx: ${path}: ${problem}`);
}

function hex(n: number, digits: number): string {
  return `0x${n.toString(16).padStart(digits, '0')}`;
}

function checkOptions(options: ReadIdxOptions): { maxBytes: number; limit: number } {
  const maxBytes = options.maxBytes ?? IDX_DEFAULT_MAX_BYTES;
  if (!(maxBytes >= 0)) throw new RangeError(`readIdx: maxBytes must be a non-negative number, got ${maxBytes}`);
  const limit = options.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) {
    throw new RangeError(`readIdx: limit must be a non-negative integer, got ${limit}`);
  }
  return { maxBytes, limit };
}

/** Checks the 4-byte magic number; returns the dtype and the number of dimensions. */
function parseMagic(path: string, magic: Uint8Array, fileBytes: number): { info: DtypeInfo; rank: number } {
  if (fileBytes < 4) {
    throw fail(path, `truncated file: ${fileBytes} bytes, shorter than the 4-byte magic number`);
  }
  const word = ((magic[0]! << 24) | (magic[1]! << 16) | (magic[2]! << 8) | magic[3]!) >>> 0;
  if (magic[0] !== 0 || magic[1] !== 0) {
    throw fail(
      path,
      `wrong magic number ${hex(word, 8)}: an IDX file starts with two zero bytes, a dtype code and the number of dimensions (not an IDX file?)`,
    );
  }
  const info = DTYPES.get(magic[2]!);
  if (info === undefined) {
    throw fail(path, `unknown dtype code ${hex(magic[2]!, 2)} in magic number ${hex(word, 8)} (known: 0x08 0x09 0x0b 0x0c 0x0d 0x0e)`);
  }
  return { info, rank: magic[3]! };
}

/** Checks the dimensions against the file length and the cap; nothing has been allocated yet. */
function parseDims(
  path: string,
  info: DtypeInfo,
  dims: Uint8Array,
  fileBytes: number,
  maxBytes: number,
  limit: number,
): IdxLayout {
  const rank = dims.length / 4;
  const headerBytes = 4 + dims.length;
  const view = new DataView(dims.buffer, dims.byteOffset, dims.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 * i, false));
  // A product of up to 255 uint32s can pass 2^53 (or reach Infinity); that is fine, because all
  // we do with it is compare it with the file length and the cap. A zero dimension is taken
  // first: Infinity * 0 is NaN, and NaN passes every comparison below (trailing junk accepted).
  let elements = shape.includes(0) ? 0 : 1;
  if (elements !== 0) for (const d of shape) elements *= d;
  const dataBytes = elements * info.bytes;
  const described = `shape [${shape.join(', ')}] of ${info.dtype}`;
  if (dataBytes > maxBytes) {
    throw fail(
      path,
      `header sizes too large: ${described} is ${dataBytes} bytes of data, over the cap maxBytes = ${maxBytes} (the file has ${fileBytes} bytes)`,
    );
  }
  const expected = headerBytes + dataBytes;
  if (fileBytes < expected) {
    throw fail(path, `truncated file: header says ${described}, so expected ${expected} bytes, but the file has ${fileBytes} bytes`);
  }
  if (fileBytes > expected) {
    throw fail(
      path,
      `header sizes do not match the file length: header says ${described}, so expected ${expected} bytes, but the file has ${fileBytes} bytes (${fileBytes - expected} extra)`,
    );
  }
  let count = elements;
  if (rank > 0 && limit < shape[0]!) {
    count = shape[0]! === 0 ? 0 : (elements / shape[0]!) * limit;
    shape[0] = limit;
  }
  return { info, shape, headerBytes, count };
}

/** Reverses the byte order of each `bytes`-wide element of `u8`, in place. */
function swapBytes(u8: Uint8Array, bytes: number): void {
  const n = u8.length;
  if (bytes === 2) {
    for (let i = 0; i < n; i += 2) {
      const a = u8[i]!;
      u8[i] = u8[i + 1]!;
      u8[i + 1] = a;
    }
  } else if (bytes === 4) {
    for (let i = 0; i < n; i += 4) {
      const a = u8[i]!;
      const b = u8[i + 1]!;
      u8[i] = u8[i + 3]!;
      u8[i + 1] = u8[i + 2]!;
      u8[i + 2] = b;
      u8[i + 3] = a;
    }
  } else if (bytes === 8) {
    for (let i = 0; i < n; i += 8) {
      for (let j = 0; j < 4; j++) {
        const a = u8[i + j]!;
        u8[i + j] = u8[i + 7 - j]!;
        u8[i + 7 - j] = a;
      }
    }
  }
}

/** Converts big-endian elements, already in the array's own bytes, to host order in place. */
function toHostOrder(data: IdxData, bytes: number): void {
  if (bytes > 1 && LITTLE_ENDIAN_HOST) swapBytes(bytesOf(data), bytes);
}

function bytesOf(data: IdxData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function missing(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const why = code === 'ENOENT' ? 'file not found' : `cannot open file (${code ?? String(err)})`;
  return new Error(`readIdx: ${path}: ${why}`, { cause: err });
}

/**
 * Parses an IDX file already in memory. `name` appears in error messages.
 * The data is copied out of `bytes` (so it is aligned and in host byte order).
 */
export function parseIdx(bytes: Uint8Array, name = '<buffer>', options: ReadIdxOptions = {}): IdxArray {
  const { maxBytes, limit } = checkOptions(options);
  const { info, rank } = parseMagic(name, bytes.subarray(0, 4), bytes.length);
  if (bytes.length < 4 + 4 * rank) {
    throw fail(name, `truncated file: ${bytes.length} bytes, shorter than the ${4 + 4 * rank}-byte header of ${rank} dimensions`);
  }
  const layout = parseDims(name, info, bytes.subarray(4, 4 + 4 * rank), bytes.length, maxBytes, limit);
  const data = info.make(layout.count);
  const out = bytesOf(data);
  out.set(bytes.subarray(layout.headerBytes, layout.headerBytes + out.length));
  toHostOrder(data, info.bytes);
  return { dtype: info.dtype, shape: layout.shape, data };
}

async function readFully(fh: FileHandle, into: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

function readFullySync(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.length) {
    const bytesRead = readSync(fd, into, done, into.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * Reads an IDX file (any dtype the format defines). Throws an `Error` naming the file and the
 * problem: not found, wrong magic number, unknown dtype, truncated, header sizes that do not
 * match the file length, or sizes over `maxBytes`.
 */
export async function readIdx(path: string, options: ReadIdxOptions = {}): Promise<IdxArray> {
  const { maxBytes, limit } = checkOptions(options);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw missing(path, err);
  }
  try {
    const fileBytes = (await fh.stat()).size;
    const magic = new Uint8Array(4);
    await readFully(fh, magic, 0);
    const { info, rank } = parseMagic(path, magic, fileBytes);
    const dims = new Uint8Array(4 * rank);
    if ((await readFully(fh, dims, 4)) < dims.length) {
      throw fail(path, `truncated file: ${fileBytes} bytes, shorter than the ${4 + 4 * rank}-byte header of ${rank} dimensions`);
    }
    const layout = parseDims(path, info, dims, fileBytes, maxBytes, limit);
    const data = info.make(layout.count);
    const got = await readFully(fh, bytesOf(data), layout.headerBytes);
    // The file can shrink between stat and read; say so rather than return zeros.
    if (got < data.byteLength) throw fail(path, `truncated file: expected ${data.byteLength} data bytes, read ${got}`);
    toHostOrder(data, info.bytes);
    return { dtype: info.dtype, shape: layout.shape, data };
  } finally {
    await fh.close();
  }
}

/** The synchronous form of {@link readIdx}, with the same checks and errors. */
export function readIdxSync(path: string, options: ReadIdxOptions = {}): IdxArray {
  const { maxBytes, limit } = checkOptions(options);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw missing(path, err);
  }
  try {
    const fileBytes = fstatSync(fd).size;
    const magic = new Uint8Array(4);
    readFullySync(fd, magic, 0);
    const { info, rank } = parseMagic(path, magic, fileBytes);
    const dims = new Uint8Array(4 * rank);
    if (readFullySync(fd, dims, 4) < dims.length) {
      throw fail(path, `truncated file: ${fileBytes} bytes, shorter than the ${4 + 4 * rank}-byte header of ${rank} dimensions`);
    }
    const layout = parseDims(path, info, dims, fileBytes, maxBytes, limit);
    const data = info.make(layout.count);
    const got = readFullySync(fd, bytesOf(data), layout.headerBytes);
    if (got < data.byteLength) throw fail(path, `truncated file: expected ${data.byteLength} data bytes, read ${got}`);
    toHostOrder(data, info.bytes);
    return { dtype: info.dtype, shape: layout.shape, data };
  } finally {
    closeSync(fd);
  }
}

/**
 * Encodes an array as IDX bytes (big-endian), the inverse of {@link parseIdx}. Handy for
 * writing test fixtures and for exporting data other tools read.
 */
export function encodeIdx(array: IdxArray): Uint8Array {
  const { dtype, shape, data } = array;
  const code = IDX_DTYPE_CODES[dtype];
  if (code === undefined) throw new RangeError(`encodeIdx: unknown dtype ${String(dtype)}`);
  const expectedType = DTYPES.get(code)!.make(0).constructor;
  if (data.constructor !== expectedType) {
    throw new TypeError(`encodeIdx: dtype ${dtype} needs a ${expectedType.name}, got a ${data.constructor.name}`);
  }
  if (shape.length > 255) throw new RangeError(`encodeIdx: at most 255 dimensions, got ${shape.length}`);
  let elements = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new RangeError(`encodeIdx: bad dimension ${d} in shape [${shape.join(', ')}]`);
    elements *= d;
  }
  if (data.length !== elements) {
    throw new RangeError(`encodeIdx: data has ${data.length} elements, shape [${shape.join(', ')}] needs ${elements}`);
  }
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + data.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(2, code);
  view.setUint8(3, shape.length);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  out.set(body, header);
  // A byte swap is its own inverse: host order back to big-endian.
  if (data.BYTES_PER_ELEMENT > 1 && LITTLE_ENDIAN_HOST) swapBytes(out.subarray(header), data.BYTES_PER_ELEMENT);
  return out;
}
