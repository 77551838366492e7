/** `loom bench NAME [...]`: runs a benchmark suite from bench/ (built to bench/dist/run.js). */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { signalExitCode } from '../errors.js';

/** bench/dist/run.js of this repository: apps/cli/dist/commands/ → ../../../../bench/dist/run.js. */
export const BENCH_RUNNER = fileURLToPath(new URL('../../../../bench/dist/run.js', import.meta.url));

export function registerBench(program: Command): void {
  program
    .command('bench')
    .summary('run a benchmark suite from bench/')
    .description('Run a benchmark suite (kernels, batch size, scaling, peers, …); options after NAME go to the suite.')
    .argument('<name>', 'the suite: kernels, batch-size, scaling, distributed, first-epoch, peers, cnn, tutorial, soak, heap, or all (the runner checks the name)')
    .argument('[args...]', 'arguments for the suite')
    .allowUnknownOption()
    .passThroughOptions()
    .addHelpText('after', [
      '',
      'Examples:',
      '  loom bench kernels',
      '  loom bench scaling --quick',
      '  loom bench all --quick',
      "  loom bench kernels --help     # the suite runner's own options",
      '',
      'The same as `node bench/dist/run.js NAME ...` (`npm run bench -- NAME`).',
    ].join('\n'))
    .action(async (name: string, args: string[]) => { process.exitCode = await bench(name, args); });
}

export async function bench(name: string, args: string[]): Promise<number> {
  if (!existsSync(BENCH_RUNNER)) {
    throw new Error(`the benchmark runner ${BENCH_RUNNER} does not exist; build it first with \`npm run build\` from the repository root`);
  }
  const child = spawn(process.execPath, [BENCH_RUNNER, name, ...args], { stdio: 'inherit' });
  // The child shares the terminal, so it gets Ctrl-C itself; the parent only waits for it.
  // SIGTERM (from a process manager, sent to us alone) is passed on.
  const ignore = () => {};
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (c, s) => resolve([c, s]));
    });
    return signal ? signalExitCode(signal) : (code ?? 1);
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', forward);
  }
}
