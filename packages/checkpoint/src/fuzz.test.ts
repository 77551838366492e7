/**
 * Seeded fuzzing of the checkpoint reader (issue 10, "hostile files"): random mutations of valid
 * `.loom` files must each load or throw a `CheckpointError`, within 1 s, without allocating more
 * than the file (and the `maxBytes` cap) allows. Most raw mutations stop at the CRC, so the
 * payload is also mutated *and resealed* (length and CRC recomputed) to reach the protobuf
 * decoder and the record checks behind it. Failures are collected and reported together, with
 * the case number and the mutations applied.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BOUNDARY_BYTES as BOUNDARY, attempt, outcomeProblem, type Outcome } from '../../../tools/testing/hostile-input.js';
import { fileFromMessage, fullRecord, prng } from '../test/helpers.js';
import { crc32 } from './crc32.js';
import { HEADER_SIZE, writeHeader } from './header.js';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, loadCheckpointSync, type CheckpointRecord } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-ckpt-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The `maxBytes` given to the file loaders. */
const CAP = 2 ** 20;
const HUGE = [0, 1, 19, 20, 21, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, CAP + 1];

type Rand = () => number;
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[int(rand, xs.length)]!;

/**
 * What is wrong with an outcome, or undefined. Stricter than "throws an Error": the reader
 * promises a `CheckpointError` whose kind says what is wrong, so a bare `RangeError` from deep in
 * the decoder counts as a failure too.
 */
function problem(o: Outcome, maxGrowth: number): string | undefined {
  const basic = outcomeProblem(o, maxGrowth);
  if (basic !== undefined) return basic;
  if (o.error !== undefined && !(o.error instanceof CheckpointError)) return `threw ${(o.error as Error).name}, not a CheckpointError: ${(o.error as Error).message}`;
  if (o.error === undefined) return recordProblem(o.result as CheckpointRecord);
  return undefined;
}

/** A loaded record must be self-consistent: every weight's data matches its shape. */
function recordProblem(rec: CheckpointRecord): string | undefined {
  for (const w of rec.weights) {
    const size = w.shape.includes(0) ? 0 : w.shape.reduce((a, b) => a * b, 1);
    if (!(w.data instanceof Float32Array) || w.data.length !== size) return `weight "${w.name}" has ${w.data.length} values for shape [${w.shape.join(', ')}]`;
  }
  return undefined;
}

/** Byte-level damage: flips, boundary values, truncation, junk, duplicated or removed pieces. */
function mutateBytes(base: Uint8Array, rand: Rand, ops: string[], count: number): Uint8Array {
  let b = base.slice();
  const at = (len: number) => int(rand, Math.max(1, len));
  for (let k = count; k > 0; k--) {
    switch (int(rand, 7)) {
      case 0: {
        const i = at(b.length);
        if (b.length > 0) b[i]! ^= 1 << int(rand, 8);
        ops.push(`flip@${i}`);
        break;
      }
      case 1: {
        const i = at(b.length);
        const v = pick(rand, BOUNDARY);
        if (b.length > 0) b[i] = v;
        ops.push(`byte@${i}=${v}`);
        break;
      }
      case 2: {
        // Runs of 0xff look like never-ending varints to protobuf.
        const i = at(b.length);
        const len = 1 + int(rand, 12);
        const v = pick(rand, BOUNDARY);
        b.fill(v, i, i + len);
        ops.push(`fill@${i}+${len}=${v}`);
        break;
      }
      case 3: {
        const n = at(b.length + 1);
        b = b.slice(0, n);
        ops.push(`truncate@${n}`);
        break;
      }
      case 4: {
        const junk = Array.from({ length: 1 + int(rand, 64) }, () => int(rand, 256));
        b = Uint8Array.from([...b, ...junk]);
        ops.push(`extend+${junk.length}`);
        break;
      }
      case 5: {
        const from = at(b.length);
        const piece = b.slice(from, from + 1 + int(rand, 48));
        const to = at(b.length);
        b = Uint8Array.from([...b.subarray(0, to), ...piece, ...b.subarray(to)]);
        ops.push(`dup[${from},+${piece.length}]@${to}`);
        break;
      }
      default: {
        const from = at(b.length);
        const len = 1 + int(rand, 48);
        b = Uint8Array.from([...b.subarray(0, from), ...b.subarray(from + len)]);
        ops.push(`cut[${from},+${len}]`);
      }
    }
  }
  return b;
}

/** Overwrites one header field (version, payload length, CRC) with a hostile value. */
function mutateHeader(bytes: Uint8Array, rand: Rand, ops: string[]): Uint8Array {
  const b = bytes.slice();
  if (b.length < HEADER_SIZE) return b;
  const field = pick(rand, [8, 12, 12, 16]);
  const v = int(rand, 3) === 0 ? Math.floor(rand() * 2 ** 32) : pick(rand, HUGE);
  new DataView(b.buffer).setUint32(field, v, true);
  ops.push(`header@${field}=${v}`);
  return b;
}

/** A file around `payload` with a correct header: the mutation gets past length and CRC. */
function seal(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  out.set(payload, HEADER_SIZE);
  writeHeader(out, payload.length, crc32(payload));
  return out;
}

/** Protobuf pieces that lie: huge lengths, endless varints, groups, field 0, wire types 6 and 7. */
const PROTO_LIES: readonly (readonly number[])[] = [
  [0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f], // weights, length 2^32 - 1
  [0x1a, 0x80, 0x80, 0x80, 0x80, 0x08], // weights, length 2^31
  [0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // model, 10-byte varint length
  [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // varint that never ends
  [0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b], // nested start-groups, never closed
  Array.from({ length: 2000 }, () => 0x0b), // deeper than the decoder's recursion limit
  [0x0c], // end-group with no start
  [0x00, 0x00], // field number 0
  [0x0e, 0x0f], // wire types 6 and 7
  [0x3a, 0x06, 0x0a, 0x09, 0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74], // metadata entry with a lying key length
  [0x1a, 0x0b, 0x12, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // weight shape 2^63 - 1
];

function mutateProto(payload: Uint8Array, rand: Rand, ops: string[]): Uint8Array {
  const lie = pick(rand, PROTO_LIES);
  const i = int(rand, 3) === 0 ? 0 : int(rand, payload.length + 1);
  ops.push(`proto-lie#${PROTO_LIES.indexOf(lie)}@${i}`);
  return Uint8Array.from([...payload.subarray(0, i), ...lie, ...payload.subarray(i)]);
}

/** Messages built field by field with values no writer of this format makes. */
function hostileMessage(rand: Rand): { message: Record<string, unknown>; what: string } {
  const model = { className: 'Sequential', layers: [{ className: 'Dense', configJson: '{"units":3}' }] };
  const deepJson = '['.repeat(1 + int(rand, 200_000));
  const cases: [string, Record<string, unknown>][] = [
    ['huge shape, no data', { formatVersion: 1, model, weights: [{ name: 'w', shape: [2 ** 40, 2 ** 40], dtype: 1, data: new Uint8Array(0) }] }],
    ['overflowing shape with a zero', { formatVersion: 1, model, weights: [{ name: 'w', shape: [...Array<number>(40).fill(2 ** 52), 0], dtype: 1, data: new Uint8Array(4) }] }],
    ['negative dimension', { formatVersion: 1, model, weights: [{ name: 'w', shape: [-1, 4], dtype: 1, data: new Uint8Array(16) }] }],
    ['data not matching shape', { formatVersion: 1, model, weights: [{ name: 'w', shape: [3], dtype: 1, data: new Uint8Array(int(rand, 24)) }] }],
    ['unknown dtype', { formatVersion: 1, model, weights: [{ name: 'w', shape: [1], dtype: int(rand, 1000) + 2, data: new Uint8Array(4) }] }],
    ['no model', { formatVersion: 1, weights: [] }],
    ['version mismatch', { formatVersion: int(rand, 2 ** 31), model, weights: [] }],
    ['deeply nested config JSON', { formatVersion: 1, model: { className: 'S', layers: [{ className: 'D', configJson: deepJson }] }, weights: [] }],
    ['config JSON not an object', { formatVersion: 1, model: { className: 'S', layers: [{ className: 'D', configJson: pick(rand, ['[]', 'null', '3', '"x"', '', '{', '{"a":}']) }] }, weights: [] }],
    ['slot of odd length', { formatVersion: 1, model, weights: [], optimizer: { name: 'adam', configJson: '{}', iterations: 1, slots: [{ name: 'm', values: [new Uint8Array(1 + 4 * int(rand, 4))] }] } }],
    ['negative counts', { formatVersion: 1, model, weights: [], optimizer: { name: 'adam', configJson: '{}', iterations: -1, slots: [] }, progress: { epoch: -5, step: 2 ** 62 } }],
    ['huge history', { formatVersion: 1, model, weights: [], history: { epochs: [2 ** 63 - 1, -1], metrics: [{ name: '__proto__', values: [NaN, Infinity] }, { name: 'constructor', values: [] }] } }],
    ['hostile metadata', { formatVersion: 1, model, weights: [], metadata: { ['__proto__']: 'x', constructor: 'y', ['\u0000']: '\ud800' } }],
  ];
  const [what, message] = pick(rand, cases);
  return { message, what };
}

const BASES: Uint8Array[] = [
  encodeCheckpoint(fullRecord(1)),
  encodeCheckpoint(fullRecord(2)),
  encodeCheckpoint({ model: { className: 'Sequential', layers: [] }, weights: [] }),
  encodeCheckpoint({
    model: { className: 'Sequential', layers: [] },
    weights: [{ name: 'scalar', shape: [], data: new Float32Array([1.5]) }, { name: 'empty', shape: [0, 3], data: new Float32Array(0) }],
    optimizer: { name: 'sgd', config: {}, iterations: 0, slots: [] },
  }),
];

/** One fuzz case: the bytes and how they were made. */
function fuzzCase(rand: Rand): { bytes: Uint8Array; ops: string[] } {
  const base = pick(rand, BASES);
  const ops: string[] = [];
  const mode = int(rand, 10);
  if (mode < 3) {
    // The whole file: the header checks and the CRC must catch these.
    let b = mutateBytes(base, rand, ops, 1 + int(rand, 3));
    if (int(rand, 3) === 0) b = mutateHeader(b, rand, ops);
    return { bytes: b, ops };
  }
  if (mode < 4) return { bytes: mutateHeader(base, rand, ops), ops };
  const payload = base.subarray(HEADER_SIZE);
  if (mode < 8) {
    ops.push('sealed');
    return { bytes: seal(mutateBytes(payload, rand, ops, 1 + int(rand, 3))), ops };
  }
  if (mode < 9) {
    ops.push('sealed');
    return { bytes: seal(mutateProto(payload, rand, ops)), ops };
  }
  const { message, what } = hostileMessage(rand);
  ops.push(`message: ${what}`);
  return { bytes: fileFromMessage(message), ops };
}

describe('fuzz: checkpoint', () => {
  it('1,500 mutated buffers through decodeCheckpoint: each loads or throws a CheckpointError, fast, bounded', async () => {
    const rand = prng(0xc4e);
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    let loaded = 0;
    for (let c = 0; c < 1500; c++) {
      const { bytes, ops } = fuzzCase(rand);
      const o = await attempt(() => decodeCheckpoint(bytes, `case${c}`));
      // The decoded record is a few copies of the payload at most (floats copied out of it).
      const why = problem(o, 4 * bytes.length + 2 ** 16);
      if (why !== undefined) failures.push(`case ${c} [${ops.join(' ')}]: ${why}`);
      if (o.error === undefined) loaded++;
      else if (o.error instanceof CheckpointError) kinds.set(o.error.kind, (kinds.get(o.error.kind) ?? 0) + 1);
    }
    expect(failures).toEqual([]);
    // Every kind of failure a damaged file can show came up, and some mutations (a flipped float
    // bit, resealed) still load: the fuzzing reaches past the checksum.
    expect([...kinds.keys()].sort()).toEqual(['corrupted', 'invalid', 'not-a-checkpoint', 'truncated', 'unsupported-version']);
    expect(kinds.get('invalid')).toBeGreaterThan(100);
    expect(loaded).toBeGreaterThan(20);
  });

  it('200 mutated files through loadCheckpoint / loadCheckpointSync agree with decodeCheckpoint', async () => {
    const rand = prng(0xf11e);
    const failures: string[] = [];
    for (let c = 0; c < 200; c++) {
      const { bytes, ops } = fuzzCase(rand);
      const path = join(dir, `case-${c}.loom`);
      writeFileSync(path, bytes);
      const o = await attempt(() => (c % 2 === 0 ? loadCheckpoint(path, { maxBytes: CAP }) : loadCheckpointSync(path, { maxBytes: CAP })));
      let why = problem(o, 4 * bytes.length + 2 ** 16);
      let inMemory: unknown;
      try {
        inMemory = decodeCheckpoint(bytes, path);
      } catch (e) {
        inMemory = e;
      }
      if (why === undefined && (o.error === undefined) !== !(inMemory instanceof Error)) {
        why = `file loader ${o.error === undefined ? 'loaded' : 'threw'}, decodeCheckpoint ${inMemory instanceof Error ? 'threw' : 'loaded'}`;
      }
      if (why === undefined && o.error instanceof CheckpointError && inMemory instanceof CheckpointError && o.error.kind !== inMemory.kind) {
        why = `kinds differ: ${o.error.kind} vs ${inMemory.kind}`;
      }
      if (why !== undefined) failures.push(`case ${c} [${ops.join(' ')}]: ${why}`);
    }
    expect(failures).toEqual([]);
  });

  it('a header or file claiming a huge size is rejected before anything is allocated', async () => {
    const failures: string[] = [];
    const small = BASES[0]!;
    const cases: [string, Uint8Array, RegExp][] = [];
    for (const length of [0xffffffff, 0x80000000, CAP + 1, small.length]) {
      const b = small.slice();
      new DataView(b.buffer).setUint32(12, length, true);
      cases.push([`payload length ${length}`, b, /truncated: expected \d+ bytes, found \d+/]);
    }
    // A real file over the cap is refused from its size alone.
    const big = new Uint8Array(2 * CAP);
    big.set(small);
    cases.push(['file of 2 MiB', big, /more than the 1048576-byte limit/]);
    for (const [what, bytes, expected] of cases) {
      const path = join(dir, `huge-${cases.indexOf(cases.find((x) => x[0] === what)!)}.loom`);
      writeFileSync(path, bytes);
      for (const run of [() => loadCheckpoint(path, { maxBytes: CAP }), () => loadCheckpointSync(path, { maxBytes: CAP })]) {
        const o = await attempt(run);
        const message = o.error instanceof Error ? o.error.message : 'loaded';
        if (!(o.error instanceof CheckpointError) || !expected.test(message)) failures.push(`${what}: ${message}`);
        else if (o.grew > 2 ** 16) failures.push(`${what}: grew ${o.grew} bytes before failing`);
      }
    }
    expect(failures).toEqual([]);
  });
});
