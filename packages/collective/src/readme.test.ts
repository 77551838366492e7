/** The README's example runs and prints what the README says it prints. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { ensureBuilt, freePort, packageDir } from '../test/helpers.js';

beforeAll(() => ensureBuilt(), 60_000);

it('the example prints what the README shows', async () => {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const example = /## Example\n\n```js\n([\s\S]*?)```\n\nprints\n\n```\n([\s\S]*?)```/.exec(readme);
  expect(example).not.toBeNull();
  const entry = pathToFileURL(join(packageDir, 'dist', 'index.js')).href;
  const script = example![1]!.replace("'@loom/collective'", `'${entry}'`).replace('masterPort: 29533', `masterPort: ${await freePort()}`);
  const dir = mkdtempSync(join(tmpdir(), 'loom-readme-'));
  try {
    writeFileSync(join(dir, 'example.mjs'), script);
    // Without colours: nx sets FORCE_COLOR, which makes console.log colour the arrays it prints.
    const env = { ...process.env, NO_COLOR: '1' };
    delete env.FORCE_COLOR;
    const run = spawnSync(process.execPath, [join(dir, 'example.mjs')], { encoding: 'utf8', timeout: 30_000, env });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0); // 13 would be a top-level await left unsettled when the loop drained
    expect(run.stdout).toBe(example![2]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
