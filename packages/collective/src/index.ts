/**
 * @loom/collective: between processes and hosts. Rendezvous at MASTER_ADDR:MASTER_PORT,
 * HMAC-authenticated framed TCP, ring all-reduce over Float32Array chunks, heartbeats. It knows
 * nothing of models: flat typed arrays and sockets.
 */
export { initProcessGroup, ProcessGroup } from './process-group.js';
export type { GroupOptions } from './options.js';
export { groupOptionsFromEnv } from './env.js';
export { CollectiveError } from './errors.js';
export { MessageType, FrameReader, FrameError, BufferPool, encodeFrame, HEADER_BYTES, PRE_AUTH_MAX_PAYLOAD, DEFAULT_MAX_FRAME_BYTES } from './frame.js';
export type { FrameSink } from './frame.js';
export { PROTOCOL_VERSION, NONCE_BYTES, MAC_BYTES, proof, makeResponse, checkResponse, checkConfirm, authKey } from './auth.js';
export type { Purpose } from './auth.js';
export { CHUNK_ELEMENTS } from './ring-allreduce.js';
