/**
 * Float32 arrays to and from little-endian bytes, the order the file format fixes. On
 * little-endian hosts (every platform Node ships for today) these are plain byte views and
 * copies; the DataView path keeps big-endian hosts correct.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The bytes of `data` in little-endian order; a view without copying where the host is LE. */
export function float32ToLeBytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

/**
 * A fresh Float32Array from little-endian bytes. Always copies: the decoded bytes are a view
 * into the file buffer, may start at an odd offset, and must not keep that buffer alive.
 * The caller has checked that `bytes.length` is a multiple of 4.
 */
export function leBytesToFloat32(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
