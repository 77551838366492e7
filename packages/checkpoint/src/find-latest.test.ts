import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findLatestCheckpoint } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'loom-ckpt-find-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function dirWith(name: string, files: string[]): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const f of files) writeFileSync(join(dir, f), '');
  return dir;
}

describe('findLatestCheckpoint', () => {
  it('ranks by number, not by text: ckpt-10 beats ckpt-9', async () => {
    const dir = dirWith('numeric', ['ckpt-9.loom', 'ckpt-10.loom', 'ckpt-2.loom', 'ckpt-11.loom.tmp-123-abcdef', 'notes.txt']);
    expect(await findLatestCheckpoint(dir)).toBe(join(dir, 'ckpt-10.loom'));
    expect(await findLatestCheckpoint(dir, 'ckpt-{epoch}.loom')).toBe(join(dir, 'ckpt-10.loom'));
  });

  it('compares several placeholders left to right', async () => {
    const dir = dirWith('steps', ['run-3-900.loom', 'run-3-1000.loom', 'run-2-5000.loom', 'other-9-9.loom', 'val-04-loss0.5.loom', 'val-05-loss0.7.loom']);
    expect(await findLatestCheckpoint(dir, 'run-{epoch}-{step}.loom')).toBe(join(dir, 'run-3-1000.loom'));
    // Keras-style format specs are accepted; `*` matches but does not rank.
    expect(await findLatestCheckpoint(dir, 'val-{epoch:02d}-*.loom')).toBe(join(dir, 'val-05-loss0.7.loom'));
    // The default ranks every numbered .loom file by its numbers.
    expect(await findLatestCheckpoint(dir)).toBe(join(dir, 'other-9-9.loom'));
  });

  it('treats pattern text literally apart from placeholders and *', async () => {
    const dir = dirWith('literal', ['ckpt.1.loom', 'ckptX2.loom']);
    expect(await findLatestCheckpoint(dir, 'ckpt.{epoch}.loom')).toBe(join(dir, 'ckpt.1.loom'));
  });

  it('returns undefined when nothing matches or the directory does not exist', async () => {
    const dir = dirWith('empty', ['model.loom', 'ckpt-1.json']);
    expect(await findLatestCheckpoint(dir)).toBeUndefined();
    expect(await findLatestCheckpoint(dir, 'ckpt-{epoch}.loom')).toBeUndefined();
    expect(await findLatestCheckpoint(join(root, 'absent'))).toBeUndefined();
  });
});
