/**
 * For the tests that run the built `loom` command as a child process: dist/ must be newer than
 * every source file it is built from. `npm test` builds first (nx); a bare `vitest run` may not
 * have, so this rebuilds (tsc -b also builds the referenced packages whose sources changed).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const packagesDir = join(appDir, '..', '..', 'packages');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Rebuilds apps/cli when dist/main.js is older than its sources or those of `packages` (names under packages/). */
export function ensureBuilt(packages: string[] = []): void {
  const main = join(appDir, 'dist', 'main.js');
  const sources = [join(appDir, 'src'), ...packages.map((p) => join(packagesDir, p, 'src'))];
  if (!existsSync(main) || statSync(main).mtimeMs < Math.max(...sources.map(newestSource))) {
    execFileSync('npx', ['tsc', '-b'], { cwd: appDir, stdio: 'pipe' });
  }
}
