/**
 * The worker file to start. Workers always run built JavaScript (Node 20 workers do not inherit
 * TypeScript loaders), so under tests that import this package's source the path points at
 * `dist/worker.js` next to `src/`.
 */
export function workerFilename(): string {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith('.ts')) return new URL('../dist/worker.js', here).pathname;
  return new URL('./worker.js', here).pathname;
}

/**
 * The Node flags for workers: the parent's, minus export conditions. A test runner may resolve
 * packages to their TypeScript source with a custom condition; a worker running built JS must
 * resolve them to `dist/`.
 */
export function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--conditions' || a === '-C') {
      i++;
      continue;
    }
    if (a.startsWith('--conditions=') || a.startsWith('-C=')) continue;
    out.push(a);
  }
  return out;
}
