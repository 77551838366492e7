import * as zlib from 'node:zlib';

// zlib.crc32 (native, fast) arrived in Node 20.15; the table version keeps older Node 20 working.
let table: Uint32Array | undefined;

function crc32Table(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** CRC-32 (IEEE 802.3, the one zlib, gzip and PNG use) of `bytes`, as an unsigned integer. */
export function crc32(bytes: Uint8Array): number {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(bytes) >>> 0;
  return crc32Js(bytes);
}

/** The portable implementation; exported for the test that compares it with zlib's. */
export function crc32Js(bytes: Uint8Array): number {
  table ??= crc32Table();
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
