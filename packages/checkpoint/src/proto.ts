import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';

/**
 * The schema is read from the .proto at run time (protobufjs reflection) rather than generated
 * code: one source of truth, nothing to regenerate, and tsc has no generated .js to forget to
 * copy. The path is relative to this module, so it resolves from both src/ and dist/.
 */
const PROTO_PATH = fileURLToPath(new URL('../proto/checkpoint.proto', import.meta.url));

let checkpointType: Type | undefined;

/** The `loom.checkpoint.Checkpoint` message type, parsed once on first use. */
export function getCheckpointType(): Type {
  // loadSync, not load: the sync save/load variants (SIGINT handlers) need it too, and the file is tiny.
  checkpointType ??= protobuf.loadSync(PROTO_PATH).lookupType('loom.checkpoint.Checkpoint');
  return checkpointType;
}

/** A writer to encode into (a Buffer-backed one under Node). */
export function createWriter(): protobuf.Writer {
  return protobuf.Writer.create();
}

/** The enum value the format uses for float32 data. */
export const DTYPE_FLOAT32 = 1;

/** A 64-bit integer as protobufjs decodes it: a Long when the `long` package is present. */
export type Int64 = number | { toNumber(): number };

/** The decoded message, in protobufjs's camelCase field names; unset messages are null. */
export interface CheckpointMessage {
  formatVersion: number;
  model: { className: string; layers: { className: string; configJson: string }[]; compileJson: string } | null;
  weights: { name: string; shape: Int64[]; dtype: number; data: Uint8Array }[];
  optimizer: {
    name: string;
    configJson: string;
    iterations: Int64;
    slots: { name: string; values: Uint8Array[] }[];
  } | null;
  progress: {
    epoch: Int64;
    step: Int64;
    seed: number;
    rngSeed: number;
    rngCounter: Int64;
    globalStep: Int64;
  } | null;
  history: { epochs: Int64[]; metrics: { name: string; values: number[] }[] } | null;
  metadata: Record<string, string>;
  inputScaling: { method: string; offset: number[]; scale: number[] } | null;
}
