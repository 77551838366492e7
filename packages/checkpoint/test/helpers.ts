import { expect } from 'vitest';
import { crc32 } from '../src/crc32.js';
import { HEADER_SIZE, writeHeader } from '../src/header.js';
import { getCheckpointType } from '../src/proto.js';
import type { CheckpointRecord } from '../src/records.js';

/** A deterministic PRNG (mulberry32) so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Floats from random bit patterns (subnormals, infinities, -0 included), NaNs excluded. */
export function randomFloats(n: number, rand: () => number): Float32Array {
  const bits = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let b: number;
    do b = Math.floor(rand() * 4294967296) >>> 0;
    while ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0);
    bits[i] = b;
  }
  return new Float32Array(bits.buffer);
}

/** Asserts two float arrays hold the same bits (so -0, subnormals and NaN payloads count). */
export function expectSameBits(actual: Float32Array, expected: Float32Array): void {
  const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  expect(actual.length).toBe(expected.length);
  // Buffer#equals rather than toEqual: a deep-equal over 100k elements is slow.
  expect(bytes(actual).equals(bytes(expected))).toBe(true);
}

/** A record with every section filled, like a model saved mid-fit. */
export function fullRecord(seed = 1): CheckpointRecord {
  const rand = prng(seed);
  const kernel = randomFloats(4 * 3, rand);
  const bias = randomFloats(3, rand);
  return {
    model: {
      className: 'Sequential',
      layers: [
        { className: 'Dense', config: { name: 'dense_1', units: 3, activation: 'relu', inputShape: [4], kernelInitializer: { className: 'GlorotUniform', config: { seed: null } } } },
        { className: 'Dropout', config: { name: 'dropout_1', rate: 0.5 } },
      ],
      compile: { loss: 'categorical_crossentropy', metrics: ['accuracy'] },
    },
    weights: [
      { name: 'dense_1/kernel', shape: [4, 3], data: kernel },
      { name: 'dense_1/bias', shape: [3], data: bias },
    ],
    optimizer: {
      name: 'adam',
      config: { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
      iterations: 1234,
      slots: [
        { name: 'm', values: [randomFloats(12, rand), randomFloats(3, rand)] },
        { name: 'v', values: [randomFloats(12, rand), randomFloats(3, rand)] },
      ],
    },
    progress: { epoch: 7, step: 12, seed: 42, rngState: { seed: 42, counter: 2 ** 40 + 3 }, globalStep: 2 ** 33 },
    history: { epochs: [0, 1, 2], metrics: { loss: [2.5, 1.25, 0.1 + 0.2], accuracy: [0.5, 0.75, -0], val_loss: [3, 2, 1e-300] } },
    metadata: { loom: '0.1.0', createdBy: 'test' },
    inputScaling: { method: 'standard', offset: [0.1 + 0.2, -4, 1e-300, 0], scale: [1, 0.25, 2 ** 60, 1 / 3] },
  };
}

/** A file built from a raw protobuf message with a correct header and CRC, for "invalid" cases. */
export function fileFromMessage(message: Record<string, unknown>): Uint8Array {
  const payload = getCheckpointType().encode(message).finish();
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  out.set(payload, HEADER_SIZE);
  writeHeader(out, payload.length, crc32(payload));
  return out;
}
