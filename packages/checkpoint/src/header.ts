import { CheckpointError, describeSource } from './errors.js';
import { FORMAT_VERSION } from './records.js';

/**
 * The fixed header in front of the protobuf payload. It is outside protobuf on purpose: a reader
 * can tell "not ours", "newer than me", "cut short" and "damaged" apart from 20 bytes and the file
 * size, before it allocates anything or trusts a single length inside the payload.
 *
 *   offset 0   8 bytes  magic "LOOMCKPT"
 *   offset 8   uint32   format version (LE)
 *   offset 12  uint32   payload length in bytes (LE)
 *   offset 16  uint32   CRC-32 of the payload (LE)
 *   offset 20           payload: message loom.checkpoint.Checkpoint
 */
export const MAGIC = new TextEncoder().encode('LOOMCKPT');
export const HEADER_SIZE = 20;
const VERSION_OFFSET = 8;
const LENGTH_OFFSET = 12;
const CRC_OFFSET = 16;
/** The payload length is a uint32. */
export const MAX_PAYLOAD_BYTES = 0xffffffff;

export interface Header {
  version: number;
  payloadLength: number;
  crc: number;
}

/** Writes the header into the first HEADER_SIZE bytes of `out`. */
export function writeHeader(out: Uint8Array, payloadLength: number, crc: number): void {
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer, out.byteOffset, HEADER_SIZE);
  view.setUint32(VERSION_OFFSET, FORMAT_VERSION, true);
  view.setUint32(LENGTH_OFFSET, payloadLength, true);
  view.setUint32(CRC_OFFSET, crc, true);
}

/**
 * Checks the header against the total size of the file (or buffer) and returns it. `head` holds
 * the first min(totalSize, HEADER_SIZE) bytes. The order of the checks matters: the magic first
 * (so a text file is "not a checkpoint" rather than "truncated"), then the version before the
 * rest of the header (a future format may lay out the rest differently).
 */
export function parseHeader(head: Uint8Array, totalSize: number, source?: string): Header {
  const where = describeSource(source);
  const fail = (kind: CheckpointError['kind'], message: string): never => {
    throw new CheckpointError(kind, `${where}: ${message}`, { path: source });
  };
  const magicBytes = Math.min(head.length, MAGIC.length);
  for (let i = 0; i < magicBytes; i++) {
    if (head[i] !== MAGIC[i]) fail('not-a-checkpoint', 'not a Loom checkpoint (the file does not start with "LOOMCKPT")');
  }
  if (head.length < VERSION_OFFSET + 4) {
    fail('truncated', `truncated: expected at least ${HEADER_SIZE} bytes (the header), found ${totalSize}`);
  }
  const view = new DataView(head.buffer, head.byteOffset, head.length);
  const version = view.getUint32(VERSION_OFFSET, true);
  if (version > FORMAT_VERSION) {
    fail(
      'unsupported-version',
      `written by a newer Loom: format version ${version}, this reads up to ${FORMAT_VERSION}`,
    );
  }
  if (version === 0) fail('corrupted', 'corrupted: the header says format version 0, which does not exist');
  if (head.length < HEADER_SIZE) {
    fail('truncated', `truncated: expected at least ${HEADER_SIZE} bytes (the header), found ${totalSize}`);
  }
  const payloadLength = view.getUint32(LENGTH_OFFSET, true);
  const expected = HEADER_SIZE + payloadLength;
  if (totalSize < expected) fail('truncated', `truncated: expected ${expected} bytes, found ${totalSize}`);
  if (totalSize > expected) {
    // A flipped bit in the length field, or bytes appended by something else: the CRC cannot
    // tell which, so say what is known.
    fail('corrupted', `corrupted: expected ${expected} bytes, found ${totalSize} (${totalSize - expected} extra)`);
  }
  return { version, payloadLength, crc: view.getUint32(CRC_OFFSET, true) };
}
