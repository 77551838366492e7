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

/** Parent flags that workers accept and that do not change how packages resolve. */
const PASSED_TO_WORKERS = ['--enable-source-maps', '--no-warnings', '--trace-warnings', '--trace-uncaught', '--no-deprecation'];

/**
 * The Node flags for workers: only a few harmless ones of the parent's. Workers run built JS, so
 * they need no loader or export condition (a test runner resolving packages to TypeScript
 * source must not pass that on), and Node refuses process-wide flags such as `--expose-gc`
 * in a worker.
 */
export function workerExecArgv(): string[] {
  return process.execArgv.filter((a) => PASSED_TO_WORKERS.includes(a));
}
