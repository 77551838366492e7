import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeIdx, parseIdx, readIdx, readIdxSync, type IdxDtype } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-idx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CODES: Record<IdxDtype, number> = { uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e };

/** An independent writer (DataView, big-endian), so a symmetric bug in the reader would show. */
function writeIdxFile(name: string, dtype: IdxDtype, shape: number[], values: number[]): string {
  const size: Record<IdxDtype, number> = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 };
  const header = 4 + 4 * shape.length;
  const buf = new ArrayBuffer(header + values.length * size[dtype]);
  const v = new DataView(buf);
  v.setUint8(2, CODES[dtype]);
  v.setUint8(3, shape.length);
  shape.forEach((d, i) => v.setUint32(4 + 4 * i, d));
  values.forEach((x, i) => {
    const at = header + i * size[dtype];
    if (dtype === 'uint8') v.setUint8(at, x);
    else if (dtype === 'int8') v.setInt8(at, x);
    else if (dtype === 'int16') v.setInt16(at, x);
    else if (dtype === 'int32') v.setInt32(at, x);
    else if (dtype === 'float32') v.setFloat32(at, x);
    else v.setFloat64(at, x);
  });
  const path = join(dir, name);
  writeFileSync(path, new Uint8Array(buf));
  return path;
}

function writeBytes(name: string, bytes: number[] | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, Uint8Array.from(bytes));
  return path;
}

const SAMPLES: Record<IdxDtype, number[]> = {
  uint8: [0, 1, 127, 128, 254, 255],
  int8: [-128, -1, 0, 1, 100, 127],
  int16: [-32768, -2, 0, 258, 1000, 32767],
  int32: [-2147483648, -70000, 0, 65536, 16909060, 2147483647],
  float32: [-1.5, 0, 3.25, 1e-30, -65504, 0.1],
  float64: [-1.5, 0, Math.PI, 1e-300, -Number.MAX_VALUE, 0.1],
};

describe('readIdx', () => {
  for (const dtype of Object.keys(SAMPLES) as IdxDtype[]) {
    it(`round-trips ${dtype}`, async () => {
      const values = SAMPLES[dtype];
      const path = writeIdxFile(`${dtype}.idx`, dtype, [2, 3], values);
      const expected = dtype === 'float32' ? Array.from(Float32Array.from(values)) : values;
      for (const a of [await readIdx(path), readIdxSync(path)]) {
        expect(a.dtype).toBe(dtype);
        expect(a.shape).toEqual([2, 3]);
        expect(Array.from(a.data)).toEqual(expected);
      }
      // encodeIdx is the inverse, byte for byte.
      const a = await readIdx(path);
      expect(Buffer.from(encodeIdx(a)).equals(readFileSync(path))).toBe(true);
      expect(Array.from(parseIdx(encodeIdx(a)).data)).toEqual(expected);
    });
  }

  it('reads rank 1 and rank 4 shapes and empty arrays', async () => {
    expect((await readIdx(writeIdxFile('r1.idx', 'uint8', [3], [7, 8, 9]))).shape).toEqual([3]);
    const r4 = await readIdx(writeIdxFile('r4.idx', 'int16', [1, 2, 1, 2], [1, 2, 3, 4]));
    expect(r4.shape).toEqual([1, 2, 1, 2]);
    expect(Array.from(r4.data)).toEqual([1, 2, 3, 4]);
    const empty = await readIdx(writeIdxFile('empty.idx', 'float32', [0, 5], []));
    expect(empty.shape).toEqual([0, 5]);
    expect(empty.data.length).toBe(0);
  });

  it('limit reads only the first entries of the first dimension', async () => {
    const path = writeIdxFile('lim.idx', 'int32', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const a = await readIdx(path, { limit: 2 });
    expect(a.shape).toEqual([2, 2]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4]);
    expect(readIdxSync(path, { limit: 10 }).shape).toEqual([4, 2]);
    await expect(readIdx(path, { limit: -1 })).rejects.toThrow(/limit must be a non-negative integer, got -1/);
  });

  it('missing file: names the file', async () => {
    const path = join(dir, 'no-such-file');
    await expect(readIdx(path)).rejects.toThrow(`readIdx: ${path}: file not found`);
    expect(() => readIdxSync(path)).toThrow(`readIdx: ${path}: file not found`);
  });

  it('wrong magic number', async () => {
    const path = writeBytes('magic.idx', [0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 5]);
    await expect(readIdx(path)).rejects.toThrow(new RegExp(`${path}: wrong magic number 0x12340801`));
    expect(() => readIdxSync(path)).toThrow(/wrong magic number 0x12340801/);
    // A text file is not an IDX file either.
    const text = join(dir, 'text.idx');
    writeFileSync(text, 'hello, world\n');
    await expect(readIdx(text)).rejects.toThrow(/wrong magic number 0x68656c6c/);
  });

  it('unknown dtype code', async () => {
    const path = writeBytes('dtype.idx', [0, 0, 0x0a, 0x01, 0, 0, 0, 1, 5]);
    await expect(readIdx(path)).rejects.toThrow(new RegExp(`${path}: unknown dtype code 0x0a`));
  });

  it('truncated file: says expected and actual byte counts', async () => {
    const full = writeIdxFile('full.idx', 'float32', [10, 3], Array.from({ length: 30 }, (_, i) => i));
    const bytes = readFileSync(full);
    const cut = writeBytes('cut.idx', bytes.subarray(0, bytes.length - 7));
    await expect(readIdx(cut)).rejects.toThrow(`readIdx: ${cut}: truncated file: header says shape [10, 3] of float32, so expected 132 bytes, but the file has 125 bytes`);
    expect(() => readIdxSync(cut)).toThrow(/truncated file: .*expected 132 bytes, but the file has 125 bytes/);
    // Shorter than the magic number, and shorter than the dimension list.
    await expect(readIdx(writeBytes('tiny.idx', [0, 0]))).rejects.toThrow(/truncated file: 2 bytes, shorter than the 4-byte magic number/);
    await expect(readIdx(writeBytes('dims.idx', [0, 0, 8, 3, 0, 0, 0, 1]))).rejects.toThrow(/truncated file: 8 bytes, shorter than the 16-byte header of 3 dimensions/);
    expect(() => readIdxSync(join(dir, 'dims.idx'))).toThrow(/shorter than the 16-byte header/);
  });

  it('header sizes that do not match the file length', async () => {
    // The header says [2, 2] uint8 (12 bytes in all) but 6 data bytes follow.
    const path = writeBytes('extra.idx', [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6]);
    await expect(readIdx(path)).rejects.toThrow(
      `readIdx: ${path}: header sizes do not match the file length: header says shape [2, 2] of uint8, so expected 16 bytes, but the file has 18 bytes (2 extra)`,
    );
    expect(() => readIdxSync(path)).toThrow(/do not match the file length/);
  });

  it('absurd sizes beyond the cap are refused before allocating', async () => {
    // 0xffffffff × 0xffffffff float64: about 1.5e20 bytes.
    const path = writeBytes('huge.idx', [0, 0, 0x0e, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    await expect(readIdx(path)).rejects.toThrow(new RegExp(`${path}: header sizes too large: shape \\[4294967295, 4294967295\\] of float64 .* over the cap maxBytes = 2147483648 \\(the file has 15 bytes\\)`));
    expect(() => readIdxSync(path)).toThrow(/header sizes too large/);
    // A smaller cap refuses an honest file too.
    const ok = writeIdxFile('capped.idx', 'uint8', [100], Array.from({ length: 100 }, () => 1));
    await expect(readIdx(ok, { maxBytes: 99 })).rejects.toThrow(/100 bytes of data, over the cap maxBytes = 99/);
    expect((await readIdx(ok, { maxBytes: 100 })).data.length).toBe(100);
  });

  it('a zero dimension among dimensions whose product overflows still checks the file length', () => {
    // Found by the fuzz test: 39 dimensions of 0xffffffff multiply to Infinity, and Infinity * 0
    // is NaN, which passed every size comparison, so trailing junk was accepted.
    const rank = 40;
    const bytes = new Uint8Array(4 + 4 * rank + 100);
    const view = new DataView(bytes.buffer);
    bytes[2] = 0x08;
    bytes[3] = rank;
    for (let i = 0; i < rank - 1; i++) view.setUint32(4 + 4 * i, 0xffffffff, false);
    expect(() => parseIdx(bytes, 'nan')).toThrow(/header sizes do not match the file length: .* expected 164 bytes, but the file has 264 bytes \(100 extra\)/);
    const exact = parseIdx(bytes.subarray(0, 4 + 4 * rank), 'exact');
    expect(exact.shape.length).toBe(rank);
    expect(exact.data.length).toBe(0);
  });

  it('parseIdx checks a buffer the same way', () => {
    expect(() => parseIdx(Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 1]), 'mem')).toThrow('readIdx: mem: truncated file');
    expect(Array.from(parseIdx(Uint8Array.from([0, 0, 9, 1, 0, 0, 0, 2, 0xff, 1])).data)).toEqual([-1, 1]);
  });
});
