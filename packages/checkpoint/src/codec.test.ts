import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { expectSameBits, fileFromMessage, fullRecord, prng, randomFloats } from '../test/helpers.js';
import { crc32, crc32Js } from './crc32.js';
import { HEADER_SIZE } from './header.js';
import { CheckpointError, FORMAT_VERSION, decodeCheckpoint, encodeCheckpoint, type CheckpointRecord } from './index.js';

function kindOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return (e as CheckpointError).kind;
  }
  throw new Error('expected a CheckpointError');
}

function errorOf(fn: () => unknown): CheckpointError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error('expected a CheckpointError');
}

describe('encodeCheckpoint / decodeCheckpoint', () => {
  it('round-trips a full record with identical float bits', () => {
    const rec = fullRecord();
    const back = decodeCheckpoint(encodeCheckpoint(rec));
    expect(back.model).toEqual(rec.model);
    expect(back.weights.map((w) => [w.name, w.shape])).toEqual(rec.weights.map((w) => [w.name, w.shape]));
    back.weights.forEach((w, i) => expectSameBits(w.data, rec.weights[i].data));
    expect(back.optimizer?.name).toBe('adam');
    expect(back.optimizer?.config).toEqual(rec.optimizer?.config);
    expect(back.optimizer?.iterations).toBe(1234);
    expect(back.optimizer?.slots.map((s) => s.values.length)).toEqual([2, 2]);
    back.optimizer?.slots.forEach((s, i) => {
      expect(s.name).toBe(rec.optimizer?.slots[i].name);
      s.values.forEach((v, k) => expectSameBits(v, rec.optimizer!.slots[i].values[k]));
    });
    expect(back.progress).toEqual(rec.progress);
    expect(back.history).toEqual(rec.history);
    expect(Object.is(back.history?.metrics.accuracy[2], -0)).toBe(true);
    expect(back.metadata).toEqual(rec.metadata);
    expect(back.inputScaling).toEqual(rec.inputScaling);
  });

  it('copies weights into fresh, aligned arrays that do not alias the input bytes', () => {
    const bytes = encodeCheckpoint(fullRecord());
    // An odd offset into a larger buffer: the payload's float bytes are unaligned there.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const back = decodeCheckpoint(shifted.subarray(1));
    for (const w of back.weights) {
      expect(w.data.byteOffset).toBe(0);
      expect(w.data.buffer.byteLength).toBe(w.data.byteLength);
      expect(w.data.buffer).not.toBe(shifted.buffer);
    }
  });

  it('round-trips an empty optimizer, and leaves absent sections absent', () => {
    const rec: CheckpointRecord = {
      model: { className: 'Sequential', layers: [] },
      weights: [{ name: 'scalar', shape: [], data: new Float32Array([1.5]) }, { name: 'empty', shape: [0, 3], data: new Float32Array(0) }],
      optimizer: { name: 'sgd', config: {}, iterations: 0, slots: [] },
    };
    const back = decodeCheckpoint(encodeCheckpoint(rec));
    expect(back).toEqual(rec);
    expect(back.progress).toBeUndefined();
    expect(back.history).toBeUndefined();
    expect(back.model.compile).toBeUndefined();
    expect(back.inputScaling).toBeUndefined();

    const bare = decodeCheckpoint(encodeCheckpoint({ model: { className: 'Sequential', layers: [] }, weights: [] }));
    expect(bare.optimizer).toBeUndefined();
  });

  it('round-trips larger random weights bit for bit', () => {
    const rand = prng(7);
    const data = randomFloats(100_000, rand);
    const back = decodeCheckpoint(encodeCheckpoint({ model: { className: 'M', layers: [] }, weights: [{ name: 'w', shape: [250, 400], data }] }));
    expectSameBits(back.weights[0].data, data);
  });

  it('writes the header: magic, version, payload length, CRC-32', () => {
    const bytes = encodeCheckpoint(fullRecord());
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('LOOMCKPT');
    const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
    expect(view.getUint32(8, true)).toBe(FORMAT_VERSION);
    expect(view.getUint32(12, true)).toBe(bytes.length - HEADER_SIZE);
    expect(view.getUint32(16, true)).toBe(crc32(bytes.subarray(HEADER_SIZE)));
  });

  it('rejects malformed records at encode time, naming the field', () => {
    const bad = fullRecord();
    bad.weights[0].shape = [4, 4];
    const e = errorOf(() => encodeCheckpoint(bad));
    expect(e.kind).toBe('invalid');
    expect(e.message).toMatch(/dense_1\/kernel.*12 elements.*\[4, 4\] needs 16/);

    const neg = fullRecord();
    neg.progress!.epoch = -1;
    expect(errorOf(() => encodeCheckpoint(neg)).message).toMatch(/progress\.epoch/);

    const notFloat = fullRecord();
    (notFloat.weights[1] as { data: unknown }).data = [1, 2, 3];
    expect(errorOf(() => encodeCheckpoint(notFloat)).message).toMatch(/Float32Array/);

    const zeroScale = fullRecord();
    zeroScale.inputScaling!.scale[2] = 0;
    expect(errorOf(() => encodeCheckpoint(zeroScale)).message).toBe('cannot encode checkpoint: inputScaling.scale[2] must be a finite non-zero number, got 0');
    const uneven = fullRecord();
    uneven.inputScaling!.offset.pop();
    expect(errorOf(() => encodeCheckpoint(uneven)).message).toMatch(/inputScaling has 3 offsets but 4 scales/);

    const cyclic = fullRecord();
    cyclic.model.layers[0].config.self = cyclic.model.layers[0].config;
    expect(errorOf(() => encodeCheckpoint(cyclic)).message).toMatch(/not JSON-serializable/);
  });
});

describe('decodeCheckpoint errors', () => {
  const good = encodeCheckpoint(fullRecord());

  it('names the source in messages and in .path', () => {
    const e = errorOf(() => decodeCheckpoint(good.subarray(0, 40), 'model.loom'));
    expect(e.kind).toBe('truncated');
    expect(e.path).toBe('model.loom');
    expect(e.message).toBe(`model.loom: truncated: expected ${good.length} bytes, found 40`);
  });

  it('tells truncated, not-a-checkpoint, unsupported-version and corrupted apart', () => {
    expect(kindOf(() => decodeCheckpoint(new Uint8Array(0)))).toBe('truncated');
    expect(kindOf(() => decodeCheckpoint(good.subarray(0, 5)))).toBe('truncated');
    expect(kindOf(() => decodeCheckpoint(good.subarray(0, 19)))).toBe('truncated');
    expect(kindOf(() => decodeCheckpoint(new TextEncoder().encode('{"weights": []}')))).toBe('not-a-checkpoint');
    expect(kindOf(() => decodeCheckpoint(new TextEncoder().encode('LOO')))).toBe('truncated');

    const newer = good.slice();
    new DataView(newer.buffer, newer.byteOffset).setUint32(8, 2, true);
    const e = errorOf(() => decodeCheckpoint(newer, 'a.loom'));
    expect(e.kind).toBe('unsupported-version');
    expect(e.message).toBe('a.loom: written by a newer Loom: format version 2, this reads up to 1');

    const extra = new Uint8Array(good.length + 3);
    extra.set(good);
    expect(kindOf(() => decodeCheckpoint(extra))).toBe('corrupted');
  });

  it('detects a flipped bit anywhere in the payload by checksum', () => {
    for (const offset of [HEADER_SIZE, HEADER_SIZE + 17, good.length - 1]) {
      const bad = good.slice();
      bad[offset] ^= 0x10;
      const e = errorOf(() => decodeCheckpoint(bad, 'x.loom'));
      expect(e.kind).toBe('corrupted');
      expect(e.message).toBe('x.loom: corrupted: checksum mismatch');
    }
  });

  const model = { className: 'Sequential', layers: [] };
  it('rejects well-checksummed but impossible content as invalid', () => {
    const weight = (shape: number[], bytes: number) => ({ name: 'w', shape, dtype: 1, data: new Uint8Array(bytes) });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ formatVersion: 1, model, weights: [weight([2, 3], 20)] }, /20 bytes of data, shape \[2, 3\] needs 24/],
      [{ formatVersion: 1, model, weights: [weight([-2, -3], 24)] }, /dimension 0 = -2/],
      // A huge declared shape with few bytes: rejected by comparison, nothing allocated.
      [{ formatVersion: 1, model, weights: [weight([2 ** 40, 2 ** 20], 8)] }, /needs/],
      [{ formatVersion: 1, model, weights: [{ ...weight([2], 8), dtype: 7 }] }, /dtype 7/],
      [{ formatVersion: 1, weights: [] }, /no model/],
      [{ formatVersion: 1, model: { className: 'S', layers: [{ className: 'Dense', configJson: '{oops' }] } }, /not valid JSON/],
      [{ formatVersion: 1, model: { className: 'S', layers: [{ className: 'Dense', configJson: '[1]' }] } }, /not a JSON object/],
      [{ formatVersion: 1, model, optimizer: { name: 'adam', configJson: '{}', slots: [{ name: 'm', values: [new Uint8Array(5)] }] } }, /5 bytes/],
      [{ formatVersion: 2, model }, /payload says 2/],
      [{ formatVersion: 1, model, inputScaling: { method: 'minmax', offset: [0, 1], scale: [1] } }, /input scaling has 2 offsets but 1 scales/],
      [{ formatVersion: 1, model, inputScaling: { method: 'minmax', offset: [0], scale: [0] } }, /input scaling scale 0 is 0/],
      [{ formatVersion: 1, model, inputScaling: { method: 'minmax', offset: [NaN], scale: [1] } }, /input scaling offset 0 is NaN/],
    ];
    for (const [message, pattern] of cases) {
      const e = errorOf(() => decodeCheckpoint(fileFromMessage(message), 'bad.loom'));
      expect(e.kind).toBe('invalid');
      expect(e.message).toMatch(/^bad\.loom: invalid: /);
      expect(e.message).toMatch(pattern);
    }
  });

  it('reports an undecodable payload with a good checksum as invalid', () => {
    const payload = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]); // field 1 length-delimited, length far past the end
    const file = fileFromMessage({ formatVersion: 1 });
    const bytes = new Uint8Array(HEADER_SIZE + payload.length);
    bytes.set(file.subarray(0, HEADER_SIZE));
    bytes.set(payload, HEADER_SIZE);
    const view = new DataView(bytes.buffer);
    view.setUint32(12, payload.length, true);
    view.setUint32(16, crc32(payload), true);
    expect(kindOf(() => decodeCheckpoint(bytes))).toBe('invalid');
  });
});

describe('crc32', () => {
  it('matches the standard check value and zlib', () => {
    const check = new TextEncoder().encode('123456789');
    expect(crc32Js(check)).toBe(0xcbf43926);
    expect(crc32(check)).toBe(0xcbf43926);
    const data = new Uint8Array(randomFloats(1000, prng(3)).buffer);
    expect(crc32Js(data)).toBe(crc32(data));
  });
});

describe('input scaling (field 8, added after the first files were written)', () => {
  const model = { className: 'Sequential', layers: [] };

  it('a file written without it (as every older file is) loads with none', () => {
    const back = decodeCheckpoint(fileFromMessage({ formatVersion: 1, model, weights: [] }), 'old.loom');
    expect(back.inputScaling).toBeUndefined();
    expect(back.model).toEqual(model);
  });

  it('a reader of the schema before it skips it and reads everything else', () => {
    const text = readFileSync(new URL('../proto/checkpoint.proto', import.meta.url), 'utf8');
    const before = text
      .replace(/^ *InputScaling input_scaling = 8;.*$/m, '')
      .replace(/^message InputScaling \{[^}]*\}$/m, '');
    expect(before).not.toMatch(/InputScaling/);
    const oldType = protobuf.parse(before).root.lookupType('loom.checkpoint.Checkpoint');
    const rec = fullRecord();
    const payload = encodeCheckpoint(rec).subarray(HEADER_SIZE);
    const old = oldType.toObject(oldType.decode(payload), { longs: Number }) as { model: { className: string }; progress: { epoch: number }; metadata: Record<string, string> };
    expect(old.model.className).toBe('Sequential');
    expect(old.progress.epoch).toBe(7);
    expect(old.metadata).toEqual(rec.metadata);
  });
});

