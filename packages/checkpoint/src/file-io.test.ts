import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectSameBits, fullRecord, prng } from '../test/helpers.js';
import {
  CheckpointError,
  encodeCheckpoint,
  loadCheckpoint,
  loadCheckpointSync,
  saveCheckpoint,
  saveCheckpointSync,
  type CheckpointRecord,
} from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-ckpt-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
function fileWith(bytes: Uint8Array | string): string {
  const path = join(dir, `f${fileCounter++}.loom`);
  writeFileSync(path, bytes);
  return path;
}

/** Loads with both the async and the sync loader; both must fail the same way. */
async function loadError(path: string, options?: { maxBytes?: number }): Promise<CheckpointError> {
  let asyncError: unknown;
  let syncError: unknown;
  await loadCheckpoint(path, options).catch((e: unknown) => (asyncError = e));
  try {
    loadCheckpointSync(path, options);
  } catch (e) {
    syncError = e;
  }
  expect(asyncError).toBeInstanceOf(CheckpointError);
  expect(syncError).toBeInstanceOf(CheckpointError);
  const a = asyncError as CheckpointError;
  expect((syncError as CheckpointError).message).toBe(a.message);
  expect((syncError as CheckpointError).kind).toBe(a.kind);
  expect(a.path).toBe(path);
  expect(a.message.startsWith(`${path}: `)).toBe(true);
  return a;
}

function expectSameRecord(back: CheckpointRecord, rec: CheckpointRecord): void {
  expect(back.model).toEqual(rec.model);
  expect(back.weights.map((w) => w.name)).toEqual(rec.weights.map((w) => w.name));
  back.weights.forEach((w, i) => expectSameBits(w.data, rec.weights[i].data));
  expect(back.progress).toEqual(rec.progress);
  expect(back.history).toEqual(rec.history);
}

describe('saveCheckpoint / loadCheckpoint', () => {
  it('round-trips through a file, async and sync, leaving no temporary files', async () => {
    const rec = fullRecord(5);
    const a = join(dir, 'rt-async.loom');
    const s = join(dir, 'rt-sync.loom');
    await saveCheckpoint(a, rec);
    saveCheckpointSync(s, rec);
    expect(readFileSync(a)).toEqual(readFileSync(s));
    expectSameRecord(await loadCheckpoint(a), rec);
    expectSameRecord(loadCheckpointSync(s), rec);
    // Overwrite in place.
    const next = fullRecord(6);
    await saveCheckpoint(a, next);
    expectSameRecord(await loadCheckpoint(a), next);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('leaves no temporary file and no target when the save fails', async () => {
    const bad = fullRecord();
    bad.weights[0].shape = [1];
    const target = join(dir, 'never.loom');
    await expect(saveCheckpoint(target, bad)).rejects.toMatchObject({ kind: 'invalid' });
    expect(() => saveCheckpointSync(target, bad)).toThrow(CheckpointError);
    // The rename fails (the target is a non-empty directory) after the temp file is written.
    const blocked = join(dir, 'blocked.loom');
    mkdirSync(blocked);
    writeFileSync(join(blocked, 'x'), 'x');
    await expect(saveCheckpoint(blocked, fullRecord())).rejects.toThrow();
    expect(() => saveCheckpointSync(blocked, fullRecord())).toThrow();
    const names = readdirSync(dir);
    expect(names).not.toContain('never.loom');
    expect(names.filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('load errors on real files', () => {
  const good = encodeCheckpoint(fullRecord());

  it('missing', async () => {
    const e = await loadError(join(dir, 'nope.loom'));
    expect(e.kind).toBe('missing');
    expect((await loadError(join(dir, 'no-dir', 'nope.loom'))).kind).toBe('missing');
  });

  it('truncated at several offsets', async () => {
    for (const length of [0, 3, 8, 12, 19, 20, 21, good.length >> 1, good.length - 1]) {
      const e = await loadError(fileWith(good.subarray(0, length)));
      expect(e.kind).toBe('truncated');
      expect(e.message).toMatch(length < 20 ? /expected at least 20 bytes \(the header\), found \d+/ : `truncated: expected ${good.length} bytes, found ${length}`);
    }
  });

  it('a flipped byte in the payload is corrupted', async () => {
    const rand = prng(11);
    for (let trial = 0; trial < 5; trial++) {
      const bad = good.slice();
      bad[20 + Math.floor(rand() * (good.length - 20))] ^= 1 + Math.floor(rand() * 255);
      const e = await loadError(fileWith(bad));
      expect(e.kind).toBe('corrupted');
      expect(e.message).toMatch(/corrupted: checksum mismatch$/);
    }
  });

  it('random bytes, a text file and a directory are not checkpoints', async () => {
    const rand = prng(12);
    const noise = Uint8Array.from({ length: 4096 }, () => Math.floor(rand() * 256));
    expect((await loadError(fileWith(noise))).kind).toBe('not-a-checkpoint');
    const text = await loadError(fileWith('epoch,loss\n1,0.5\n'));
    expect(text.kind).toBe('not-a-checkpoint');
    expect(text.message).toMatch(/not a Loom checkpoint/);
    expect((await loadError(dir)).kind).toBe('not-a-checkpoint');
  });

  it('header version 999 is unsupported-version', async () => {
    const newer = good.slice();
    new DataView(newer.buffer).setUint32(8, 999, true);
    const e = await loadError(fileWith(newer));
    expect(e.kind).toBe('unsupported-version');
    expect(e.message).toMatch(/written by a newer Loom: format version 999, this reads up to 1$/);
    // Even when the rest of a newer header is not there.
    expect((await loadError(fileWith(newer.subarray(0, 12)))).kind).toBe('unsupported-version');
  });

  it('a declared payload far beyond the file is truncated, not allocated', async () => {
    const lying = good.slice(0, 64);
    new DataView(lying.buffer).setUint32(12, 0xfffffff0, true);
    const e = await loadError(fileWith(lying));
    expect(e.kind).toBe('truncated');
    expect(e.message).toMatch(`expected ${0xfffffff0 + 20} bytes, found 64`);
  });

  it('refuses files over maxBytes before reading them', async () => {
    const e = await loadError(fileWith(good), { maxBytes: 100 });
    expect(e.kind).toBe('invalid');
    expect(e.message).toMatch(/more than the 100-byte limit/);
  });
});
