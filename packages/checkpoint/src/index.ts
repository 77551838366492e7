/**
 * @loom/checkpoint: Loom's checkpoint file format. Plain records in, a checksummed protobuf file
 * out, written atomically; loading tells truncated, corrupted, too-new and foreign files apart.
 */
export { FORMAT_VERSION } from './records.js';
export type { CheckpointRecord, InputScalingRecord, LayerRecord, OptimizerRecord, ProgressRecord, WeightRecord } from './records.js';
export { CheckpointError } from './errors.js';
export type { CheckpointErrorKind } from './errors.js';
export { encodeCheckpoint, decodeCheckpoint } from './codec.js';
export { saveCheckpoint, saveCheckpointSync, loadCheckpoint, loadCheckpointSync, writeFileAtomic, DEFAULT_MAX_BYTES } from './file-io.js';
export type { LoadOptions } from './file-io.js';
export { findLatestCheckpoint } from './find-latest.js';
export { summarizeCheckpoint } from './summary.js';
