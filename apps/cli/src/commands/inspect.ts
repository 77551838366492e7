/** `loom inspect CKPT`: what a checkpoint holds, without loading the model. */
import type { Command } from 'commander';
import { inspectCheckpoint } from '@loom/loom';
import { EXIT } from '../errors.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .summary('print what a checkpoint holds: layers, parameters, optimizer, progress')
    .description('Print a checkpoint: layers, weights and parameter counts, optimizer, training progress, last metrics.')
    .argument('<checkpoint>', 'a .loom checkpoint')
    .option('--verbose', 'show stack traces on errors')
    .addHelpText('after', '\nExample:\n  loom inspect checkpoints/ckpt-2.loom')
    .action(async (ckpt: string) => {
      process.stdout.write(`${await inspectCheckpoint(ckpt)}\n`);
      process.exitCode = EXIT.ok;
    });
}
