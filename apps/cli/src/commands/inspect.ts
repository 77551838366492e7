/** `loom inspect CKPT`: what a checkpoint holds, without loading the model. */
import type { Command } from 'commander';
import { inspectCheckpoint } from '@loom/loom';
import { EXIT } from '../errors.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .summary('print what a checkpoint (or a TensorFlow.js model.json) holds: layers, parameters, optimizer, progress')
    .description('Print a checkpoint: layers, weights and parameter counts, optimizer, training progress, last metrics. A TensorFlow.js Layers model (model.json, or its folder) shows its layers as Loom reads them and its weights.')
    .argument('<checkpoint>', 'a .loom checkpoint, or a TensorFlow.js model.json')
    .option('--verbose', 'show stack traces on errors')
    .addHelpText('after', '\nExamples:\n  loom inspect checkpoints/ckpt-2.loom\n  loom inspect web/model.json')
    .action(async (ckpt: string) => {
      process.stdout.write(`${await inspectCheckpoint(ckpt)}\n`);
      process.exitCode = EXIT.ok;
    });
}
