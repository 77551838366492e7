/** `loom evaluate CKPT`: loss and metrics of a saved model on the MNIST test set or a CSV file. */
import type { Command } from 'commander';
import { defaultWorkers, loadModel } from '@loom/loom';
import { asModelInput, labeledCsv, mnist, targets } from '../data.js';
import { EXIT } from '../errors.js';
import { column, positiveInt } from '../parsers.js';
import { scaleFeatures } from '../prepare.js';
import { percent, printJson } from '../report.js';

export interface EvaluateOptions {
  limit?: number;
  data?: string;
  labelColumn: string | number;
  header: boolean;
  batchSize: number;
  workers: number;
  json?: boolean;
  verbose?: boolean;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .summary('loss and accuracy of a checkpoint on MNIST test or a CSV file')
    .description('Loss and accuracy of a checkpoint on the MNIST test set (10,000 images) or on a CSV file. ' +
      'A model trained with --normalize gets its inputs scaled with the statistics its checkpoint kept.')
    .argument('<checkpoint>', 'a .loom checkpoint (from loom train or model.save)')
    .option('--limit <n>', 'use only the first N samples', positiveInt)
    .option('--data <file.csv>', 'evaluate on a numeric CSV file instead of MNIST test')
    .option('--label-column <name|index>', 'with --data: the column holding the class', column, 'label')
    .option('--no-header', 'with --data: the CSV file has no header row')
    .option('--batch-size <n>', 'samples per batch', positiveInt, 100)
    .option('--workers <n>', 'worker threads', positiveInt, defaultWorkers())
    .option('--json', 'print one JSON object')
    .option('--verbose', 'show stack traces on errors')
    .addHelpText('after', '\nExamples:\n  loom evaluate checkpoints/ckpt-2.loom\n  loom evaluate model.loom --data test.csv --label-column label --json')
    .action(async (ckpt: string, options: EvaluateOptions) => { process.exitCode = await evaluate(ckpt, options); });
}

export async function evaluate(ckpt: string, o: EvaluateOptions): Promise<number> {
  const model = await loadModel(ckpt);
  if (!model.compiled) throw new Error(`${ckpt}: the model was saved before compile, so it has no loss to evaluate; use loom predict`);
  const set = o.data
    ? await labeledCsv({ path: o.data, labelColumn: o.labelColumn, header: o.header, limit: o.limit })
    : (await mnist(0, o.limit)).test;
  // A model trained with --normalize sees its inputs scaled as in training, by the checkpoint's statistics.
  const x = asModelInput(model, scaleFeatures(set.x, model.inputScaling, set.source, ckpt));
  const values = await model.evaluate(x, targets(model.loss, set.y, model.outputSize), { batchSize: o.batchSize, workers: o.workers });
  const metrics = Object.fromEntries(['loss', ...model.metricNames].map((n, i) => [n, values[i]!]));
  if (o.json) {
    printJson({ command: 'evaluate', checkpoint: ckpt, data: set.source, samples: set.y.length, ...metrics });
  } else {
    const parts = Object.entries(metrics).map(([k, v]) => (k === 'accuracy' ? `accuracy ${percent(v)}` : `${k} ${v.toFixed(4)}`));
    process.stdout.write(`${set.source}, ${set.y.length} samples: ${parts.join(', ')}\n`);
  }
  return EXIT.ok;
}
